"""torch Datasets of unpaired domains: one folder, one image per domain per item, attribute-labelled images,
and the sampler that makes epochs and resume exact.

Epoch length and pairing follow the official CycleGAN (Zhu et al. 2017, ``data/unaligned_dataset.py``).
"""

import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import cv2
import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, DistributedSampler

from translate.data.images import BadImages, UndecodableImageError, find_images, read_image, to_tensor

Transform = Callable[..., dict[str, Any]]  # albumentations' call convention: transform(image=array)["image"]


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

    @property
    def sizes(self) -> list[int]:
        """Images per domain (``UnpairedSampler`` draws from each)."""
        return [len(folder) for folder in self.folders]

    def preview(self, n: int) -> tuple[Tensor, ...]:
        """``n`` evenly spaced images per domain, one (n, C, H, W) tensor each: the same at every call."""
        return tuple(torch.stack([folder[i * len(folder) // n] for i in range(n)]) for folder in self.folders)

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
    ``epoch_source`` (the data module passes the trainer's ``current_epoch``) gives the epoch when iteration starts,
    at least ``start_epoch``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int = 0,
        *,
        num_replicas: int = 1,
        rank: int = 0,
        epoch_source: Callable[[], int] | None = None,
        start_epoch: int = 0,
    ):
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
        self.epoch_source, self.start_epoch = epoch_source, start_epoch

    def set_epoch(self, epoch: int) -> None:
        """The epoch to draw (ignored when ``epoch_source`` gives it)."""
        self.epoch = epoch

    def skip(self, epoch: int, items: int) -> None:
        """Leave out this rank's first ``items`` items of ``epoch`` (already trained before an interruption)."""
        self._skip = (epoch, items)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[SampleIndex]:
        if self.epoch_source is not None:
            # A loader with workers starts iterating before a resumed trainer has moved on to the epoch it resumes:
            # never draw an epoch before start_epoch, the one the data module knows the run continues with.
            self.epoch = max(self.start_epoch, self.epoch_source())
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

    @property
    def sizes(self) -> list[int]:
        return [len(self)]

    def preview(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` evenly spaced (images, labels): the same at every call."""
        return collate_domains([self[i * len(self) // n] for i in range(n)])

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


def init_loader_worker(worker_id: int) -> None:
    # torch already runs one thread per worker; OpenCV (albumentations) would start a pool per process otherwise.
    cv2.setNumThreads(1)
