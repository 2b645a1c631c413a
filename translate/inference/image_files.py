"""Image files in, image files out, for folder prediction: the images --input names and their names under --output,
decoding in loader workers, and batches of images that share a padded size (``data.image_writer`` writes the
outputs)."""

import glob
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from translate.data.images import (
    IMAGE_EXTENSIONS,
    extension_names,
    find_images,
    is_image_file,
    read_image,
    to_tensor,
)
from translate.inference.tiling import pad_to_multiple, padded_size

log = logging.getLogger(__name__)

Inputs = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class InputImages:
    """The images to translate, each one's path under the output folder, and the folders among the inputs."""

    paths: list[Path]
    names: list[Path]
    folders: list[Path]


def input_images(inputs: Inputs) -> InputImages:
    """The images ``inputs`` name: a folder's (recursively) keep their path relative to it, a file its name, and what
    a glob pattern matches (image files, and folders as above; ``**`` recursive) their path relative to the pattern's
    leading fixed folder, so that ``photos/*.jpg`` names them as the shell's expansion would. A file named twice is
    translated once."""
    items = [str(inputs)] if isinstance(inputs, str | Path) else [str(item) for item in inputs]
    if not items:
        raise ValueError("--input needs at least one folder, image file or pattern")
    found: dict[Path, tuple[Path, Path]] = {}
    folders, real = [], _resolver()
    for item in items:
        images, named_folders = _expand(item)
        folders += named_folders
        for path, name in images:
            found.setdefault(real(path), (path, name))
    return InputImages([path for path, _ in found.values()], [name for _, name in found.values()], folders)


def _expand(item: str) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """The (image, its path under the output folder) pairs of one --input value, and the folders it names."""
    path = Path(item)
    if path.is_dir():
        return [(image, image.relative_to(path)) for image in find_images(path)], [path]
    if path.is_file():
        return [(path, Path(path.name))], []
    if not _is_pattern(item):
        raise FileNotFoundError(f"--input {item} not found: no file or folder {path.resolve()}")
    base = Path(*_fixed_parts(path))
    matches = [Path(match) for match in sorted(glob.glob(item, recursive=True))]  # no hidden names, as find_images
    folders = _outermost([match for match in matches if match.is_dir()])
    images = [match for match in matches if match.is_file() and is_image_file(match)]
    images = _by_shortest_path(item, images + [image for folder in folders for image in _images_under(folder)])
    if not images:
        raise FileNotFoundError(f"--input {item!r} matches no image files ({extension_names()}) under {base.resolve()}")
    return [(image, image.relative_to(base)) for image in images], folders


def _is_pattern(text: str) -> bool:
    return any(char in text for char in "*?[")


def _fixed_parts(pattern: Path) -> list[str]:
    """The leading folders of a glob pattern, up to its first part with a wildcard."""
    parts = []
    for part in pattern.parts:
        if _is_pattern(part):
            return parts or ["."]
        parts.append(part)
    return parts


def _outermost(folders: list[Path]) -> list[Path]:
    """The folders not inside another of them (``photos/**`` matches every sub-folder of photos)."""
    kept: list[Path] = []
    for folder in sorted(folders, key=lambda folder: len(folder.parts)):
        if not any(outer in folder.parents for outer in kept):
            kept.append(folder)
    return kept


def _images_under(folder: Path) -> list[Path]:
    """A pattern's folder's images; none is no error, as long as the pattern matches some."""
    try:
        return find_images(folder)
    except ValueError:
        return []


def _by_shortest_path(item: str, images: list[Path]) -> list[Path]:
    """Each file once, by its shortest path: ``**`` follows folder symlinks, so a link looping back into the tree
    matches its files again, one level deeper each time (one warning)."""
    chosen: dict[Path, Path] = {}
    real, skipped = _resolver(), []
    linked = {image: real(image).parent != image.parent.absolute() for image in set(images)}  # through a link
    for image in sorted(linked, key=lambda path: (len(path.parts), linked[path], str(path))):
        if chosen.setdefault(real(image), image) is not image:
            skipped.append(image)
    if skipped:
        links = sorted({next((p for p in reversed(path.parents) if p.is_symlink()), path) for path in skipped})
        log.warning("--input %r: skipping %s: %s to files already matched (a symlink loop, or two links to one "
                    "folder); each file is read once, by its shortest path", item, ", ".join(map(str, links)),
                    "it leads" if len(links) == 1 else "they lead")  # fmt: skip
    return sorted(chosen.values())


