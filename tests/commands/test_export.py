"""`translate export` writes an ONNX file onnxruntime runs, and names a wrong option."""

import errno
from pathlib import Path

import numpy as np
import pytest
import torch

from translate.cli import main


def test_export_command_writes_a_runnable_onnx_file(train_tiny, tiny_domains, tmp_path, capsys):
    onnxruntime = pytest.importorskip("onnxruntime")
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    main(["export", "--ckpt", str(ckpt), "--format", "onnx", "--output", str(tmp_path / "g.onnx")])
    assert "wrote" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"image": np.zeros((1, 3, 20, 28), dtype=np.float32)})
    assert out.shape == (1, 3, 20, 28)
    with pytest.raises(SystemExit, match="direction must be one of"):
        main(["export", "--ckpt", str(ckpt), "--output", str(tmp_path / "x.onnx"), "--direction", "ab"])


ASSET = Path(__file__).resolve().parents[1] / "assets" / "main_478439d" / "cyclegan.ckpt"


def test_export_import_and_eval_never_replace_an_output_unasked(write_images, tmp_path, monkeypatch):
    """#29: export silently replaced an existing file (predict refuses without --overwrite); import and eval too. With
    --overwrite the file is replaced, atomically: a full disk leaves the old file and no temporary one."""
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"keep me")
    with pytest.raises(SystemExit, match=r"--output .*model.onnx exists; pass --overwrite"):
        main(["export", "--ckpt", str(ASSET), "--output", str(onnx)])
    with pytest.raises(SystemExit, match=r"--output .*imported.ckpt exists; pass --overwrite"):
        (tmp_path / "imported.ckpt").write_bytes(b"keep me")
        main(["import", "--g-ab", str(tmp_path / "nope.pth"), "--output", str(tmp_path / "imported.ckpt")])
    write_images(tmp_path / "real", 2)
    (tmp_path / "eval" / "eval.json").parent.mkdir()
    (tmp_path / "eval" / "eval.json").write_text("{}")
    tiny = ["--feature-extractor", "tests.evaluation.tiny_features.TinyFeatures"]
    with pytest.raises(SystemExit, match=r"--output .*eval holds eval.json of a previous evaluation; pass --overwrite"):
        main(["eval", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "real"), "--output",
              str(tmp_path / "eval"), *tiny])  # fmt: skip

    def disk_full(model, args, path, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(torch.onnx, "export", disk_full)
        with pytest.raises(SystemExit, match=r"cannot write .*model.onnx \(No space left on device\); nothing was"):
            main(["export", "--ckpt", str(ASSET), "--output", str(onnx), "--overwrite"])
    assert onnx.read_bytes() == b"keep me" and (tmp_path / "imported.ckpt").read_bytes() == b"keep me"
    assert (tmp_path / "eval" / "eval.json").read_text() == "{}"
    main(["export", "--ckpt", str(ASSET), "--output", str(onnx), "--overwrite"])
    assert onnx.read_bytes().startswith(b"\x08") and not list(tmp_path.glob(".*partial"))  # an ONNX protobuf
    (tmp_path / "plain").write_bytes(b"")  # the file's permissions are those of any file written here (not 0600)
    assert onnx.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
