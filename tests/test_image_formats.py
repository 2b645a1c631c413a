"""Every still-image format Pillow decodes is an input (issue #20.4): GIF (palette), PGM (grayscale), PBM (1 bit),
PPM, TGA and JFIF are found by training's find_images and translated by predict, decoded to the right RGB, and
written in their own format where Pillow writes the translation as it is (else PNG, said once); the no-images
message lists the extensions looked for."""

import logging
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.datasets import DomainFolder
from translate.data.images import find_images, to_tensor, to_uint8
from translate.inference.predict import predict_folder
from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator

SIZE = (24, 20)  # width, height: multiples of the generator's 4, so predict pads nothing
# input name -> (how the file is written, its output name from an RGB model, whether that output is lossless)
FORMATS = {
    "palette.gif": (lambda rgb: Image.fromarray(rgb).quantize(16), "palette.png", True),
    "gray.pgm": (lambda rgb: Image.fromarray(rgb).convert("L"), "gray.png", True),
    "bits.pbm": (lambda rgb: Image.fromarray(rgb).convert("1"), "bits.png", True),
    "colour.ppm": (Image.fromarray, "colour.ppm", True),
    "colour.tga": (Image.fromarray, "colour.tga", True),
    "photo.jfif": (Image.fromarray, "photo.jfif", False),
}


def _tiny_cyclegan(channels: int = 3) -> CycleGAN:
    torch.manual_seed(0)
    generator = partial(ResnetGenerator, base_channels=4, num_blocks=1)
    discriminator = partial(PatchDiscriminator, base_channels=4, num_layers=2)
    return CycleGAN(generator, discriminator, channels=channels).eval()


@pytest.fixture(scope="module")
def model() -> CycleGAN:
    return _tiny_cyclegan()


def _write(folder: Path, name: str) -> np.ndarray:
    """Writes ``name`` in its format; returns the (H, W, 3) uint8 pixels it holds, as PIL's own RGB conversion sees
    them (a palette's colours, 0 or 255 for one bit, gray in every channel)."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(len(name)).integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    FORMATS[name][0](rgb).save(folder / name)
    with Image.open(folder / name) as image:
        return np.array(image.convert("RGB"))


def _translated(model: CycleGAN, pixels: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return to_uint8(model.translator("a2b")(to_tensor(pixels)[None]))[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_is_translated_from_its_true_colours(model, name, tmp_path):
    pixels = _write(tmp_path / "in", name)
    output = tmp_path / "out" / FORMATS[name][1]
    assert predict_folder(model, tmp_path / "in", tmp_path / "out", progress=False) == [output]
    with Image.open(output) as out:
        assert out.size == SIZE and out.mode == "RGB"
        written = np.array(out)
    if FORMATS[name][2]:  # a wrong decode (palette indices, 1-bit values as 0/1) would translate other pixels
        assert np.abs(written.astype(int) - _translated(model, pixels)).max() <= 1


def test_a_folder_of_every_format_is_translated_and_the_png_ones_are_named_once(model, tmp_path, caplog):
    for name in FORMATS:
        _write(tmp_path / "in", name)
    with caplog.at_level(logging.WARNING):
        written = predict_folder(model, tmp_path / "in", tmp_path / "out", progress=False)
    assert sorted(path.name for path in written) == sorted(output for _, output, _ in FORMATS.values())
    (warning,) = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert ".gif, .pbm, .pgm" in warning and ".png" in warning


def test_a_grayscale_model_keeps_pgm(tmp_path):
    _write(tmp_path / "in", "gray.pgm")
    written = predict_folder(_tiny_cyclegan(channels=1), tmp_path / "in", tmp_path / "out", progress=False)
    assert written == [tmp_path / "out" / "gray.pgm"]
    with Image.open(written[0]) as out:
        assert out.format == "PPM" and out.mode == "L"


def test_training_finds_and_decodes_every_format(tmp_path):
    expected = {name: _write(tmp_path / "trainA", name) for name in FORMATS}
    assert [path.name for path in find_images(tmp_path / "trainA")] == sorted(FORMATS)
    folder = DomainFolder(tmp_path / "trainA")
    for index, path in enumerate(folder.paths):
        assert torch.equal(folder[index], to_tensor(expected[path.name])), path.name


def test_no_images_names_the_extensions_looked_for(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("no images here")
    with pytest.raises(ValueError) as error:
        find_images(tmp_path / "empty")
    message = str(error.value)
    assert message.startswith("no images (png, jpg, jpeg, ") and message.endswith(f"found under {tmp_path / 'empty'}")
    for extension in ("gif", "jfif", "ppm", "pgm", "tga"):
        assert f" {extension}," in message or f" {extension} " in message, extension
    assert " more) " in message and "\n" not in message