def _resolver() -> Callable[[Path], Path]:
    """path -> its absolute path with the symlinks of its folders resolved, each folder once (10 us a call)."""
    folders: dict[Path, Path] = {}

    def real(path: Path) -> Path:
        if path.parent not in folders:
            folders[path.parent] = path.parent.resolve()
        return folders[path.parent] / path.name

    return real


# Formats Pillow writes, but not as a translation is: a palette of 256 colours (GIF, BLP), 1 bit (XBM, MSP), icon
# sizes (ICO, ICNS); extensions whose format holds other pixels (1-bit PBM, float PFM; gray PGM and SGI .bw hold no
# colour, QOI no gray).
_NOT_AS_IS = {"GIF", "BLP", "XBM", "MSP", "ICO", "ICNS"}
_OTHER_PIXELS = {".pbm", ".pfm"}
_GRAY_ONLY = {".pgm", ".bw"}
_COLOUR_ONLY = {"QOI"}


def output_format(suffix: str, channels: int) -> str | None:
    """The Pillow format that writes a translation of ``channels`` as it is under a name ending in ``suffix``;
    None where there is none (the output is then written as PNG)."""
    suffix = suffix.lower()
    name = Image.registered_extensions().get(suffix)
    if suffix not in IMAGE_EXTENSIONS or name not in Image.SAVE or name in _NOT_AS_IS or suffix in _OTHER_PIXELS:
        return None
    if (suffix in _GRAY_ONLY and channels != 1) or (name in _COLOUR_ONLY and channels != 3):
        return None
    return name


def writable_extensions(channels: int) -> str:
    """The extensions ``output_format`` keeps, for messages (``png, jpg, ... and N more``)."""
    return extension_names([ext for ext in IMAGE_EXTENSIONS if output_format(ext, channels)])


def output_names(inputs: InputImages, channels: int) -> list[Path]:
    """Each input's path under the output folder: its own, with ``.png`` for a format Pillow cannot write as it is
    (one warning names them). Two inputs that would be written to the same path are refused in one line."""
    names, sources, converted = [], {}, set()
    for path, name in zip(inputs.paths, inputs.names, strict=True):
        if output_format(name.suffix, channels) is None:
            converted.add(name.suffix.lower() or "no extension")
            name = name.with_suffix(".png")
        if name in sources:
            raise ValueError(f"--input {sources[name]} and {path} would both be written as {name}; rename one or "
                             "translate them in separate runs")  # fmt: skip
        sources[name] = path
        names.append(name)
    if converted:
        log.warning("writing the %s inputs as .png files of the same name: Pillow cannot write translations in "
                    "those formats as they are (GIF holds 256 colours)", ", ".join(sorted(converted)))  # fmt: skip
    return names


def output_paths(inputs: InputImages, output: Path, subs: list[str], channels: int) -> dict[str, list[Path]]:
    """Each output sub-folder's output path of every input: under ``output``, or ``output`` itself where it is an image
    file name. Outputs never go inside an input folder or onto an input."""
    if output.suffix.lower() in Image.registered_extensions() and not output.is_dir():
        _check_file_output(inputs, output, subs, channels)
        outputs = {subs[0]: [output]}
    else:
        names = output_names(inputs, channels)
        outputs = {sub: [output / sub / name for name in names] for sub in subs}
    for folder in inputs.folders:
        if output.resolve() == folder.resolve() or folder.resolve() in output.resolve().parents:
            raise ValueError(f"--output {output} is inside --input {folder}; choose a folder outside it")
    real = _resolver()
    sources = {real(path): path for path in inputs.paths}
    for path in (path for paths in outputs.values() for path in paths):
        if real(path) in sources:
            raise ValueError(f"--output {output} would overwrite the input {sources[real(path)]}; choose another "
                             "--output")  # fmt: skip
    return outputs


