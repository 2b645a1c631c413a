"""Image files in, image files out, for folder prediction: decoding in loader workers, batches of images that share a
padded size, and atomic writes."""

from collections import defaultdict
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from translate.data.images import read_image, to_tensor, to_uint8
from translate.inference.tiling import pad_to_multiple, padded_size


class ImageFiles(Dataset):
    """Decodes one image per item into (C, H, W) in [-1, 1], reflect-padded to the generator's size multiple.

    A file that fails to decode gives a blank image of its batch's size and the error text, so one bad file neither
    stops the loader workers nor the batch it is in.
    """

    def __init__(self, paths: list[Path], channels: int, multiple: int, sizes: dict[int, tuple[int, int]]):
        self.paths, self.channels, self.multiple, self.sizes = paths, channels, multiple, sizes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int, int, str]:
        try:
            image = to_tensor(read_image(self.paths[index], self.channels))  # (C, H, W) in [-1, 1]
        except Exception as error:  # noqa: BLE001 (any decoder failure is reported per file, not raised)
            return torch.zeros(self.channels, *self.sizes[index]), 0, 0, index, f"{type(error).__name__}: {error}"
        height, width = image.shape[-2:]
        return pad_to_multiple(image[None], self.multiple)[0], height, width, index, ""


def same_size_batches(
    paths: list[Path], todo: list[int], batch_size: int, multiple: int, failures: dict[Path, str]
) -> tuple[list[list[int]], dict[int, tuple[int, int]]]:
    """Group images whose padded sizes match, so batches stack without resizing (instance norm sees each whole).

    Returns the batches and each image's padded size; files whose header cannot be read go to ``failures``.
    """
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    sizes = {}
    for index in todo:
        try:
            with Image.open(paths[index]) as image:  # reads the header only
                width, height = image.size
                if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF rotation by 90 degrees swaps the sides
                    width, height = height, width
        except Exception as error:  # noqa: BLE001 (reported per file)
            failures[paths[index]] = f"{type(error).__name__}: {error}"
            continue
        # A side of at most `multiple` pads to `multiple`, leaving a 1-pixel bottleneck where reflect padding and
        # instance norm fail; one pixel more pads to twice it.
        smallest = multiple + 1
        if min(height, width) < smallest:
            failures[paths[index]] = f"{width}x{height} is too small; resize it to at least {smallest}x{smallest}"
            continue
        sizes[index] = padded_size((height, width), multiple)
        groups[sizes[index]].append(index)
    batches = [indices[i : i + batch_size] for indices in groups.values() for i in range(0, len(indices), batch_size)]
    return batches, sizes


def save_image(image: Tensor, path: Path) -> None:
    """Write atomically (temporary file, then rename): an interruption never leaves a half-written image."""
    pixels = to_uint8(image).permute(1, 2, 0).cpu().numpy()  # (H, W, C)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else {}
    partial = path.with_name(f".{path.name}.partial")
    try:
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
            partial, format=Image.registered_extensions().get(path.suffix.lower()), **options
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
