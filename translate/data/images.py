"""Image files: finding them under a folder, decoding any mode to 8-bit RGB or grayscale, and to tensors."""

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, features
from torch import Tensor

log = logging.getLogger(__name__)

# Formats Pillow registers but does not decode into still images on its own: PostScript (needs Ghostscript), Windows
# metafiles and the scientific stubs (need a handler installed), video, and IPTC metadata.
_NOT_DECODED = {"EPS", "WMF", "BUFR", "GRIB", "HDF5", "MPEG", "IPTC"}
# Plugins that are registered even when Pillow was built without their library.
_CODECS = {"AVIF": "avif", "JPEG2000": "jpg_2000", "WEBP": "webp"}
# Listed first, and the ones messages name before "and N more".
COMMON_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jfif", ".ppm", ".pgm", ".tga")


def _register_heif() -> None:
    """HEIC/HEIF photos when pillow-heif is installed (not a dependency: Pillow cannot decode them by itself)."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def decodable_extensions() -> tuple[str, ...]:
    """The file extensions (lower case, with the dot) of the still-image formats this Pillow decodes, common first."""
    _register_heif()
    Image.init()
    found = {
        ext
        for ext, name in Image.registered_extensions().items()
        if name in Image.OPEN and name not in _NOT_DECODED and (name not in _CODECS or features.check(_CODECS[name]))
    }
    common = [ext for ext in COMMON_EXTENSIONS if ext in found]
    return (*common, *sorted(found.difference(common)))


IMAGE_EXTENSIONS = decodable_extensions()


def extension_names(extensions: Sequence[str] = IMAGE_EXTENSIONS, shown: int = len(COMMON_EXTENSIONS)) -> str:
    """``png, jpg, ... and 40 more``: extensions (the ones looked for by default) for messages."""
    names = [ext.lstrip(".") for ext in extensions]
    listed = ", ".join(names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def is_image_file(path: Path) -> bool:
    """Whether ``path``'s name is a visible file of a decodable image format (by its extension, any letter case)."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def find_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively and sorted, skipping hidden files and folders.

    Folder symlinks are followed (dataset folders often are links), but a folder reached twice (a link looping back
    into the tree, two links to one folder) is read once, by its shortest path; one warning names the others.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    found, skipped = [], []
    for parent, names in walk_once(folder, skipped):
        found += [parent / name for name in names if is_image_file(Path(name))]
    if skipped:
        log.warning("skipping %s under %s: %s to a folder already read (a symlink loop, or two links to one folder); "
                    "each folder is read once, by its shortest path", ", ".join(map(str, skipped)), folder,
                    "it leads" if len(skipped) == 1 else "they lead")  # fmt: skip
    if not found:
        raise ValueError(f"no images ({extension_names()}) found under {folder}")
    return sorted(found)


def walk_once(folder: Path, skipped: list[Path] | None = None) -> Iterator[tuple[Path, list[str]]]:
    """(folder, names of its visible non-folder entries) for ``folder`` and every visible folder below it, breadth
    first (shallowest first, a real folder before a link at the same depth), following folder symlinks but entering
    each folder once: the paths that reach one again go to ``skipped``. Unreadable folders are passed over, as
    ``os.walk`` does."""
    seen = {_identity(folder)}
    level = [folder]
    while level:
        below: list[tuple[bool, str, Path]] = []
        for parent in level:
            try:
                entries = sorted(os.scandir(parent), key=lambda entry: entry.name)
            except OSError:
                continue
            visible = [entry for entry in entries if not entry.name.startswith(".")]  # .git, .ipynb_checkpoints
            folders = [entry for entry in visible if _is_folder(entry)]
            yield parent, sorted({entry.name for entry in visible}.difference(entry.name for entry in folders))
            below += [(entry.is_symlink(), entry.path, Path(entry.path)) for entry in folders]
        level = []
        for _, _, path in sorted(below, key=lambda item: item[:2]):
            identity = _identity(path)
            if identity in seen:
                if skipped is not None:
                    skipped.append(path)
                continue
            seen.add(identity)
            level.append(path)


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows a symlink; a broken one is no folder
    except OSError:
        return False


def _identity(path: Path | str) -> tuple[int, int]:
    """The (device, inode) of the folder ``path`` leads to: one value for every path that reaches it."""
    try:
        stat = os.stat(path)
    except OSError:
        return (-1, hash(str(path)))
    return stat.st_dev, stat.st_ino


def read_image(path: Path, channels: int = 3) -> np.ndarray:
    """Decode an image as (H, W, channels) uint8, upright per its EXIF orientation.

    Every PIL mode is accepted: grayscale becomes RGB and colour becomes luminance as ``channels`` asks, palette (GIF),
    1-bit (PBM), CMYK and LAB images are converted, alpha is dropped (as the official CycleGAN's ``convert('RGB')``
    does), and 16-bit or float images (PGM, PFM) are scaled to 8 bits rather than clipped. Files of several frames
    (animated GIF, APNG, multi-page TIFF) give their first.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I", "F") or image.mode.startswith("I;16"):
            image = _to_8bit(image)
        pixels = np.array(_convert(image, "L" if channels == 1 else "RGB"))  # a writable copy, as torch wants
    return pixels[..., None] if channels == 1 else pixels


def _convert(image: Image.Image, mode: str) -> Image.Image:
    """``image.convert(mode)``, through RGB for the modes PIL cannot convert directly (LAB to L)."""
    try:
        return image.convert(mode)
    except ValueError:
        return image.convert("RGB").convert(mode)


def _to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer or float image -> mode L; PIL's own convert clips everything above 255 to white."""
    pixels = np.asarray(image, dtype=np.float64)
    peak = pixels.max(initial=0.0)
    if image.mode == "F":
        top = 1.0 if peak <= 1 else 255.0  # float images are usually [0, 1]
    elif image.mode.startswith("I;16") or peak > 255:
        top = 65535.0 if peak <= 65535 else peak
    else:
        top = 255.0  # mode I holding 8-bit values
    return Image.fromarray(np.clip(np.rint(pixels * (255.0 / top)), 0, 255).astype(np.uint8))


def to_tensor(image: np.ndarray) -> Tensor:
    """(H, W, C) uint8, or float in [0, 1] as albumentations makes them, -> (C, H, W) float32 in [-1, 1]."""
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"transforms must return a numpy (H, W, C) image, got {type(image).__name__}; leave out "
            "ToTensorV2 and Normalize, the data module scales images to [-1, 1] itself"
        )
    if image.ndim == 2:
        image = image[..., None]
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()
    scale = 127.5 if image.dtype == np.uint8 else 0.5
    return tensor.div_(scale).sub_(1.0)


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] float (..., C, H, W) -> uint8 in [0, 255]; loggers that cast floats unscaled get real pixels."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


BadImages = Literal["skip", "fail"]


class UndecodableImageError(ValueError):
    """A training image that cannot be decoded, with ``data.bad_images: fail``.

    torch's DataLoader re-raises a worker's exception in the main process as ``type(error)(worker traceback text)``;
    keeping only our own last line there gives one clear message naming the file, not a traceback from deep in a
    worker.
    """

    def __init__(self, message: str):
        if "Original Traceback" in message:  # rebuilt by the DataLoader: its last line is "module.Class: ours"
            message = message.rstrip().rsplit("\n", 1)[-1].split(": ", 1)[-1]
        super().__init__(message)
