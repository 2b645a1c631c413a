"""Paired image sources (pix2pix, Isola et al. 2017): two folders of matching file names, or the official pix2pix
layout of A|B images side by side (``data/aligned_dataset.py``). Items are (input, target) of one scene, both cut by
the same resize, crop and flip; an epoch visits every pair once, shuffled.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from torch import Tensor
from torch.utils.data import Dataset

from translate.data.datasets import PairedImages, Transform
from translate.data.images import BadImages, find_images
from translate.data.layouts import LAYOUTS, how_to_get, missing_root_message
from translate.data.sources import DataSource, DomainFolders, ImageSet, TestImages, check_decoding

Direction = Literal["a2b", "b2a"]


def _check_direction(direction: str) -> None:
    if direction not in ("a2b", "b2a"):
        raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")


class MatchedPairs(DomainFolders):
    """Paired data in two folders per split, found as ``DomainFolders`` finds them (``trainA``/``trainB``,
    ``train/A``/``train/B``, or ``train_dirs``; validation from the test folders), whose files pair by name without
    the extension, sub-folders included (``trainA/x.png`` <-> ``trainB/x.jpg``).

    Args:
        direction: ``a2b`` gives items (A, B), ``b2a`` (B, A): the input comes first (pix2pix's ``--direction
            AtoB`` / ``BtoA``); ``domains`` lists them in that order.
        root, domains, train_dirs, val_dirs, channels, bad_images: As ``DomainFolders``; two domains.
    """

    yields = "pairs"

    def __init__(
        self,
        root: Path | None = None,
        *,
        domains: Sequence[str] | None = None,
        train_dirs: Sequence[Path] | None = None,
        val_dirs: Sequence[Path] | None = None,
        direction: Direction = "a2b",
        channels: Literal[1, 3] = 3,
        bad_images: BadImages = "skip",
    ):
        _check_direction(direction)
        if domains is not None and len(domains) != 2:
            raise ValueError(f"MatchedPairs pairs two domains, got domains {list(domains)}")
        super().__init__(root, domains=domains, train_dirs=train_dirs, val_dirs=val_dirs, channels=channels,
                         bad_images=bad_images)  # fmt: skip
        self.direction = direction

    @property
    def domains(self) -> list[str]:
        names = self.folder_names
        if len(names) != 2:
            raise ValueError(f"MatchedPairs needs two domain folders, got domains {names}; set data.source.domains")
        return names[::-1] if self.direction == "b2a" else names

    def test_images(self, transform: Transform | None, min_size: int) -> TestImages:
        test = self.val_set(transform, min_size)
        if test is None:
            raise FileNotFoundError(self.no_test_data_message())
        return TestImages([Halves(test, 0), Halves(test, 1)], None)

    def _dataset(self, folders: list[Path], transform: Transform, min_size: int) -> ImageSet:
        by_name = [_by_name(folder) for folder in folders]
        (folder_a, names_a), (folder_b, names_b) = zip(folders, by_name, strict=True)
        only_a, only_b = sorted(names_a.keys() - names_b.keys()), sorted(names_b.keys() - names_a.keys())
        if only_a or only_b:
            raise ValueError(
                f"unmatched file names: {len(only_a)} under {folder_a} have no namesake under {folder_b} "
                f"(first: {', '.join(only_a[:3]) or '-'}) and {len(only_b)} under {folder_b} none under {folder_a} "
                f"(first: {', '.join(only_b[:3]) or '-'}); MatchedPairs pairs files by name (x.png <-> x.png, any "
                "extension): add or remove files so that both folders hold the same names"
            )
        pairs = [(names_a[name], names_b[name]) for name in sorted(names_a)]
        return PairedImages(pairs, transform, channels=self.channels, reverse=self.direction == "b2a",
                            bad_images=self.bad_images, min_size=min_size)  # fmt: skip


def _images_in(folder: Path, what: str) -> list[Path]:
    """``find_images(folder)``, its empty-folder error saying what belongs there and where else to look."""
    try:
        return find_images(folder)
    except ValueError as error:
        raise ValueError(f"{error}; put {what} there or point data.source.root elsewhere ({LAYOUTS})") from None


def _by_name(folder: Path) -> dict[str, Path]:
    """The images under ``folder`` by their path relative to it, without the extension."""
    found: dict[str, Path] = {}
    for path in _images_in(folder, "the pairs' images"):
        name = path.relative_to(folder).with_suffix("").as_posix()
        if name in found:
            raise ValueError(f"{found[name]} and {path} share a name: pairing by name needs one file each; remove one")
        found[name] = path
    return found


class AlignedPairs(DataSource):
    """The official pix2pix layout: each image is A|B side by side (A the left half), in ``root/train``, ``root/val``
    (validation; ``root/test`` when there is no val) and ``root/test`` (``translate test``; ``root/val`` when there
    is no test).

    Args:
        root: The folder of ``train/``, ``val/`` and ``test/``.
        direction: ``a2b`` gives items (A, B), ``b2a`` (B, A), as pix2pix's ``--direction BtoA``.
        channels, bad_images: As ``DomainFolders``.
    """

    yields = "pairs"

    def __init__(
        self, root: Path, *, direction: Direction = "a2b", channels: Literal[1, 3] = 3, bad_images: BadImages = "skip"
    ):
        _check_direction(direction)
        check_decoding(channels, bad_images)
        self.root, self.direction, self.channels, self.bad_images = Path(root), direction, channels, bad_images

    @property
    def domains(self) -> list[str]:
        return ["B", "A"] if self.direction == "b2a" else ["A", "B"]  # the halves of an A|B image

    def train_set(self, transform: Transform, min_size: int) -> ImageSet:
        folder = self._split("train")
        if folder is None:
            raise FileNotFoundError(
                f"no training folder {self.root / 'train'}: AlignedPairs reads A|B images (A the left half) from "
                f"{self.root}/train, val and test (official pix2pix layout; {LAYOUTS})"
            )
        return self._dataset(folder, transform, min_size)

    def val_set(self, transform: Transform, min_size: int) -> ImageSet | None:
        """``root/val``, else ``root/test``, else None (validation is skipped)."""
        folder = self._split("val") or self._split("test")
        return None if folder is None else self._dataset(folder, transform, min_size)

    def test_set(self, transform: Transform, min_size: int) -> ImageSet | None:
        """``root/test``, else ``root/val``, else None."""
        folder = self._split("test") or self._split("val")
        return None if folder is None else self._dataset(folder, transform, min_size)

    def test_images(self, transform: Transform | None, min_size: int) -> TestImages:
        test = self.test_set(transform, min_size)
        if test is None:
            raise FileNotFoundError(self.no_test_data_message())
        return TestImages([Halves(test, 0), Halves(test, 1)], None)

    def no_test_data_message(self) -> str:
        return f"no test folder: neither {self.root / 'test'} nor {self.root / 'val'} exists; add one (A|B images)"

    def _split(self, split: str) -> Path | None:
        if not self.root.is_dir():
            raise FileNotFoundError(missing_root_message(self.root, paired=True))
        folder = self.root / split
        if split == "train" and not folder.is_dir() and (self.root / "trainA").is_dir():
            raise FileNotFoundError(
                f"{self.root} holds the unpaired layout (trainA, trainB), not the aligned one AlignedPairs reads "
                f"(train/, val/, test/ of A|B images): use MatchedPairs for trainA/trainB pairs; "
                f"{how_to_get(self.root, paired=True)}"
            )
        return folder if folder.is_dir() else None

    def _dataset(self, folder: Path, transform: Transform, min_size: int) -> PairedImages:
        paths = _images_in(folder, "the A|B images")
        return PairedImages(paths, transform, channels=self.channels, reverse=self.direction == "b2a",
                            bad_images=self.bad_images, min_size=min_size)  # fmt: skip


class Halves(Dataset):
    """One half of each item of paired data: the input (0) or the target (1)."""

    def __init__(self, pairs: ImageSet, half: int):
        self.pairs, self.half = pairs, half

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Tensor:
        return self.pairs[index][self.half]
