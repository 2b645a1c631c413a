"""Unpaired image domains for translation: discovery, decoding, augmentation and the Lightning data module.

Layout, epoch length and pairing follow the official CycleGAN (Zhu et al. 2017, ``data/unaligned_dataset.py``).
"""

import os
import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import albumentations as A
import cv2
import numpy as np
import torch
from lightning import LightningDataModule
from PIL import Image, ImageOps
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from translate.download import CYCLEGAN_DATASETS

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
Transform = Callable[..., dict[str, Any]]  # albumentations' call convention: transform(image=array)["image"]
LAYOUTS = "datasets/README.md lists the layouts"


def find_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively and sorted, skipping hidden files and folders."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    found = []
    for parent, dirs, files in os.walk(folder, followlinks=True):  # dataset folders are often symlinks
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # prune .git, .ipynb_checkpoints, ...
        found += [
            Path(parent, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS
        ]
    if not found:
        names = ", ".join(ext.lstrip(".") for ext in IMAGE_EXTENSIONS)
        raise ValueError(f"no images ({names}) found under {folder}")
    return sorted(found)


def _holds_images(folder: Path) -> bool:
    """Whether any image file is under ``folder`` (stops at the first one found)."""
    for _, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS for f in files):
            return True
    return False


def _is_official_split(name: str, split: str) -> bool:
    """``trainA``, ``testB``: the split followed by one capital letter (not ``train_old`` or ``trainval``)."""
    return len(name) == len(split) + 1 and name.startswith(split) and name[-1].isupper()


GENERATED_DATASETS = {"fruit": "datasets/make_fruit.py", "fruit_basket": "datasets/make_fruit_basket.py"}


def missing_root_message(root: Path) -> str:
    """The error for a missing dataset folder, with the command that makes this one where there is one."""
    if root.name in GENERATED_DATASETS:
        fix = f"`python {GENERATED_DATASETS[root.name]} --root {root}` generates it (no network)"
    elif root.name in CYCLEGAN_DATASETS:
        fix = f"`translate data download {root.name} --root {root.parent}` gets it"
    else:
        fix = "point data.root at your images, or `translate data download NAME` gets a standard CycleGAN dataset"
    return f"dataset root not found: {root}; {fix} ({LAYOUTS})"


