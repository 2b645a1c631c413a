"""Tiled translation: same result as whole-image translation for a local operator, no seams, bounded tile size."""

import pytest
import torch
from torch import nn

from translate.inference.tiling import translate_tiled


def test_a_pointwise_network_gives_the_whole_image_result():
    net = nn.Conv2d(3, 3, 1)
    image = torch.rand(1, 3, 70, 95)
    with torch.no_grad():
        assert torch.allclose(translate_tiled(net, image, tile=32, overlap=8), net(image), atol=1e-6)


def test_tile_borders_show_no_step_and_tiles_stay_small(tiny_cyclegan):
    torch.manual_seed(0)
    generator = tiny_cyclegan().gen_ab.eval()  # instance norm: every tile normalised by its own statistics
    seen = []

    def translate(x):
        seen.append(tuple(x.shape[-2:]))
        return generator(x)

    y, x = torch.meshgrid(torch.linspace(-1, 1, 120), torch.linspace(-1, 1, 160), indexing="ij")
    image = torch.stack([x, y, x * y])[None] * 0.8  # smooth
    out = translate_tiled(translate, image, tile=48, overlap=16, multiple=4)
    assert max(h * w for h, w in seen) <= 48 * 48, "the network saw more than one tile"
    step = (out[..., :, 1:] - out[..., :, :-1]).abs().mean(dim=(0, 1, 2))  # horizontal gradient per column
    starts = list(range(0, 160 - 48, 32)) + [160 - 48]
    borders = sorted({s + 48 - 1 for s in starts[:-1]} | {s for s in starts[1:]})  # tile edges inside the image
    elsewhere = step[[c for c in range(159) if all(abs(c - b) > 2 for b in borders)]].mean()
    assert step[borders].max() < 2.5 * elsewhere, (step[borders], elsewhere)

    unblended = translate_tiled(translate, image, tile=48, overlap=0, multiple=4)  # the seams blending removes
    hard = (unblended[..., :, 1:] - unblended[..., :, :-1]).abs().mean(dim=(0, 1, 2))
    assert hard[[47, 95]].max() > step[borders].max()


def test_bad_tile_options_name_them():
    with pytest.raises(ValueError, match="--tile-overlap"):
        translate_tiled(nn.Identity(), torch.zeros(1, 3, 8, 8), tile=8, overlap=8)


def test_predict_with_tiles_writes_full_size_images(write_images, tiny_cyclegan, tiny_domains, tmp_path):
    from PIL import Image

    from translate.inference.predict import predict_folder

    model = tiny_cyclegan().eval()
    write_images(tmp_path / "in", 1, size=(150, 97))
    (out,) = predict_folder(model, tmp_path / "in", tmp_path / "out", tile=40, tile_overlap=8, progress=False)
    assert Image.open(out).size == (150, 97)


def test_pix2pix_predicts_with_tiles_at_full_size_and_close_to_the_whole_image(tiny_pix2pix, tmp_path):
    """A U-Net sees its whole input through the bottleneck, so its tiles differ from the whole image more than a
    ResNet's do; predict still writes every pixel, and the tiled result follows the untiled one."""
    import numpy as np
    from PIL import Image

    from translate.inference.predict import predict_folder

    torch.manual_seed(0)
    model = tiny_pix2pix().eval()
    with torch.no_grad():  # an untrained U-Net answers almost one grey everywhere: give its output some structure
        for parameter in model.gen.parameters():
            parameter.mul_(4)
    image = np.zeros((70, 100, 3), np.uint8)
    image[:, :50], image[20:50, 60:90, 1] = 200, 255  # two halves and a green square
    (tmp_path / "in").mkdir()
    Image.fromarray(image).save(tmp_path / "in" / "x.png")
    (tiled,) = predict_folder(model, tmp_path / "in", tmp_path / "tiled", tile=48, tile_overlap=16, progress=False)
    (whole,) = predict_folder(model, tmp_path / "in", tmp_path / "whole", progress=False)
    tiled, whole = (np.asarray(Image.open(p), dtype=float) for p in (tiled, whole))
    assert tiled.shape == whole.shape == (70, 100, 3)
    assert np.corrcoef(tiled.ravel(), whole.ravel())[0, 1] > 0.8  # 0.88 measured; unrelated images give about 0
