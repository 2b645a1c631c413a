"""Where a data module's images come from, as classes a config injects (``data.source: {class_path, init_args}``):
one folder per domain (the official CycleGAN layout, a folder per domain, or folders given by path) and a
CelebA-style attribute file here; paired images in ``translate.data.paired``; the noise models' folders in
``translate.data.image_folder``.

Every source implements ``DataSource``: what its items are (``yields``), the names in batch or label order
(``domains``), its image channels, and the datasets of each split. The data module, ``translate eval``, the CLI and
the benchmarks ask a source these instead of checking its class.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from torch import Tensor
from torch.utils.data import Dataset

from translate.data.datasets import AttributeImages, DomainFolder, Transform, UnpairedDataset, read_attributes
from translate.data.images import BadImages, UndecodableImageError
from translate.data.layouts import LAYOUTS, discover_domains, missing_root_message

Yields = Literal["domains", "labels", "pairs", "images", "classes"]


class ImageSet(Protocol):
    """What a source's datasets are: items indexed by an int (evaluation) or by ``UnpairedSampler``'s
    ``SampleIndex`` (training), ``sizes`` to draw from, and ``preview`` for the sample grids."""

    @property
    def sizes(self) -> list[int]: ...

    def preview(self, n: int) -> tuple[Tensor, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index): ...


@dataclass(frozen=True)
class TestImages:
    """A test split column by column, for scoring translations (``translate eval``): one dataset of (C, H, W)
    images per name of ``DataSource.domains``, in that order, and each one's files where its images are whole files
    (None for the halves of pairs, which have no file of their own)."""

    images: list[Dataset]
    files: list[list[Path]] | None


class DataSource:
    """Where images come from, and what they are. A data module builds every split from its source and states, from
    ``yields``, ``domains`` and ``channels``, what the model gets (``DataSpec``).

    ``yields`` is what an item (and a batch, stacked) is:

    - ``domains``: one image of every domain, a tuple in ``domains`` order (CycleGAN, StarGAN on folders);
    - ``labels``: (image, 0/1 vector over ``domains``) (StarGAN on an attribute file);
    - ``pairs``: (input, target) of one scene, ``domains`` naming both in that order (pix2pix);
    - ``images``: (image,), ``domains`` empty (the noise models);
    - ``classes``: (image, class index into ``domains``) (the conditional noise models).

    Constructors only store and check their arguments: the CLI builds a source while parsing a config (to learn a
    model's domains), before any data needs to exist. ``min_size`` (the data module's ``crop_size``) is the side
    smaller images are resized up to.
    """

    yields: Yields = "domains"
    channels: int = 3
    root: Path | None = None  # the dataset folder, where there is one (reports name it)
    validates: bool = True  # False: ``val_set`` is always None (a noise model's images: nothing to compare with)

    @property
    def domains(self) -> list[str]:
        """Names in batch or label order (may look on disk the first time)."""
        raise NotImplementedError

    def train_set(self, transform: Transform, min_size: int) -> ImageSet:
        raise NotImplementedError

    def val_set(self, transform: Transform, min_size: int) -> ImageSet | None:
        """Validation data, or None (validation is skipped)."""
        return None

    def test_set(self, transform: Transform, min_size: int) -> ImageSet | None:
        """Test data (``translate test``, ``translate eval``): the validation data unless a source has its own."""
        return self.val_set(transform, min_size)

    def test_images(self, transform: Transform | None, min_size: int) -> TestImages:
        """The test split per domain, for ``translate eval``; sources without per-domain test images raise."""
        raise ValueError(
            f"translate eval needs test images in one folder per domain (or pairs); data.source {type(self).__name__} "
            "has none: score translations with --real/--fake"
        )

    def no_test_data_message(self) -> str:
        return f"data.source {type(self).__name__} has no test data"


def check_decoding(channels: int, bad_images: str) -> None:
    """The options every folder source shares, checked where the config names them."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    if bad_images not in ("skip", "fail"):
        raise ValueError(f"bad_images must be 'skip' or 'fail', got {bad_images!r}")


def _paths(dirs: Sequence[Path] | None) -> list[Path] | None:
    return None if dirs is None else [Path(d) for d in dirs]


