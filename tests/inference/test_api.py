"""translate.load: a checkpoint as a callable that translates PIL images, numpy arrays and tensors like the model."""

from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule
from PIL import Image


def test_python_api_translates_pil_numpy_and_tensors(train_tiny, tiny_domains, tmp_path):
    import translate

    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    to_a = translate.load(ckpt, direction="b2a", device="cpu")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (53, 37, 3), dtype=np.uint8))
    result = to_a(image)
    assert isinstance(result, Image.Image) and result.size == image.size
    array = to_a(np.asarray(image))
    assert array.dtype == np.uint8 and array.shape == (53, 37, 3) and np.array_equal(array, np.asarray(result))
    x = torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1
    model = LightningModule.load_from_checkpoint(ckpt).eval()
    padded = torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect")  # 53x37 -> 56x40
    with torch.no_grad():
        expected = model(padded, direction="b2a")[..., :53, :37]
    assert torch.allclose(to_a(x), expected, atol=1e-5)
    with pytest.raises(TypeError, match="PIL image, a numpy array or a tensor"):
        to_a([1, 2, 3])


def test_python_api_loads_a_pix2pix_trained_through_the_cli(tiny_pairs, tmp_path):
    import translate
    from translate.cli import main

    configs = Path(__file__).resolve().parents[2] / "configs"
    main(["fit", f"--config={configs / 'pix2pix_quickstart.yaml'}", f"--config={configs / 'debug_pix2pix.yaml'}",
          "--trainer.fast_dev_run=false", "--trainer.max_steps=2", f"--data.source.root={tiny_pairs}",
          f"--trainer.default_root_dir={tmp_path}", "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    ckpt = next(tmp_path.rglob("last.ckpt"))
    to_b = translate.load(ckpt, device="cpu")  # one direction: none to name
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (21, 30, 3), dtype=np.uint8))
    result = to_b(image)
    assert isinstance(result, Image.Image) and result.size == image.size
    x = torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1
    model = LightningModule.load_from_checkpoint(ckpt).eval()
    padded = torch.nn.functional.pad(x, (0, 2, 0, 3), mode="reflect")  # 21x30 -> 24x32 (the U-Net's multiple: 8)
    with torch.no_grad():
        expected = model(padded)[..., :21, :30]
    assert torch.allclose(to_b(x), expected, atol=1e-5)
