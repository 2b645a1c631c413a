"""A file that is not a checkpoint, given to fit, predict or export, is one line naming it and saying what it is; only
a real checkpoint holding pickled objects is told about --trust-checkpoint, and fit trains and writes nothing."""

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from translate.cli import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
GOOD = Path(__file__).resolve().parent / "assets" / "main_478439d" / "cyclegan.ckpt"


class _Payload:
    def __reduce__(self):
        return (os.system, ("true",))


def _random(path: Path) -> None:
    path.write_bytes(os.urandom(5000))


def _text(path: Path) -> None:
    path.write_text("epoch,loss\n0,1.0\n" * 20)


def _image(path: Path) -> None:
    Image.new("RGB", (8, 8)).save(path, format="PNG")


def _truncated(path: Path) -> None:
    path.write_bytes(GOOD.read_bytes()[: GOOD.stat().st_size // 2])  # an interrupted download


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _damaged(path: Path) -> None:
    data = bytearray(GOOD.read_bytes())
    data[2000:60000] = bytes(b ^ 0x55 for b in data[2000:60000])  # the zip directory survives, the contents do not
    path.write_bytes(bytes(data))


NOT_CHECKPOINTS = {
    _random: "its bytes are no format PyTorch writes",
    _text: "it is a text file",
    _image: "it is a PNG image",
    _truncated: "truncated",
    _empty: "it is empty",
}


def _one_line(exit_info: pytest.ExceptionInfo) -> str:
    message = str(exit_info.value.code)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(("make", "what"), [*NOT_CHECKPOINTS.items(), (_damaged, "damaged PyTorch checkpoint")],
                         ids=lambda x: getattr(x, "__name__", "")[1:] or None)  # fmt: skip
def test_predict_and_export_say_what_the_file_is(make, what, tmp_path):
    ckpt = tmp_path / "model.ckpt"
    make(ckpt)
    (tmp_path / "in").mkdir()
    for args in (["predict", "--ckpt", str(ckpt), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")],
                 ["export", "--ckpt", str(ckpt), "--output", str(tmp_path / "model.onnx")]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        message = _one_line(exit_info)
        assert str(ckpt) in message and what in message and "--trust-checkpoint" not in message
    assert not (tmp_path / "out").exists() and not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize(("make", "what"), [*NOT_CHECKPOINTS.items(), (_damaged, "damaged PyTorch checkpoint")],
                         ids=lambda x: getattr(x, "__name__", "")[1:] or None)  # fmt: skip
def test_fit_from_a_file_that_is_no_checkpoint_is_one_line_and_writes_nothing(make, what, tiny_domains, tmp_path):
    ckpt, run = tmp_path / "last.ckpt", tmp_path / "run"
    make(ckpt)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--config={CONFIGS / 'quickstart.yaml'}", f"--config={CONFIGS / 'debug.yaml'}",
              f"--data.root={tiny_domains}", f"--trainer.default_root_dir={run}", f"--ckpt_path={ckpt}"])  # fmt: skip
    message = _one_line(exit_info)
    assert message.startswith("translate fit: error: ") and str(ckpt) in message and what in message
    assert not run.exists()


def test_only_a_real_checkpoint_with_pickled_objects_is_told_about_trust(tiny_domains, tmp_path):
    ckpt = tmp_path / "pickled.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": _Payload()}}, ckpt)
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--ckpt", str(ckpt), "--input", str(tmp_path), "--output", str(tmp_path / "out")])
    assert "pickled Python objects" in _one_line(exit_info) and "--trust-checkpoint" in _one_line(exit_info)
    with pytest.raises(SystemExit) as exit_info:  # fit has no --trust-checkpoint: it is not offered there
        main(["fit", f"--config={CONFIGS / 'quickstart.yaml'}", f"--config={CONFIGS / 'debug.yaml'}",
              f"--data.root={tiny_domains}", f"--trainer.default_root_dir={tmp_path / 'run'}",
              f"--ckpt_path={ckpt}"])  # fmt: skip
    assert "pickled Python objects" in _one_line(exit_info) and "--trust-checkpoint" not in _one_line(exit_info)
