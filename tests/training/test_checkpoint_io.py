"""Checkpoint files: a full disk or a refused write keeps the previous checkpoint and leaves no temporary file
(AtomicCheckpointIO); a run folder resolves to its newest last.ckpt.
"""

import errno
import os
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer
from PIL import Image

from translate.cli import main
from translate.training.checkpoint_io import AtomicCheckpointIO


def test_disk_full_mid_write_keeps_the_previous_checkpoint(
    resumable_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path, monkeypatch
):
    import translate.training.checkpoint_io

    model = resumable_cyclegan()
    trainer = seeded_trainer(tmp_path, max_steps=2, enable_checkpointing=False, plugins=[AtomicCheckpointIO()])
    trainer.fit(model, datamodule=tiny_data(tiny_domains, load_size=20))
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    before = path.read_bytes()

    def half_then_disk_full(obj, file):  # the disk fills up after part of the file was written
        file.write(before[: len(before) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(translate.training.checkpoint_io.torch, "save", half_then_disk_full)
    with pytest.raises(OSError, match=rf"could not write checkpoint {path} \(No space left on device\); the previous"):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["last.ckpt"], "temporary file left behind"


def test_checkpoints_are_renamed_into_place_from_their_own_folder(
    seeded_trainer, resumable_cyclegan, tiny_data, tiny_domains, tmp_path, monkeypatch
):
    # Not staged in the system temp folder, whose move onto another disk is a copy that truncates the old file first.
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: renames.append((src, dst)) or real_replace(src, dst))
    trainer = seeded_trainer(tmp_path, max_steps=2, enable_checkpointing=False, plugins=[AtomicCheckpointIO()])
    trainer.fit(resumable_cyclegan(), datamodule=tiny_data(tiny_domains, load_size=20))
    trainer.save_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    ((source, target),) = renames
    assert os.path.dirname(source) == str(tmp_path / "ckpt") and target == tmp_path / "ckpt" / "last.ckpt"
    assert torch.load(target, weights_only=False)["global_step"] == 2  # our own file (hparams hold partials)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES], ids=["read-only", "no-permission"])
@pytest.mark.parametrize("stage", ["create", "rename"])
def test_unwritable_checkpoint_folder_names_it_and_keeps_the_previous_checkpoint(
    tiny_cyclegan, tiny_data, checkpoints, tmp_path, monkeypatch, code, stage
):
    import translate.training.checkpoint_io
    from translate.training.checkpoint_io import AtomicCheckpointIO

    model = tiny_cyclegan()
    trainer = Trainer(default_root_dir=tmp_path, max_steps=2, accelerator="cpu", logger=False,
                      enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                      plugins=[AtomicCheckpointIO()])  # fmt: skip
    datamodule = tiny_data(checkpoints["data"], load_size=32, crop_size=32)
    trainer.fit(model, datamodule=datamodule)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    trainer.save_checkpoint(folder / "last.ckpt")
    before = (folder / "last.ckpt").read_bytes()

    def refuse(*args, **kwargs):  # as the OS refuses a new file or a rename in a read-only or forbidden folder
        raise OSError(code, os.strerror(code))

    # We run as root, where chmod does not stop writes: fail the call the way the OS would.
    if stage == "create":
        monkeypatch.setattr(translate.training.checkpoint_io.tempfile, "mkstemp", refuse)
    else:
        monkeypatch.setattr(translate.training.checkpoint_io.os, "replace", refuse)
    with pytest.raises(OSError, match=rf"could not write checkpoint {folder}/last.ckpt \({os.strerror(code)}\)"):
        trainer.save_checkpoint(folder / "last.ckpt")
    assert (folder / "last.ckpt").read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["last.ckpt"], "temporary file left behind"


def test_resolve_checkpoint_prefers_the_newest_last_then_any_ckpt(tmp_path):
    from translate.checkpoints import resolve_checkpoint

    epoch = tmp_path / "run" / "version_0" / "checkpoints" / "epoch=0-step=10.ckpt"
    epoch.parent.mkdir(parents=True)
    epoch.write_bytes(b"")
    assert resolve_checkpoint(tmp_path / "run") == epoch  # no save_last: the newest checkpoint
    old_last, new_last = tmp_path / "run" / "version_0" / "last.ckpt", tmp_path / "run" / "version_1" / "last.ckpt"
    for path, mtime in ((old_last, 1_000), (new_last, 2_000)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        os.utime(path, (mtime, mtime))
    assert resolve_checkpoint(tmp_path / "run") == new_last
    assert resolve_checkpoint(epoch) == epoch


# --- files that are no checkpoints ------------------------------------------------------------------------------------


# A file that is not a checkpoint, given to fit, predict or export, is one line naming it and saying what it is; only
# a real checkpoint holding pickled objects is told about --trust-checkpoint, and fit trains and writes nothing.
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
GOOD = Path(__file__).resolve().parents[1] / "assets" / "main_478439d" / "cyclegan.ckpt"


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
        main(["fit", f"--config={CONFIGS / 'quickstart_official.yaml'}", f"--config={CONFIGS / 'debug.yaml'}",
              f"--data.source.root={tiny_domains}", f"--trainer.default_root_dir={run}",
              f"--ckpt_path={ckpt}"])  # fmt: skip
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
        main(["fit", f"--config={CONFIGS / 'quickstart_official.yaml'}", f"--config={CONFIGS / 'debug.yaml'}",
              f"--data.source.root={tiny_domains}", f"--trainer.default_root_dir={tmp_path / 'run'}",
              f"--ckpt_path={ckpt}"])  # fmt: skip
    assert "pickled Python objects" in _one_line(exit_info) and "--trust-checkpoint" not in _one_line(exit_info)
