"""`translate export` writes an ONNX file onnxruntime runs, and names a wrong option."""

import numpy as np
import pytest

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
