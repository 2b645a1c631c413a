"""The one image writer: [-1, 1] tensors (or uint8) to grayscale or RGB pixels rounded as ``to_uint8`` does, files
written atomically, and the bytes serve answers with equal to the file predict writes."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.image_writer import encode_image, to_pil, to_pixels, write_image
from translate.data.images import to_uint8

EDGES = torch.tensor([-2.0, -1.0, -0.5, 0.0, 1 / 255, 1 / 127.5 - 1, 0.5, 1.0, 2.0])  # clamped, halves, the ends


@pytest.mark.parametrize(("channels", "mode"), [(1, "L"), (3, "RGB")])
def test_pixels_are_rounded_as_to_uint8_and_one_channel_is_grayscale(channels, mode):
    image = EDGES.repeat(channels, 3, 1)  # (C, 3, 9)
    pixels = to_pixels(image)
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 9, channels)
    assert np.array_equal(pixels, to_uint8(image).permute(1, 2, 0).numpy())
    assert np.array_equal(pixels[0, :, 0], [0, 0, 64, 128, 128, 1, 191, 255, 255])
    picture = to_pil(image)
    assert picture.mode == mode and np.array_equal(np.asarray(picture).reshape(pixels.shape), pixels)
    assert np.array_equal(to_pixels(to_uint8(image)), pixels), "uint8 images are written as they are"


def test_other_shapes_are_refused():
    with pytest.raises(ValueError, match=r"1 \(grayscale\) or 3 \(RGB\) channels, got \(4, 8, 8\)"):
        to_pixels(torch.zeros(4, 8, 8))
    with pytest.raises(ValueError, match=r"got \(1, 3, 8, 8\)"):
        to_pil(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize(("suffix", "format_"), [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP")])
def test_a_written_file_holds_the_encoded_bytes(tmp_path, suffix, format_):
    image = torch.rand(3, 12, 20, generator=torch.Generator().manual_seed(0)) * 2 - 1
    write_image(image, tmp_path / "sub" / f"out{suffix}")  # the folder is made
    assert (tmp_path / "sub" / f"out{suffix}").read_bytes() == encode_image(image, format_)
    if format_ == "JPEG":  # lossy formats at quality 95, not Pillow's 75
        assert encode_image(image, format_) != _pillow_default(image, format_)


def _pillow_default(image, format_):
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format=format_)
    return buffer.getvalue()


def test_files_are_written_atomically(tmp_path, monkeypatch):
    write_image(torch.zeros(3, 8, 8), tmp_path / "ok.jpg")
    assert Image.open(tmp_path / "ok.jpg").size == (8, 8) and [p.name for p in tmp_path.iterdir()] == ["ok.jpg"]

    def disk_full(self, fp, *args, **kwargs):
        with open(fp, "wb") as file:
            file.write(b"half an image")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_image(torch.zeros(3, 8, 8), tmp_path / "cut.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.jpg"]  # no half-written output, no temporary file
