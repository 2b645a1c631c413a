"""torch Datasets of unpaired domains: one folder, one image per domain per item, attribute-labelled images,
aligned pairs, and the sampler that makes epochs and resume exact.

Epoch length and pairing follow the official CycleGAN (Zhu et al. 2017, ``data/unaligned_dataset.py``); aligned pairs
the official pix2pix (Isola et al. 2017, ``data/aligned_dataset.py``).
"""

import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import albumentations as A
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
            image = resize_up(image, self.min_size)
            if self.transform is not None:
                image = self.transform(image=image)["image"]
            return to_tensor(image)
        raise ValueError(
            f"no image under {self.folder} can be decoded; check the files or point data.source.root elsewhere"
        )

    def _bad(self, path: Path, error: Exception) -> None:
        report_bad_image(path, error, self.bad_images, self.skipped)


def report_bad_image(path: Path, error: Exception, bad_images: BadImages, skipped: set[Path]) -> None:
    """Raise for ``bad_images="fail"``; else warn once per file (``skipped``: the files warned about)."""
    reason = f"{type(error).__name__}: {error}"
    if bad_images == "fail":
        raise UndecodableImageError(f"cannot decode {path} ({reason}); remove it, or set data.bad_images: skip")
    if path not in skipped:
        skipped.add(path)
        warnings.warn(f"skipping {path}: cannot decode it ({reason})", stacklevel=3)


