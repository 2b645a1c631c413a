"""Where a data module's images come from: one folder per domain, a CelebA-style attribute file, or paired images
(two folders of matching file names, or the official pix2pix A|B images; Isola et al. 2017).

Each source makes the training, validation and test datasets for given transforms and says what is missing when there
is no test data; ``UnpairedDataModule`` picks one and is the same for all.
"""

import random
from pathlib import Path
from typing import Literal

from translate.data.datasets import (
    AttributeImages,
    DomainFolder,
    PairedImages,
    Transform,
    UnpairedDataset,
    read_attributes,
)
from translate.data.images import BadImages, UndecodableImageError, find_images
from translate.data.layouts import LAYOUTS, how_to_get, missing_root_message


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

    def test_set(self, transform: Transform) -> UnpairedDataset | None:
        """The validation data: the test folders."""
        return self.val_set(transform)

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

    def test_set(self, transform: Transform) -> AttributeImages | None:
        """The validation data: the held-out images."""
        return self.val_set(transform)

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


class MatchedFolders(DomainFolders):
    """Paired data in two folders per split, found as ``DomainFolders`` finds them (``trainA``/``trainB``,
    ``train/A``/``train/B``, or ``train_dirs``), whose files pair by name without the extension, sub-folders
    included (``trainA/x.png`` <-> ``trainB/x.jpg``). Items are (real_a, real_b); ``reverse``: (real_b, real_a)."""

    def __init__(self, root: Path | None, domains: list[str], *, reverse: bool, **folders):
        if len(domains) != 2:
            raise ValueError(f"pairing: matched needs two domain folders, got domains {domains}; set data.domains")
        super().__init__(root, domains, **folders)
        self.reverse = reverse

    def _dataset(self, folders: list[Path], transform: Transform) -> PairedImages:
        by_name = [_by_name(folder) for folder in folders]
        (folder_a, names_a), (folder_b, names_b) = zip(folders, by_name, strict=True)
        only_a, only_b = sorted(names_a.keys() - names_b.keys()), sorted(names_b.keys() - names_a.keys())
        if only_a or only_b:
            raise ValueError(
                f"unmatched file names: {len(only_a)} under {folder_a} have no namesake under {folder_b} "
                f"(first: {', '.join(only_a[:3]) or '-'}) and {len(only_b)} under {folder_b} none under {folder_a} "
                f"(first: {', '.join(only_b[:3]) or '-'}); pairing: matched pairs files by name (x.png <-> x.png, any "
                "extension): add or remove files so that both folders hold the same names"
            )
        pairs = [(names_a[name], names_b[name]) for name in sorted(names_a)]
        return PairedImages(pairs, transform, channels=self.channels, reverse=self.reverse,
                            bad_images=self.bad_images, min_size=self.min_size)  # fmt: skip


def _by_name(folder: Path) -> dict[str, Path]:
    """The images under ``folder`` by their path relative to it, without the extension."""
    try:
        paths = find_images(folder)
    except ValueError as error:  # an empty folder
        raise ValueError(f"{error}; put the pairs' images there or point data.root elsewhere ({LAYOUTS})") from None
    found: dict[str, Path] = {}
    for path in paths:
        name = path.relative_to(folder).with_suffix("").as_posix()
        if name in found:
            raise ValueError(f"{found[name]} and {path} share a name: pairing by name needs one file each; remove one")
        found[name] = path
    return found


class AlignedFolders:
    """The official pix2pix layout: each image is A|B side by side (A the left half), in ``root/train``, ``root/val``
    (validation; ``root/test`` when there is no val) and ``root/test`` (``translate test``; ``root/val`` when there is
    no test). Items are (real_a, real_b); ``reverse``: (real_b, real_a), as pix2pix's ``--direction BtoA``."""

    def __init__(self, root: Path | None, *, reverse: bool, channels: int, bad_images: BadImages, min_size: int):
        if root is None:
            raise ValueError("pairing: aligned needs data.root, the folder of train/, val/ and test/ (A|B images)")
        self.root, self.reverse = root, reverse
        self.channels, self.bad_images, self.min_size = channels, bad_images, min_size

    def train_set(self, transform: Transform) -> PairedImages:
        folder = self._split("train")
        if folder is None:
            raise FileNotFoundError(
                f"no training folder {self.root / 'train'}: pairing: aligned reads A|B images (A the left half) from "
                f"{self.root}/train, val and test (official pix2pix layout; {LAYOUTS})"
            )
        return self._dataset(folder, transform)

    def val_set(self, transform: Transform) -> PairedImages | None:
        """``root/val``, else ``root/test``, else None (validation is skipped)."""
        folder = self._split("val") or self._split("test")
        return None if folder is None else self._dataset(folder, transform)

    def test_set(self, transform: Transform) -> PairedImages | None:
        """``root/test``, else ``root/val``, else None."""
        folder = self._split("test") or self._split("val")
        return None if folder is None else self._dataset(folder, transform)

    def preview_set(self, transform: Transform) -> PairedImages:
        """Training pairs for sample grids when there is no validation data."""
        return self.train_set(transform)

    def no_test_data_message(self) -> str:
        return f"no test folder: neither {self.root / 'test'} nor {self.root / 'val'} exists; add one (A|B images)"

    def _split(self, split: str) -> Path | None:
        if not self.root.is_dir():
            raise FileNotFoundError(missing_root_message(self.root, paired=True))
        folder = self.root / split
        if split == "train" and not folder.is_dir() and (self.root / "trainA").is_dir():
            raise FileNotFoundError(
                f"{self.root} holds the unpaired layout (trainA, trainB), not the aligned one pairing: aligned reads "
                f"(train/, val/, test/ of A|B images); {how_to_get(self.root, paired=True)}"
            )
        return folder if folder.is_dir() else None

    def _dataset(self, folder: Path, transform: Transform) -> PairedImages:
        try:
            paths = find_images(folder)
        except ValueError as error:  # an empty folder
            raise ValueError(f"{error}; put the A|B images there or point data.root elsewhere ({LAYOUTS})") from None
        return PairedImages(paths, transform, channels=self.channels, reverse=self.reverse,
                            bad_images=self.bad_images, min_size=self.min_size)  # fmt: skip
