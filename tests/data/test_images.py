"""Image files: found recursively in a stable order (hidden ones skipped), any PIL mode and 16-bit files decoded to
8-bit RGB or grayscale with their full range, EXIF orientation applied.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from translate.data.images import find_images, read_image


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