def _check_file_output(inputs: InputImages, output: Path, subs: list[str], channels: int) -> None:
    """``--output out.png``: one input image (not a folder's), one translation, a format that holds it."""
    if inputs.folders or len(inputs.paths) != 1:
        given = f"a folder ({inputs.folders[0]})" if inputs.folders else f"{len(inputs.paths)} images"
        raise ValueError(f"--output {output} is an image file name, for one input image; --input gives {given}: "
                         "pass a folder as --output")  # fmt: skip
    if len(subs) != 1:
        raise ValueError(f"--output {output} is one image file, but {len(subs)} translations are asked for (a "
                         f"folder each: {', '.join(subs)}); pass a folder as --output")  # fmt: skip
    if output_format(output.suffix, channels) is None:
        raise ValueError(f"--output {output}: Pillow cannot write this model's translations as {output.suffix} as they "
                         f"are; use one of {writable_extensions(channels)}")  # fmt: skip


def scaled_size(height: int, width: int, scale_to: int | None) -> tuple[int, int]:
    """The size an image is translated at: its own, or with its shorter side resized to ``scale_to`` (the training
    scale, for models that translate there: inference/predict.py)."""
    if scale_to is None:
        return height, width
    factor = scale_to / min(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def resize(image: Tensor, size: tuple[int, int]) -> Tensor:
    """(..., C, H, W) resized to ``size``, bilinear, antialiased when shrinking."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    batch = image.reshape(-1, *image.shape[-3:]).float()
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    out = F.interpolate(batch, size=size, mode="bilinear", antialias=shrinking, align_corners=False).clamp(-1, 1)
    return out.reshape(*image.shape[:-2], *size).to(image.dtype)


class ImageFiles(Dataset):
    """Decodes one image per item into (C, H, W) in [-1, 1] (resized so its shorter side is ``scale_to`` when
    given), reflect-padded to the generator's size multiple.

    A file that fails to decode gives a blank image of its batch's size and the error text, so one bad file neither
    stops the loader workers nor the batch it is in.
    """

    def __init__(
        self,
        paths: list[Path],
        channels: int,
        multiple: int,
        sizes: dict[int, tuple[int, int]],
        scale_to: int | None = None,
    ):
        self.paths, self.channels, self.multiple, self.sizes = paths, channels, multiple, sizes
        self.scale_to = scale_to

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int, int, str]:
        try:
            image = to_tensor(read_image(self.paths[index], self.channels))  # (C, H, W) in [-1, 1]
        except Exception as error:  # noqa: BLE001 (any decoder failure is reported per file, not raised)
            return torch.zeros(self.channels, *self.sizes[index]), 0, 0, index, f"{type(error).__name__}: {error}"
        image = resize(image, scaled_size(*image.shape[-2:], self.scale_to))
        height, width = image.shape[-2:]
        return pad_to_multiple(image[None], self.multiple)[0], height, width, index, ""


def same_size_batches(
    paths: list[Path],
    todo: list[int],
    batch_size: int,
    multiple: int,
    failures: dict[Path, str],
    scale_to: int | None = None,
    min_side: int | None = None,
) -> tuple[list[list[int]], dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """Group images whose padded sizes (at ``scale_to``, when given) match, so batches stack without resizing
    (instance norm sees each whole).

    Returns the batches, each image's padded size and its own size; files whose header cannot be read go to
    ``failures``.
    """
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    sizes, originals = {}, {}
    for index in todo:
        try:
            with Image.open(paths[index]) as image:  # reads the header only
                width, height = image.size
                if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF rotation by 90 degrees swaps the sides
                    width, height = height, width
        except Exception as error:  # noqa: BLE001 (reported per file)
            failures[paths[index]] = f"{type(error).__name__}: {error}"
            continue
        # By default a side of at most `multiple` pads to `multiple`, leaving a 1-pixel bottleneck where reflect padding
        # and instance norm fail; one pixel more pads to twice it. U-Nets are built for it (min_side = multiple).
        smallest = multiple + 1 if min_side is None else min_side
        translated = scaled_size(height, width, scale_to)  # what the network sees: at the training scale, resized
        if min(translated) < smallest:
            failures[paths[index]] = f"{width}x{height} is too small; resize it to at least {smallest}x{smallest}"
            continue
        originals[index] = height, width
        sizes[index] = padded_size(translated, multiple)
        groups[sizes[index]].append(index)
    batches = [indices[i : i + batch_size] for indices in groups.values() for i in range(0, len(indices), batch_size)]
    return batches, sizes, originals
