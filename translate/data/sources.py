"""Where a data module's images come from: one folder per domain, or a CelebA-style attribute file.

Each source makes the training and validation datasets for given transforms and says what is missing when there is
no validation data; ``UnpairedDataModule`` picks one and is the same for both.
"""

import random
from pathlib import Path
from typing import Literal

from translate.data.datasets import AttributeImages, DomainFolder, Transform, UnpairedDataset, read_attributes
from translate.data.images import BadImages, UndecodableImageError
from translate.data.layouts import LAYOUTS, missing_root_message


class DomainFolders:
    """Unpaired domains, one folder each: under ``root`` (``trainA``/``testA`` or ``train/A``/``test/A``), or given
    by ``train_dirs`` / ``val_dirs``, which take precedence. Items are one image of every domain."""

    def __init__(
        self,
        root: Path | None,
        domains: list[str],
        *,
        train_dirs: list[Path] | None,
        val_dirs: list[Path] | None,
        channels: int,
        bad_images: BadImages,
        min_size: int,
    ):
        self.root, self.domains, self.train_dirs, self.val_dirs = root, domains, train_dirs, val_dirs
        self.channels, self.bad_images, self.min_size = channels, bad_images, min_size

    def train_set(self, transform: Transform) -> UnpairedDataset:
        return self._dataset(self._folders("train"), transform)

    def val_set(self, transform: Transform) -> UnpairedDataset | None:
        """The test folders, or None when there are none (validation is skipped)."""
        folders = self._folders("test")
        return None if folders is None else self._dataset(folders, transform)

    def preview_set(self, transform: Transform) -> UnpairedDataset:
        """Training images for sample grids when there is no validation data."""
        return self.train_set(transform)

    def no_test_data_message(self) -> str:
        if self.root is None:
            return "no test folders: data.train_dirs is set without data.val_dirs; pass data.val_dirs (one per domain)"
        expected = ", ".join(f"{self.root / f'test{d}'} or {self.root / 'test' / d}" for d in self.domains)
        return f"no test folders: none of {expected} exists; add them (one per domain) or pass data.val_dirs"

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
                        f, transform, channels=self.channels, bad_images=self.bad_images, min_size=self.min_size
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


class AttributeFile:
    """Multi-label images: a CelebA-style attribute file whose ``domains`` columns are the labels, the images under
    ``root/images`` or ``root``. The first ``val_count`` images of a fixed shuffle are held out, as the official
    StarGAN does. Items are (image, labels)."""

    def __init__(self, attr_file: Path, root: Path | None, domains: list[str], *, val_count: int, channels: int):
        if root is None:
            raise ValueError("data.attr_file needs data.root, the folder of the images (or of images/)")
        self.attr_file, self.root, self.domains = attr_file, root, domains
        self.val_count, self.channels = val_count, channels
        self._split: tuple[list[Path], list[int], list[int]] | None = None

    def train_set(self, transform: Transform) -> AttributeImages:
        paths, train, _ = self._read()
        return AttributeImages([paths[i] for i in train], self._labels[train], transform, channels=self.channels)

    def val_set(self, transform: Transform) -> AttributeImages | None:
        """The held-out images, or None when ``val_count`` is 0."""
        paths, _, val = self._read()
        if not val:
            return None
        return AttributeImages([paths[i] for i in val], self._labels[val], transform, channels=self.channels)

    def preview_set(self, transform: Transform) -> AttributeImages:
        """Training images for sample grids when no images are held out."""
        return self.train_set(transform)

    def no_test_data_message(self) -> str:
        return f"no test images: data.val_count is {self.val_count}; set it above 0 to hold images out for testing"

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
