"""``translate predict --onnx``: an exported file translates a folder like the checkpoint (same names, skip/overwrite,
per-file errors, tiles) through onnxruntime."""

import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.inference.export import export

pytest.importorskip("onnxruntime")


def test_onnx_predict_cli_skips_overwrites_and_names_mistakes(tiny_cyclegan, photos, tmp_path):
    torch.manual_seed(0)
    path = export(tiny_cyclegan(), tmp_path / "a2b.onnx", direction="a2b")
    out = tmp_path / "out"
    args = ["predict", "--onnx", str(path), "--input", str(photos), "--output", str(out), "--num-workers", "0"]
    with pytest.raises(SystemExit, match="broken.png"):  # reported, exit code 1, the others written
        main(args)
    written = out / "sub" / "img_000.png"
    assert written.is_file() and (out / "img_001.png").is_file()
    written.write_bytes(b"stale")
    with pytest.raises(SystemExit):
        main(args)
    assert written.read_bytes() == b"stale"  # existing outputs are skipped ...
    with pytest.raises(SystemExit):
        main([*args, "--overwrite"])
    assert Image.open(written).size == (36, 36)  # ... unless --overwrite
    for extra, message in [(["--direction", "b2a"], "holds one translation \\(a2b\\), not b2a"),
                           (["--attrs", "red=1"], "--attrs and --grid need the StarGAN checkpoint"),
                           (["--target-domain", "red"], "--target-domain is for StarGAN")]:  # fmt: skip
        with pytest.raises(SystemExit, match=message):
            main([*args, *extra])
    torch.onnx.export(torch.nn.Identity(), (torch.zeros(1, 3, 8, 8),), str(tmp_path / "plain.onnx"), dynamo=False)
    with pytest.raises(SystemExit, match="not written by `translate export`"):
        main([*args[:2], str(tmp_path / "plain.onnx"), *args[3:]])
