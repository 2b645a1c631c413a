"""An exported ONNX file translates a folder through onnxruntime like its checkpoint: same names, per-file errors,
tiles, StarGAN's target folder.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from translate.inference.export import export
from translate.inference.onnx import OnnxTranslator
from translate.inference.predict import predict_folder

pytest.importorskip("onnxruntime")


def _pixels(folder):
    return {p.relative_to(folder): np.asarray(Image.open(p), dtype=np.int16) for p in sorted(folder.rglob("*.png"))}


def _same_images(onnx_dir, torch_dir):
    onnx_images, torch_images = _pixels(onnx_dir), _pixels(torch_dir)
    assert onnx_images.keys() == torch_images.keys() and len(onnx_images) == 3
    for name, image in onnx_images.items():
        assert np.abs(image - torch_images[name]).max() <= 1, name  # within 1/255 per pixel


@pytest.mark.parametrize("tile", [None, 16])
def test_onnx_predict_matches_pytorch_predict(tiny_cyclegan, photos, tmp_path, tile):
    torch.manual_seed(0)
    model = tiny_cyclegan().eval()
    path = export(model, tmp_path / "b2a.onnx", direction="b2a")
    options = {"tile": tile, "tile_overlap": 4, "progress": False}
    with pytest.raises(ValueError, match="1 of 4 images could not be translated"):
        predict_folder(model, photos, tmp_path / "torch", direction="b2a", **options)
    with pytest.raises(ValueError, match="1 of 4 images could not be translated"):
        predict_folder(OnnxTranslator(path), photos, tmp_path / "onnx", **options)
    _same_images(tmp_path / "onnx", tmp_path / "torch")


def test_onnx_stargan_writes_where_the_checkpoint_would(tiny_stargan, photos, tmp_path):
    torch.manual_seed(0)
    model = tiny_stargan().eval()  # single-label: the exported one-hot target is what predict uses too
    path = export(model, tmp_path / "to_green.onnx", target_domain="green")
    with pytest.raises(ValueError):
        predict_folder(model, photos, tmp_path / "torch", targets=["green"], progress=False)
    with pytest.raises(ValueError):
        predict_folder(OnnxTranslator(path), photos, tmp_path / "onnx", progress=False)
    _same_images(tmp_path / "onnx" / "green", tmp_path / "torch" / "green")
    with pytest.raises(ValueError, match="not red; export it with translate export --target-domain red"):
        predict_folder(OnnxTranslator(path), photos, tmp_path / "onnx", targets=["red"])
