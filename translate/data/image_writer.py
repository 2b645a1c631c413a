"""Tensors to images: the one writer behind predict, serve, eval, ``translate sample``, ``translate.load`` and the
training sample grids, so that each writes the same bytes for the same pixels."""

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from translate.data.images import to_uint8

LOSSY_QUALITY = 95  # JPEG, WebP and AVIF outputs: Pillow's default of 75 shows blocks in translated photos


def to_pixels(image: Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] (rounded as ``to_uint8`` does), or already uint8 -> (H, W, C) uint8 on the CPU."""
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected a (C, H, W) image of 1 (grayscale) or 3 (RGB) channels, got {tuple(image.shape)}")
    pixels = image if image.dtype == torch.uint8 else to_uint8(image)
    return pixels.permute(1, 2, 0).cpu().numpy()


def to_pil(image: Tensor) -> Image.Image:
    """(C, H, W) in [-1, 1], or uint8 -> a PIL image: mode L for one channel, RGB for three."""
    pixels = to_pixels(image)
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def _options(format_: str | None) -> dict:
    return {"quality": LOSSY_QUALITY} if format_ in ("JPEG", "WEBP", "AVIF") else {}


def encode_image(image: Tensor, format_: str) -> bytes:
    """The bytes ``write_image`` writes for ``image`` to a file of this Pillow format (``"PNG"``, ``"JPEG"``, ...)."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format=format_, **_options(format_))
    return buffer.getvalue()


def write_image(image: Tensor, path: str | Path) -> None:
    """Write ``image`` in the format its extension names, atomically (a temporary file beside it, then renamed): an
    interruption never leaves a half-written image, so a file that exists is complete (predict's re-runs skip it)."""
    path = Path(path)
    picture = to_pil(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    format_ = Image.registered_extensions().get(path.suffix.lower())
    partial = path.with_name(f".{path.name}.partial")
    try:
        picture.save(partial, format=format_, **_options(format_))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
