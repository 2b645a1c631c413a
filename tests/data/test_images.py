"""Image files: found recursively in a stable order (hidden ones skipped), any PIL mode and 16-bit files decoded to
8-bit RGB or grayscale with their full range, EXIF orientation applied.
"""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.datasets import DomainFolder
from translate.data.images import find_images, read_image, to_tensor, to_uint8
from translate.inference.predict import predict_folder
from translate.models import CycleGAN


def test_find_images_recurses_sorts_and_skips_hidden(write_images, tmp_path):
    write_images(tmp_path / "z", 1)
    write_images(tmp_path / "a" / "deep", 2, ext="JPG")
    write_images(tmp_path / ".cache", 1)  # hidden folder
    (tmp_path / ".hidden.png").write_bytes((tmp_path / "z" / "img_000.png").read_bytes())
    (tmp_path / "notes.txt").write_text("not an image")
    found = find_images(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/deep/img_000.JPG",
        "a/deep/img_001.JPG",
        "z/img_000.png",
    ]


def test_find_images_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        find_images(tmp_path / "missing")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("")
    with pytest.raises(ValueError, match=r"no images \(png, jpg.*empty"):
        find_images(tmp_path / "empty")


def test_a_folder_reached_twice_is_read_once_by_its_shortest_path(write_images, tmp_path, caplog):
    """#29: `loop -> .` made training and predict read loop/loop/.../img.png 40 levels deep; two links to one folder
    read it twice. Breadth first, a real folder before a link: each folder once, one warning naming the links."""
    root = tmp_path / "in"
    write_images(root / "sub", 1)
    write_images(tmp_path / "elsewhere", 1, colour=1)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "a_link").symlink_to(root / "sub", target_is_directory=True)  # sorts before sub, same depth
    (root / "one").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "two").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "deep" / "deeper").mkdir(parents=True)
    (root / "deep" / "deeper" / "up").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with caplog.at_level(logging.WARNING):
        found = find_images(root)
    assert [p.relative_to(root).as_posix() for p in found] == ["one/img_000.png", "sub/img_000.png"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and all(str(root / name) in warnings[0] for name in ("loop", "a_link", "two", "deep"))


GRADIENT = np.linspace(0, 1, 8 * 12).reshape(8, 12)


@pytest.mark.parametrize(
    "image",
    [
        Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert("RGBA"),
        Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert("RGB").convert("P"),
        Image.fromarray((GRADIENT * 255).astype(np.uint8)),  # L
        Image.fromarray((GRADIENT * 65535).astype(np.uint16)),  # I;16: must be scaled down, not clipped to white
        Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert("CMYK"),
        Image.fromarray(GRADIENT.astype(np.float32)),  # F in [0, 1]
    ],
    ids=lambda image: image.mode,
)
@pytest.mark.parametrize("channels", [1, 3])
def test_read_image_converts_any_mode(tmp_path, image, channels):
    path = tmp_path / ("image.jpg" if image.mode == "CMYK" else "image.tif" if image.mode == "F" else "image.png")
    image.save(path)
    pixels = read_image(path, channels)
    assert pixels.shape == (8, 12, channels) and pixels.dtype == np.uint8
    assert pixels.min() <= 10 and pixels.max() >= 240  # the gradient keeps its full range
    assert pixels[:, :, 0].mean() == pytest.approx(127.5, abs=12)


def test_read_image_applies_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (12, 8), "red").save(tmp_path / "rotated.jpg", exif=exif)
    assert read_image(tmp_path / "rotated.jpg", 3).shape == (12, 8, 3)


SIXTEEN_BIT = np.full((8, 12), 32768, dtype=np.uint16)  # half of 16-bit full scale: must read as about 0.5


def _write_16bit(path: Path, kind: str) -> None:
    if kind == "gray":  # PIL mode I;16
        Image.fromarray(SIXTEEN_BIT).save(path)
    else:  # 16-bit RGB (48 bits per pixel), which PIL cannot write: OpenCV can (BGR order)
        bgr = np.stack([np.zeros_like(SIXTEEN_BIT), SIXTEEN_BIT, np.full_like(SIXTEEN_BIT, 65535)], axis=-1)  # orange
        assert cv2.imwrite(str(path), bgr)


@pytest.mark.parametrize("kind", ["gray", "rgb"])
@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_images_keep_their_range(tmp_path, kind, ext, channels):
    path = tmp_path / f"deep.{ext}"
    _write_16bit(path, kind)
    pixels = read_image(path, channels)
    assert pixels.shape == (8, 12, channels) and pixels.dtype == np.uint8
    if kind == "gray" or channels == 3:
        green = pixels[..., 0] if kind == "gray" else pixels[..., 1]  # the 32768 channel
        assert np.abs(green.astype(int) - 128).max() <= 1, "32768 of 65535 must be about 0.5, not clipped or 0"
    if kind == "rgb" and channels == 3:
        assert pixels[..., 0].min() == 255 and pixels[..., 2].max() == 0  # red full scale, blue 0
    if kind == "rgb" and channels == 1:  # luminance of (1, 0.5, 0): 0.299 * 255 + 0.587 * 128 = 151
        assert abs(int(pixels.mean()) - 151) <= 2


# --- every still-image format Pillow decodes --------------------------------------------------------------------------


# Every still-image format Pillow decodes is an input (issue #20.4): GIF (palette), PGM (grayscale), PBM (1 bit), PPM,
# TGA and JFIF are found by training's find_images and translated by predict, decoded to the right RGB, and written in
# their own format where Pillow writes the translation as it is (else PNG, said once); the no-images message lists the
# extensions looked for.
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


@pytest.fixture(scope="module")
def model(tiny_cyclegan) -> CycleGAN:
    torch.manual_seed(0)
    return tiny_cyclegan().eval()


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


def test_a_grayscale_model_keeps_pgm(tiny_cyclegan, tmp_path):
    _write(tmp_path / "in", "gray.pgm")
    written = predict_folder(tiny_cyclegan(channels=1).eval(), tmp_path / "in", tmp_path / "out", progress=False)
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
