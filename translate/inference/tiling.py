"""Fitting images of any size to a generator: padding to its size multiple, and tiles with blended overlaps for
images larger than memory allows."""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def padded_size(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """(H, W) rounded up to multiples of ``multiple``."""
    return tuple(-(-s // multiple) * multiple for s in size)


def pad_to_multiple(images: Tensor, multiple: int) -> Tensor:
    """Pad (B, C, H, W) at the bottom and right so that H and W are multiples of ``multiple``; crop back after."""
    height, width = images.shape[-2:]
    pad_h, pad_w = (p - s for p, s in zip(padded_size((height, width), multiple), (height, width), strict=True))
    # reflection continues the image's texture across the border; it needs the pad smaller than the side
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(images, (0, pad_w, 0, pad_h), mode=mode) if pad_h or pad_w else images


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]  # the last tile ends at the border


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> Tensor:
    """1-D blending weights: rising over ``overlap`` pixels at inner edges, flat at the image's own borders."""
    weight = torch.ones(length)
    ramp = torch.linspace(0, 1, overlap + 2)[1:-1]  # strictly between 0 and 1: every pixel keeps some weight
    if overlap and not at_start:
        weight[:overlap] = ramp
    if overlap and not at_end:
        weight[-overlap:] = ramp.flip(0)
    return weight


@torch.inference_mode()
def translate_tiled(
    translate: Callable[[Tensor], Tensor | list[Tensor]], image: Tensor, *, tile: int, overlap: int, multiple: int = 1
) -> Tensor | list[Tensor]:
    """Apply ``translate`` to (B, C, H, W) ``image`` in tiles of at most ``tile`` x ``tile`` that overlap by
    ``overlap`` pixels; overlapping outputs are averaged with linear ramps. The network only ever sees one tile
    (padded to ``multiple``), so its memory is bounded by the tile size whatever the image size. ``translate`` may
    return a tensor or a list of them (e.g. several panels); the result has the same form, at the image's size."""
    if tile < 1 or not 0 <= overlap < tile:
        raise ValueError(f"need --tile >= 1 and 0 <= --tile-overlap < --tile, got {tile} and {overlap}")
    height, width = image.shape[-2:]
    outputs: list[Tensor] | None = None
    total = torch.zeros(height, width, device=image.device)
    single = False
    for top in _starts(height, tile, tile - overlap):
        for left in _starts(width, tile, tile - overlap):
            crop = image[..., top : top + tile, left : left + tile]
            h, w = crop.shape[-2:]
            results = translate(pad_to_multiple(crop, multiple))
            single = isinstance(results, Tensor)
            results = [results] if single else list(results)
            if outputs is None:
                outputs = [r.new_zeros(*r.shape[:2], height, width) for r in results]
            ramp_h = _ramp(h, overlap, top == 0, top + h >= height)
            ramp_w = _ramp(w, overlap, left == 0, left + w >= width)
            weight = (ramp_h[:, None] * ramp_w[None, :]).to(image.device)  # (h, w)
            for output, result in zip(outputs, results, strict=True):
                output[..., top : top + h, left : left + w] += result[..., :h, :w] * weight
            total[top : top + h, left : left + w] += weight
    blended = [output / total for output in outputs]
    return blended[0] if single else blended