def resize_up(image: np.ndarray, min_size: int) -> np.ndarray:
    """Resize up (keeping the aspect ratio) so that the shorter side is ``min_size``: a crop must fit."""
    height, width = image.shape[:2]
    if min(height, width) >= min_size:
        return image
    scale = min_size / min(height, width)
    size = (max(min_size, round(width * scale)), max(min_size, round(height * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    return resized[..., None] if resized.ndim == 2 else resized  # OpenCV drops a single channel axis


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
            for offset, folder in enumerate(self.folders):  # a stream per domain (a shared transform takes the last)
                prepare_augmentations(folder.transform, index.seed + offset, index.epoch)
            index = index.indices
        else:
            index = tuple(int(index) % len(folder) for folder in self.folders)
        return tuple(folder[i] for folder, i in zip(self.folders, index, strict=True))


def prepare_augmentations(transform: Transform | None, seed: int, epoch: int) -> None:
    """Give ``transform`` the item's random stream and epoch, so that augmentations are a function of the item: the
    same for any worker count or resume. The epoch reaches a pipeline that changes with it (``SwitchAtEpoch``)."""
    # One generator for the whole pipeline: albumentations' set_random_seed gives every child transform the same
    # seed, which correlates e.g. the crop offset with the flip.
    if hasattr(transform, "set_random_state"):
        transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
    if hasattr(transform, "set_epoch"):
        transform.set_epoch(epoch)


class SampleIndex(NamedTuple):
    """One training item: an image index per domain, the seed of its augmentations and its epoch (which may change
    them: ``SwitchAtEpoch``)."""

    indices: tuple[int, ...]
    seed: int
    epoch: int = 0


class UnpairedSampler(DistributedSampler):
    """Per-domain index tuples for an epoch of ``max(sizes)`` items, drawn as the official CycleGAN does.

    The first domain is visited in a shuffled order (every image at least once per epoch), the others at random. Each
    item also carries its augmentation seed and its epoch. Everything depends only on ``seed``, the epoch and the
    position, and is drawn in the main process, so it is the same for any ``num_workers`` and can be resumed mid-epoch
    (``skip``).

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
        return iter([SampleIndex(rows[i], int(seeds[i]), self.epoch) for i in positions[start:]])


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
            prepare_augmentations(self.transform, index.seed, index.epoch)
            index = index.indices[0]
        image = read_image(self.paths[index], self.channels)
        if self.transform is not None:
            image = self.transform(image=image)["image"]
        return to_tensor(image), self.labels[index]


Pair = tuple[Path, Path] | Path  # an (A file, B file) pair of one size, or one A|B file (A left, B right)


class PairedImages(Dataset):
    """Aligned pairs: items are (real_a, real_b), (C, H, W) tensors in [-1, 1] from one transform call, so both get
    the same resize, crop and flip (albumentations ``additional_targets``, as the official pix2pix's shared params).

    An entry of ``pairs`` is an (A, B) pair of files of one size, or one A|B file of even width whose left half is A
    (official pix2pix). ``reverse`` gives (B, A) items (pix2pix ``--direction BtoA``). Files whose header cannot be
    read and decoding failures are handled as ``DomainFolder`` does; halves smaller than ``min_size`` are resized up.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        transform: Transform | None,
        *,
        channels: Literal[1, 3] = 3,
        reverse: bool = False,
        bad_images: BadImages = "skip",
        min_size: int = 1,
    ):
        if isinstance(transform, A.BaseCompose):
            transform.add_targets({"image_b": "image"})
        elif transform is not None:
            transform = A.Compose([transform], additional_targets={"image_b": "image"})
        self.transform, self.channels, self.reverse, self.min_size = transform, channels, reverse, min_size
        self.bad_images, self.skipped = bad_images, set()  # skipped: in this process, as DomainFolder's
        self.pairs = [pair for pair in pairs if self._readable(pair)]
        if not self.pairs:
            raise ValueError(f"none of the {len(pairs)} image pairs can be decoded (first: {pairs[0]}); replace them")

    def _readable(self, pair: Pair) -> bool:
        """Whether the pair's headers read; raises one line for an odd-width A|B file or a pair of two sizes."""
        sizes = []
        for path in (pair,) if isinstance(pair, Path) else pair:
            try:
                with Image.open(path) as image:  # reads the header only
                    sizes.append(image.size)
            except Exception as error:  # noqa: BLE001 (any decoder failure: skipped or reported by name)
                report_bad_image(path, error, self.bad_images, self.skipped)
                return False
        if isinstance(pair, Path) and sizes[0][0] % 2:
            raise ValueError(
                f"{pair} is {sizes[0][0]}x{sizes[0][1]}: an aligned A|B image needs an even width (A the left half, "
                "B the right); pad or crop it by one column"
            )
        if len(sizes) == 2 and sizes[0] != sizes[1]:
            (wa, ha), (wb, hb) = sizes
            raise ValueError(
                f"{pair[0]} is {wa}x{ha} but its pair {pair[1]} is {wb}x{hb}; resize one so that the pair has one size"
            )
        return True

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def sizes(self) -> list[int]:
        return [len(self)]  # one "domain" of pairs: UnpairedSampler visits each once per epoch, shuffled

    def preview(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` evenly spaced pairs: the same at every call."""
        return collate_domains([self[i * len(self) // n] for i in range(n)])

    def __getitem__(self, index: "int | SampleIndex") -> tuple[Tensor, Tensor]:
        if isinstance(index, SampleIndex):
            prepare_augmentations(self.transform, index.seed, index.epoch)  # one stream for both halves: they match
            index = index.indices[0]
        for offset in range(len(self.pairs)):  # a pair that fails to decode: the next one takes its place
            pair = self.pairs[(index + offset) % len(self.pairs)]
            try:
                image_a, image_b = self._read(pair)
            except Exception as error:  # noqa: BLE001 (any decoder failure: skipped or reported by name)
                report_bad_image(pair if isinstance(pair, Path) else pair[0], error, self.bad_images, self.skipped)
                continue
            if self.transform is not None:
                out = self.transform(image=image_a, image_b=image_b)
                image_a, image_b = out["image"], out["image_b"]
            real_a, real_b = to_tensor(image_a), to_tensor(image_b)
            return (real_b, real_a) if self.reverse else (real_a, real_b)
        raise ValueError(f"no image pair can be decoded (first: {self.pairs[0]}); check the files")

    def _read(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(pair, Path):
            image = read_image(pair, self.channels)
            half = image.shape[1] // 2
            image_a, image_b = np.ascontiguousarray(image[:, :half]), np.ascontiguousarray(image[:, half:])
        else:
            image_a, image_b = (read_image(path, self.channels) for path in pair)
        return resize_up(image_a, self.min_size), resize_up(image_b, self.min_size)


def collate_domains(batch: list[tuple[Tensor, ...]]) -> tuple[Tensor, ...]:
    """B items of one image per domain -> one (B, C, H, W) tensor per domain, as a tuple."""
    return tuple(torch.stack(images) for images in zip(*batch, strict=True))


def init_loader_worker(worker_id: int) -> None:
    # torch already runs one thread per worker; OpenCV (albumentations) would start a pool per process otherwise.
    cv2.setNumThreads(1)