def discover_domains(root: str | Path) -> list[str]:
    """Domain names from a dataset folder's layout, in the order batches and labels use.

    Folder per domain: the sorted names of the sub-folders of ``root/train`` that hold images (``root/test`` when
    there is no train split). Official CycleGAN layout: the letters of ``root/trainA``, ``root/trainB``, ... (so
    ``[A, B]``), images or not. Raises one line naming ``root`` when it is missing or holds fewer than two domains.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(missing_root_message(root))
    for split in ("train", "test"):
        folder = root / split
        if folder.is_dir():
            names = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
            found = [name for name in names if _holds_images(folder / name)]
            if len(found) >= 2:
                return found
        # official layout: trainA, trainB (, trainC ...) are the domains even when one holds no images yet, so that
        # the data module's error names that folder rather than saying no layout was found
        found = sorted(d.name[len(split) :] for d in root.iterdir() if d.is_dir() and _is_official_split(d.name, split))
        if len(found) >= 2:
            return found
    raise ValueError(
        f"found no two domain folders with images under {root}: expected {root}/train/<domain>/ (one folder per "
        f"domain) or {root}/trainA, {root}/trainB (official CycleGAN layout), or set data.domains; {LAYOUTS}"
    )


def read_image(path: Path, channels: int = 3) -> np.ndarray:
    """Decode an image as (H, W, channels) uint8, upright per its EXIF orientation.

    Every PIL mode is accepted: grayscale becomes RGB and colour becomes luminance as ``channels`` asks, palette and
    CMYK images are converted, alpha is dropped (as the official CycleGAN's ``convert('RGB')`` does), and 16-bit or
    float images are scaled to 8 bits rather than clipped.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I", "F") or image.mode.startswith("I;16"):
            image = _to_8bit(image)
        pixels = np.array(image.convert("L" if channels == 1 else "RGB"))  # a writable copy, as torch wants
    return pixels[..., None] if channels == 1 else pixels


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


def default_transforms(load_size: int, crop_size: int) -> tuple[A.Compose, A.Compose]:
    """The official CycleGAN pipelines: train resizes to ``load_size``, random-crops ``crop_size`` and flips;
    eval resizes to ``crop_size``. Bicubic like the official code, but area-averaged when shrinking (PIL's bicubic
    antialiases there, OpenCV's does not)."""
    resize = {"interpolation": cv2.INTER_CUBIC, "area_for_downscale": "image"}
    train = A.Compose(
        [A.Resize(load_size, load_size, **resize), A.RandomCrop(crop_size, crop_size), A.HorizontalFlip()]
    )
    return train, A.Compose([A.Resize(crop_size, crop_size, **resize)])


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


class DomainFolder(Dataset):
    """The images of one domain folder: decoded, transformed, as (C, H, W) float32 tensors in [-1, 1].

    Files whose header cannot be read (not an image, empty, random bytes) are left out when the folder is opened,
    with one warning naming each and one summary count; a file that fails later, while decoding (truncated), is
    skipped with one warning and the next image takes its place (deterministically, so resumes stay exact).
    ``bad_images="fail"`` raises instead. Images smaller than ``min_size`` on a side are resized up to it (one
    warning per folder naming them), so crops always fit.
    """

    def __init__(
        self,
        folder: Path,
        transform: Transform | None = None,
        *,
        channels: Literal[1, 3] = 3,
        bad_images: BadImages = "skip",
        min_size: int = 1,
    ):
        if bad_images not in ("skip", "fail"):
            raise ValueError(f"bad_images must be 'skip' or 'fail', got {bad_images!r}")
        self.folder = Path(folder)
        self.transform = transform
        self.channels = channels
        self.bad_images = bad_images
        self.min_size = min_size
        self.skipped: set[Path] = set()  # in this process (each loader worker keeps its own)
        self.paths = self._readable(find_images(self.folder))

    def _readable(self, paths: list[Path]) -> list[Path]:
        """The paths whose image header can be read (about 0.03 ms a file); warns about the rest and small images."""
        readable, small = [], []
        for path in paths:
            try:
                with Image.open(path) as image:  # reads the header only
                    width, height = image.size
            except Exception as error:  # noqa: BLE001 (any decoder failure: skipped or reported by name)
                self._bad(path, error)
                continue
            readable.append(path)
            if min(width, height) < self.min_size:
                small.append(f"{path.name} ({width}x{height})")
        if not readable:
            raise ValueError(
                f"none of the {len(paths)} image files under {self.folder} can be decoded (first: {paths[0]}); "
                "replace them"
            )
        if len(readable) < len(paths):
            warnings.warn(
                f"skipped {len(paths) - len(readable)} of {len(paths)} images under {self.folder}: they cannot be "
                "decoded (each is named above)",
                stacklevel=3,
            )
        if small:
            names = ", ".join(small[:5]) + (", ..." if len(small) > 5 else "")
            warnings.warn(
                f"{len(small)} of {len(readable)} images under {self.folder} are smaller than crop_size "
                f"{self.min_size} and are resized up (blurry): {names}",
                stacklevel=3,
            )
        return readable

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Tensor:
        for offset in range(len(self.paths)):
            path = self.paths[(index + offset) % len(self.paths)]
            try:
                image = read_image(path, self.channels)  # (H, W, C) uint8
            except Exception as error:  # noqa: BLE001 (any decoder failure: skipped or reported by name)
                self._bad(path, error)
                continue
            image = self._at_least_min_size(image)
            if self.transform is not None:
                image = self.transform(image=image)["image"]
            return to_tensor(image)
        raise ValueError(f"no image under {self.folder} can be decoded; check the files or point data.root elsewhere")

    def _at_least_min_size(self, image: np.ndarray) -> np.ndarray:
        """Resize up (keeping the aspect ratio) so that the shorter side is ``min_size``: a crop must fit."""
        height, width = image.shape[:2]
        if min(height, width) >= self.min_size:
            return image
        scale = self.min_size / min(height, width)
        size = (max(self.min_size, round(width * scale)), max(self.min_size, round(height * scale)))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
        return resized[..., None] if resized.ndim == 2 else resized  # OpenCV drops a single channel axis

    def _bad(self, path: Path, error: Exception) -> None:
        reason = f"{type(error).__name__}: {error}"
        if self.bad_images == "fail":
            raise UndecodableImageError(f"cannot decode {path} ({reason}); remove it, or set data.bad_images: skip")
        if path not in self.skipped:
            self.skipped.add(path)
            warnings.warn(f"skipping {path}: cannot decode it ({reason})", stacklevel=2)


class UnpairedDataset(Dataset):
    """One image per domain per item: indexed by a tuple of per-domain indices (from ``UnpairedSampler``) when
    training, or by an int ``i`` giving the deterministic pairs ``i % len(domain)`` when evaluating."""

    def __init__(self, folders: Sequence[DomainFolder]):
        self.folders = list(folders)

    def __len__(self) -> int:
        return max(len(folder) for folder in self.folders)

    def __getitem__(self, index: "int | SampleIndex") -> tuple[Tensor, ...]:
        if isinstance(index, SampleIndex):
            self.reseed(index.seed)  # augmentations are a function of the item: same for any worker count or resume
            index = index.indices
        else:
            index = tuple(int(index) % len(folder) for folder in self.folders)
        return tuple(folder[i] for folder, i in zip(self.folders, index, strict=True))

    def reseed(self, seed: int) -> None:
        """Give the augmentations a fresh random stream (one per domain; a shared transform takes the last)."""
        for offset, folder in enumerate(self.folders):
            # One generator for the whole pipeline: albumentations' set_random_seed gives every child transform the
            # same seed, which correlates e.g. the crop offset with the flip.
            if hasattr(folder.transform, "set_random_state"):
                folder.transform.set_random_state(np.random.default_rng(seed + offset), random.Random(seed + offset))


class SampleIndex(NamedTuple):
    """One training item: an image index per domain, and the seed of its augmentations."""

    indices: tuple[int, ...]
    seed: int


class UnpairedSampler(DistributedSampler):
    """Per-domain index tuples for an epoch of ``max(sizes)`` items, drawn as the official CycleGAN does.

    The first domain is visited in a shuffled order (every image at least once per epoch), the others at random. Each
    item also carries its augmentation seed. Everything depends only on ``seed``, the epoch and the position, and is
    drawn in the main process, so it is the same for any ``num_workers`` and can be resumed mid-epoch (``skip``).

    It shards the epoch itself (``num_replicas``, ``rank``; padded by wrapping, as torch's DistributedSampler), and
    subclasses DistributedSampler only so that Lightning doesn't wrap it again: the wrapper would hide ``skip``.
    """

    def __init__(self, sizes: Sequence[int], seed: int = 0, *, num_replicas: int = 1, rank: int = 0):
        if len(sizes) < 1 or min(sizes) < 1:
            raise ValueError(f"every domain needs at least one image, got sizes {list(sizes)}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        # DistributedSampler.__init__ is skipped on purpose: it needs a dataset and an initialised process group.
        self.sizes, self.seed, self.epoch = tuple(sizes), seed, 0
        self.num_replicas, self.rank = num_replicas, rank
        self.total = max(self.sizes)
        self.num_samples = -(-self.total // num_replicas)  # per rank
        self._skip: tuple[int, int] | None = None  # (epoch, items) to leave out of that epoch after a resume

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip(self, epoch: int, items: int) -> None:
        """Leave out this rank's first ``items`` items of ``epoch`` (already trained before an interruption)."""
        self._skip = (epoch, items)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[SampleIndex]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        first = torch.randperm(self.total, generator=generator) % self.sizes[0]
        others = [torch.randint(size, (self.total,), generator=generator) for size in self.sizes[1:]]
        seeds = torch.randint(2**31, (self.total,), generator=generator)
        rows = list(zip(*(column.tolist() for column in (first, *others)), strict=True))
        positions = [i % self.total for i in range(self.rank, self.num_samples * self.num_replicas, self.num_replicas)]
        start = 0
        if self._skip is not None:
            # Keyed by epoch, not one-shot: worker loaders start iterating before Lightning sets the resumed epoch.
            if self._skip[0] == self.epoch:
                start = self._skip[1]
            elif self._skip[0] < self.epoch:
                self._skip = None
        return iter([SampleIndex(rows[i], int(seeds[i])) for i in positions[start:]])


def read_attributes(attr_file: Path, attrs: Sequence[str]) -> tuple[list[str], Tensor]:
    """A CelebA-style attribute file (``list_attr_celeba.txt``): an optional image-count line, a line of attribute
    names, then one line per image: its file name and +1/-1 per attribute. Returns the names and (N, len(attrs))
    0/1 labels of ``attrs``, in that order."""
    lines = [line.split() for line in Path(attr_file).read_text().splitlines() if line.strip()]
    if lines and len(lines[0]) == 1 and lines[0][0].isdigit():
        lines = lines[1:]  # the image count
    if not lines:
        raise ValueError(f"attribute file {attr_file} is empty")
    header = lines[0]
    missing = [a for a in attrs if a not in header]
    if missing:
        raise ValueError(f"attributes {missing} not in {attr_file}; it has {header}")
    columns = [header.index(a) + 1 for a in attrs]  # +1: the file name comes first
    names = [row[0] for row in lines[1:]]
    labels = torch.tensor([[float(row[c] == "1") for c in columns] for row in lines[1:]])
    return names, labels


class AttributeImages(Dataset):
    """Images with multi-label 0/1 attribute vectors: items are (image (C, H, W) in [-1, 1], labels (K,))."""

    def __init__(self, paths: Sequence[Path], labels: Tensor, transform: Transform | None, *, channels: int = 3):
        self.paths, self.labels, self.transform, self.channels = list(paths), labels, transform, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: "int | SampleIndex") -> tuple[Tensor, Tensor]:
        if isinstance(index, SampleIndex):
            if hasattr(self.transform, "set_random_state"):
                self.transform.set_random_state(np.random.default_rng(index.seed), random.Random(index.seed))
            index = index.indices[0]
        image = read_image(self.paths[index], self.channels)
        if self.transform is not None:
            image = self.transform(image=image)["image"]
        return to_tensor(image), self.labels[index]


def collate_domains(batch: list[tuple[Tensor, ...]]) -> tuple[Tensor, ...]:
    """B items of one image per domain -> one (B, C, H, W) tensor per domain, as a tuple."""
    return tuple(torch.stack(images) for images in zip(*batch, strict=True))


def _init_worker(worker_id: int) -> None:
    # torch already runs one thread per worker; OpenCV (albumentations) would start a pool per process otherwise.
    cv2.setNumThreads(1)


def _available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class UnpairedDataModule(LightningDataModule):
    """Unpaired image domains; each batch is a tuple of one (B, C, H, W) tensor in [-1, 1] per domain, so a batch
    holds ``batch_size`` images of every domain (``batch_size`` x number of domains images in all).

    Folders come from ``root``, in the official CycleGAN layout (``root/trainA``, ``root/testA``, ...) or one folder
    per domain (``root/train/A``, ``root/test/A``), or are listed in ``train_dirs`` / ``val_dirs``, which take
    precedence over ``root``. The test folders are the validation data, and the test data of ``translate test``;
    without any, validation is skipped. An epoch has as many items as the largest domain: the first domain in a
    shuffled order, the others drawn at random.

    Args:
        root: Dataset folder holding the train and test folders.
        domains: Domain names in batch order; under ``root`` they name ``train{domain}`` or ``train/{domain}``.
            None: found under ``root`` (``discover_domains``: the sorted folder names, or A, B for trainA/trainB);
            A, B, ... with ``train_dirs``. Required with ``attr_file``, where they are attribute names.
        train_dirs: One training folder per domain, in ``domains`` order, instead of ``root``.
        val_dirs: One validation folder per domain, instead of ``root``'s test folders.
        load_size: Side the default training pipeline resizes to before its random ``crop_size`` crop.
        crop_size: Side of the images the model sees; evaluation resizes straight to it.
        channels: 3 for RGB, 1 for grayscale; every image is converted.
        train_transform: albumentations pipeline replacing the default training one (resize, crop, flip). It maps an
            (H, W, C) uint8 image to a fixed size and must not normalise: scaling to [-1, 1] happens afterwards.
        eval_transform: Replaces the default evaluation pipeline (resize to ``crop_size``); same contract.
        batch_size: Items per batch, per domain: each item is one image of each domain (with ``attr_file``: one
            image).
        num_workers: Loader processes; None picks min(4, available CPU cores).
        seed: Seeds the epoch order (``seed + epoch``) and the augmentations.
        attr_file: Multi-label data instead of domain folders: a CelebA-style attribute file whose ``domains``
            columns become the labels (StarGAN's ``selected_attrs``); images are under ``root/images`` or ``root``.
            Batches are then (images (B, C, H, W), labels (B, len(domains))).
        val_count: With ``attr_file``: images held out for validation (official StarGAN: 2000, after a shuffle
            with seed 1234).
        bad_images: ``skip`` files that cannot be decoded (one warning each and a count per folder; the next image
            takes their place) or ``fail`` on the first one. Images smaller than ``crop_size`` are resized up to it,
            with a warning naming them.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        domains: Sequence[str] | None = None,
        train_dirs: Sequence[Path] | None = None,
        val_dirs: Sequence[Path] | None = None,
        load_size: int = 286,
        crop_size: int = 256,
        channels: Literal[1, 3] = 3,
        train_transform: A.BaseCompose | A.BasicTransform | None = None,
        eval_transform: A.BaseCompose | A.BasicTransform | None = None,
        batch_size: int = 1,
        num_workers: int | None = None,
        seed: int = 0,
        attr_file: Path | None = None,
        val_count: int = 2000,
        bad_images: BadImages = "skip",
    ):
        super().__init__()
        self.save_hyperparameters()
        self._domains = self._given_domains(domains, root, train_dirs, attr_file)  # None: found under root when used
        sizes = {"load_size": load_size, "crop_size": crop_size, "batch_size": batch_size}
        self._check_arguments(root, train_dirs, val_dirs, channels, sizes)
        if train_transform is None and load_size < crop_size:
            raise ValueError(f"load_size ({load_size}) must be >= crop_size ({crop_size}): training crops from it")
        self.root = None if root is None else Path(root)
        self.train_dirs = None if train_dirs is None else [Path(d) for d in train_dirs]
        self.val_dirs = None if val_dirs is None else [Path(d) for d in val_dirs]
        self.channels = channels
        default_train, default_eval = default_transforms(load_size, crop_size)
        self.train_transform = default_train if train_transform is None else train_transform
        self.eval_transform = default_eval if eval_transform is None else eval_transform
        self.batch_size, self.crop_size = batch_size, crop_size
        self.num_workers = min(4, _available_cpus()) if num_workers is None else num_workers
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0 (0 loads in the main process), got {num_workers}")
        self.seed, self.bad_images = seed, bad_images
        self.attr_file, self.val_count = (None if attr_file is None else Path(attr_file)), val_count
        self.train_set: UnpairedDataset | AttributeImages | None = None
        self.val_set: UnpairedDataset | AttributeImages | None = None
        self._val_resolved = False
        self._preview_set: UnpairedDataset | None = None
        self._resume_position: tuple[int, int] | None = None

    @property
    def domains(self) -> list[str]:
        """Domain names in batch order: as given, or found under ``root`` on first use (``discover_domains``), so that
        building the module (a config being parsed, ``--print_config``) needs no data on disk yet."""
        if self._domains is None:
            self._domains = discover_domains(self.root)
        return self._domains

    @staticmethod
    def _given_domains(
        domains: Sequence[str] | None, root: Path | None, train_dirs: Sequence[Path] | None, attr_file: Path | None
    ) -> list[str] | None:
        if domains is not None:
            return [str(domain) for domain in domains]
        if attr_file is not None:
            raise ValueError("data.attr_file needs data.domains: the attribute names to use as labels, in order")
        if train_dirs is not None:
            return [chr(ord("A") + i) for i in range(len(train_dirs))]
        return None  # root's folder names, on first use (or the error below when there is no root either)

    def _check_arguments(
        self,
        root: Path | None,
        train_dirs: Sequence[Path] | None,
        val_dirs: Sequence[Path] | None,
        channels: int,
        sizes: dict[str, int],
    ) -> None:
        given = self._domains
        if given is not None and (len(given) < 2 or len(set(given)) != len(given)):
            raise ValueError(f"domains must be two or more distinct names, got {given}")
        if root is None and train_dirs is None:
            raise ValueError(
                f"set data.root to a dataset folder or data.train_dirs to one folder per domain; {LAYOUTS}"
            )
        for name, dirs in (("train_dirs", train_dirs), ("val_dirs", val_dirs)):
            if dirs is not None and given is not None and len(dirs) != len(given):
                raise ValueError(
                    f"{name} has {len(dirs)} folders but domains has {len(given)} names {given}; "
                    f"give one folder per domain, in domains order"
                )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
        if min(sizes.values()) < 1:
            raise ValueError(f"load_size, crop_size and batch_size must be >= 1, got {sizes}")

    def setup(self, stage: str) -> None:
        """Find the images (once); decoding happens later, in the loader workers."""
        if self.attr_file is not None:
            if self.train_set is None:
                self._setup_attributes()
            return
        if stage == "fit" and self.train_set is None:
            self.train_set = self._dataset(self._folders("train"), self.train_transform)
        if stage in ("fit", "validate", "test") and not self._val_resolved:
            folders = self._folders("test")
            self.val_set = None if folders is None else self._dataset(folders, self.eval_transform)
            self._val_resolved = True

    def _setup_attributes(self) -> None:
        if self.root is None:
            raise ValueError("data.attr_file needs data.root, the folder of the images (or of images/)")
        names, labels = read_attributes(self.attr_file, self.domains)
        folder = self.root / "images" if (self.root / "images").is_dir() else self.root
        order = list(range(len(names)))
        random.Random(1234).shuffle(order)  # the official split: a fixed shuffle, the first images held out
        val, train = order[: self.val_count], order[self.val_count :]
        if not train:
            raise ValueError(f"{self.attr_file} lists {len(names)} images, all held out by val_count={self.val_count}")
        paths = [folder / name for name in names]

        def subset(rows: list[int], transform: Transform) -> AttributeImages:
            return AttributeImages([paths[i] for i in rows], labels[rows], transform, channels=self.channels)

        self.train_set = subset(train, self.train_transform)
        self.val_set = subset(val, self.eval_transform) if val else None
        self._val_resolved = True

    def _folders(self, split: Literal["train", "test"]) -> list[Path] | None:
        """One folder per domain for ``split``, or None for a test split that isn't there (no validation)."""
        explicit = self.train_dirs if split == "train" else self.val_dirs
        if explicit is not None:
            if len(explicit) != len(self.domains):  # domains found under root only now
                name = "data.train_dirs" if split == "train" else "data.val_dirs"
                raise ValueError(
                    f"{name} has {len(explicit)} folders but the domains are {self.domains}: give one each"
                )
            return explicit  # DomainFolder names any missing one
        if self.root is None:
            return None  # train_dirs without val_dirs
        if not self.root.is_dir():
            raise FileNotFoundError(missing_root_message(self.root))
        candidates = {d: (self.root / f"{split}{d}", self.root / split / d) for d in self.domains}
        found = {d: next((p for p in paths if p.is_dir()), None) for d, paths in candidates.items()}
        missing = [d for d, path in found.items() if path is None]
        if split == "test" and len(missing) == len(self.domains):
            return None
        if missing:
            official, per_domain = candidates[missing[0]]
            raise FileNotFoundError(
                f"no {split} folder for domain {missing[0]!r} (domains: {self.domains}): expected {official} "
                f"(official CycleGAN layout) or {per_domain} (folder per domain)"
            )
        return list(found.values())

    def _dataset(self, folders: list[Path], transform: Transform) -> UnpairedDataset:
        try:
            return UnpairedDataset(
                [
                    DomainFolder(
                        f, transform, channels=self.channels, bad_images=self.bad_images, min_size=self.crop_size
                    )
                    for f in folders
                ]
            )
        except UndecodableImageError:
            raise
        except ValueError as error:  # an empty folder: say how to fix it
            raise ValueError(
                f"{error}; put the domain's images there or point data.root elsewhere ({LAYOUTS})"
            ) from None

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")  # no-op under a Trainer; lets notebooks call the loaders directly
        trainer = self.trainer  # None outside a Trainer
        sizes = [len(self.train_set)] if self.attr_file is not None else [len(f) for f in self.train_set.folders]
        sampler = UnpairedSampler(
            sizes,
            seed=self.seed,
            num_replicas=trainer.world_size if trainer is not None else 1,
            rank=trainer.global_rank if trainer is not None else 0,
        )
        # Worker processes fetch indices as soon as the loader's iterator exists, which Lightning creates before it
        # calls set_epoch: start the sampler at the epoch that will actually be trained.
        sampler.set_epoch(trainer.current_epoch if trainer is not None else 0)
        if self._resume_position is not None:  # restored by load_state_dict before Lightning asks for the loader
            epoch, batches = self._resume_position
            if batches * self.batch_size >= len(sampler):  # saved after the epoch's last batch: next epoch, whole
                sampler.set_epoch(epoch + 1)
            else:
                sampler.set_epoch(epoch)
                sampler.skip(epoch, batches * self.batch_size)
            self._resume_position = None
        return self._loader(self.train_set, sampler)

    def state_dict(self) -> dict[str, Any]:
        """Where training stands in the epoch, so that a resumed run draws exactly the batches that were left."""
        trainer = self.trainer  # None outside a Trainer
        if trainer is None:
            return {}
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        return {"epoch": trainer.current_epoch, "batches_done": progress.processed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "epoch" in state_dict:
            self._resume_position = (state_dict["epoch"], state_dict["batches_done"])

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        self.setup("validate")
        # Lightning counts no validation batches for an empty list and skips validation (and the sanity check).
        return [] if self.val_set is None else self._loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        """The validation data (the test folders, or the held-out ``val_count`` images), for ``translate test``."""
        self.setup("test")
        if self.val_set is None:
            raise FileNotFoundError(self._no_test_data_message())
        return self._loader(self.val_set)

    def _no_test_data_message(self) -> str:
        if self.attr_file is not None:
            return f"no test images: data.val_count is {self.val_count}; set it above 0 to hold images out for testing"
        if self.root is None:
            return "no test folders: data.train_dirs is set without data.val_dirs; pass data.val_dirs (one per domain)"
        expected = ", ".join(f"{self.root / f'test{d}'} or {self.root / 'test' / d}" for d in self.domains)
        return f"no test folders: none of {expected} exists; add them (one per domain) or pass data.val_dirs"

    def _loader(self, dataset: UnpairedDataset, sampler: UnpairedSampler | None = None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate_domains,
            pin_memory=torch.cuda.is_available(),
            worker_init_fn=_init_worker if self.num_workers > 0 else None,
            persistent_workers=self.num_workers > 0,
        )

    def sample_batch(self, n: int = 4) -> tuple[Tensor, ...]:
        """A fixed batch of ``n`` un-augmented images per domain, the same at every call: evenly spaced validation
        images, or training images through the evaluation transform when there is no validation data."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.setup("validate")
        if self.attr_file is not None:  # (images, labels), from validation or else training images
            dataset = self.val_set if self.val_set is not None else self.train_set
            return collate_domains([dataset[i * len(dataset) // n] for i in range(n)])
        if self.val_set is not None:
            dataset = self.val_set
        else:
            if self._preview_set is None:
                self._preview_set = self._dataset(self._folders("train"), self.eval_transform)
            dataset = self._preview_set
        return tuple(torch.stack([folder[i * len(folder) // n] for i in range(n)]) for folder in dataset.folders)