class DomainFolders(DataSource):
    """Unpaired domains, one folder each (CycleGAN, StarGAN): under ``root`` in the official CycleGAN layout
    (``root/trainA``, ``root/testA``, ...) or one folder per domain (``root/train/A``, ``root/test/A``), or listed in
    ``train_dirs`` / ``val_dirs``, which take precedence over ``root``. The test folders are the validation data, and
    the test data of ``translate test``; without any, validation is skipped. Items are one image of every domain; an
    epoch has as many as the largest domain (the official CycleGAN's ``unaligned_dataset.py``).

    Args:
        root: Dataset folder holding the train and test folders.
        domains: Domain names in batch order; under ``root`` they name ``train{domain}`` or ``train/{domain}``.
            None: found under ``root`` (the sorted folder names, or A, B for trainA/trainB); A, B, ... with
            ``train_dirs``.
        train_dirs: One training folder per domain, in ``domains`` order, instead of ``root``.
        val_dirs: One validation folder per domain, instead of ``root``'s test folders.
        channels: 3 for RGB, 1 for grayscale; every image is converted.
        bad_images: ``skip`` files that cannot be decoded (one warning each and a count per folder; the next image
            takes their place) or ``fail`` on the first one.
    """

    yields = "domains"

    def __init__(
        self,
        root: Path | None = None,
        *,
        domains: Sequence[str] | None = None,
        train_dirs: Sequence[Path] | None = None,
        val_dirs: Sequence[Path] | None = None,
        channels: Literal[1, 3] = 3,
        bad_images: BadImages = "skip",
    ):
        check_decoding(channels, bad_images)
        self.root = None if root is None else Path(root)
        self.train_dirs, self.val_dirs = _paths(train_dirs), _paths(val_dirs)
        self._names = _named(domains, self.train_dirs)
        if self.root is None and self.train_dirs is None:
            raise ValueError(f"set root to a dataset folder or train_dirs to one folder per domain; {LAYOUTS}")
        for name, dirs in (("train_dirs", self.train_dirs), ("val_dirs", self.val_dirs)):
            if dirs is not None and self._names is not None and len(dirs) != len(self._names):
                raise ValueError(f"{name} has {len(dirs)} folders but domains has {len(self._names)} names "
                                 f"{self._names}; give one folder per domain, in domains order")  # fmt: skip
        self.channels, self.bad_images = channels, bad_images

    @property
    def folder_names(self) -> list[str]:
        """The domains' names as their folders are found: as given, or found under ``root`` on first use."""
        if self._names is None:
            self._names = discover_domains(self.root)
        return self._names

    @property
    def domains(self) -> list[str]:
        return self.folder_names

    def train_set(self, transform: Transform, min_size: int) -> ImageSet:
        return self._dataset(self._folders("train"), transform, min_size)

    def val_set(self, transform: Transform, min_size: int) -> ImageSet | None:
        """The test folders, or None when there are none."""
        folders = self._folders("test")
        return None if folders is None else self._dataset(folders, transform, min_size)

    def test_images(self, transform: Transform | None, min_size: int) -> TestImages:
        folders = self._folders("test")
        if folders is None:
            raise FileNotFoundError(self.no_test_data_message())
        test = self._domain_folders(folders, transform, min_size)
        return TestImages(list(test), [folder.paths for folder in test])

    def no_test_data_message(self) -> str:
        if self.root is None:
            return "no test folders: data.source.train_dirs is set without val_dirs; pass val_dirs (one per domain)"
        expected = ", ".join(f"{self.root / f'test{d}'} or {self.root / 'test' / d}" for d in self.folder_names)
        return f"no test folders: none of {expected} exists; add them (one per domain) or pass data.source.val_dirs"

    def _folders(self, split: Literal["train", "test"]) -> list[Path] | None:
        """One folder per domain for ``split``, or None for a test split that isn't there (no validation)."""
        explicit, names = (self.train_dirs if split == "train" else self.val_dirs), self.folder_names
        if explicit is not None:
            if len(explicit) != len(names):  # domains found under root only now
                raise ValueError(f"data.source.{split.replace('test', 'val')}_dirs has {len(explicit)} folders but the "
                                 f"domains are {names}: give one each")  # fmt: skip
            return explicit  # DomainFolder names any missing one
        if self.root is None:
            return None  # train_dirs without val_dirs
        if not self.root.is_dir():
            raise FileNotFoundError(missing_root_message(self.root))
        candidates = {d: (self.root / f"{split}{d}", self.root / split / d) for d in names}
        found = {d: next((p for p in paths if p.is_dir()), None) for d, paths in candidates.items()}
        missing = [d for d, path in found.items() if path is None]
        if split == "test" and len(missing) == len(names):
            return None
        if missing:
            official, per_domain = candidates[missing[0]]
            raise FileNotFoundError(
                f"no {split} folder for domain {missing[0]!r} (domains: {names}): expected {official} "
                f"(official CycleGAN layout) or {per_domain} (folder per domain)"
            )
        return list(found.values())

    def _domain_folders(self, folders: list[Path], transform: Transform | None, min_size: int) -> list[DomainFolder]:
        options = {"channels": self.channels, "bad_images": self.bad_images, "min_size": min_size}
        try:
            return [DomainFolder(folder, transform, **options) for folder in folders]
        except UndecodableImageError:
            raise
        except ValueError as error:  # an empty folder: say how to fix it
            raise ValueError(
                f"{error}; put the domain's images there or point data.source.root elsewhere ({LAYOUTS})"
            ) from None

    def _dataset(self, folders: list[Path], transform: Transform, min_size: int) -> ImageSet:
        return UnpairedDataset(self._domain_folders(folders, transform, min_size))


def _named(domains: Sequence[str] | None, train_dirs: list[Path] | None) -> list[str] | None:
    """The domains a source names without reading the disk: as given, else A, B, ... for ``train_dirs``; None when
    they are the folder names under the root."""
    if domains is not None:
        names = [str(domain) for domain in domains]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValueError(f"domains must be two or more distinct names, got {names}")
        return names
    return None if train_dirs is None else [chr(ord("A") + i) for i in range(len(train_dirs))]


class AttributeFile(DataSource):
    """Multi-label images (StarGAN on CelebA): a CelebA-style attribute file whose ``domains`` columns are the labels
    (the official StarGAN's ``selected_attrs``). The first ``val_count`` images of a fixed shuffle are held out, as
    the official StarGAN does; they are the validation and test data. Items are (image, labels (len(domains),)).

    Args:
        attr_file: The attribute file: an optional image-count line, a line of attribute names, then one line per
            image, its file name and +1/-1 per attribute (``list_attr_celeba.txt``).
        root: The images' folder: ``root/images`` or ``root``; None: the attribute file's folder.
        domains: The attribute names whose columns are the labels, in label order.
        val_count: Images held out (official StarGAN: 1999, after a shuffle with seed 1234).
        channels: 3 for RGB, 1 for grayscale.
    """

    yields = "labels"

    def __init__(
        self,
        attr_file: Path,
        root: Path | None = None,
        *,
        domains: Sequence[str],
        val_count: int = 1999,
        channels: Literal[1, 3] = 3,
    ):
        check_decoding(channels, "skip")
        if val_count < 0:
            raise ValueError(f"val_count must be >= 0 (images held out), got {val_count}")
        self.attr_file = Path(attr_file)
        self.root = self.attr_file.parent if root is None else Path(root)
        self._names, self.val_count, self.channels = _named(domains, None), val_count, channels
        self._split: tuple[list[Path], list[int], list[int]] | None = None

    @property
    def domains(self) -> list[str]:
        return self._names

    def train_set(self, transform: Transform, min_size: int) -> ImageSet:
        paths, train, _ = self._read()
        return AttributeImages([paths[i] for i in train], self._labels[train], transform, channels=self.channels)

    def val_set(self, transform: Transform, min_size: int) -> ImageSet | None:
        """The held-out images, or None when ``val_count`` is 0."""
        paths, _, val = self._read()
        if not val:
            return None
        return AttributeImages([paths[i] for i in val], self._labels[val], transform, channels=self.channels)

    def no_test_data_message(self) -> str:
        return (f"no test images: data.source.val_count is {self.val_count}; set it above 0 to hold images out for "
                "testing")  # fmt: skip

    def _read(self) -> tuple[list[Path], list[int], list[int]]:
        """(image paths, training rows, held-out rows), read once."""
        if self._split is None:
            names, self._labels = read_attributes(self.attr_file, self.domains)
            folder = self.root / "images" if (self.root / "images").is_dir() else self.root
            order = list(range(len(names)))
            random.Random(1234).shuffle(order)  # the official split: a fixed shuffle, the first images held out
            val, train = order[: self.val_count], order[self.val_count :]
            if not train:
                raise ValueError(
                    f"{self.attr_file} lists {len(names)} images, all held out by val_count={self.val_count}"
                )
            self._split = [folder / name for name in names], train, val
        return self._split
