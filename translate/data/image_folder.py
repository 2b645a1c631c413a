"""The data sources of the noise-to-image GANs: one folder of images, or one folder per class for the conditional
models. ``ImageDataModule`` loads them as it loads the translation data (decoding, bad-image handling, the default
pipelines, exactly resumable epochs); items are ``(image,)``, or ``(image, class index)`` with classes. There is no
validation data: a noise model has nothing to compare a sample with image by image.
"""

import bisect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from translate.data.datamodule import ImageDataModule
from translate.data.datasets import DomainFolder, SampleIndex, Transform, collate_domains, prepare_augmentations
from translate.data.images import BadImages
from translate.data.sources import DataSource, ImageSet, check_decoding


class ClassImages(Dataset):
    """The images of several folders as one list: items ``(image,)``, or ``(image, class index)`` when labelled.

    Indexed by an int (evaluation), or by a ``SampleIndex`` from ``UnpairedSampler`` whose seed fixes the
    augmentations, so an item is the same for any worker count and after a resume.
    """

    def __init__(self, folders: Sequence[DomainFolder], *, labelled: bool):
        self.folders, self.labelled = list(folders), labelled
        self.starts = np.cumsum([0] + [len(folder) for folder in self.folders]).tolist()  # first index of each

    def __len__(self) -> int:
        return self.starts[-1]

    @property
    def sizes(self) -> list[int]:
        return [len(self)]  # one list: UnpairedSampler visits every image once per epoch, shuffled

    def preview(self, n: int) -> tuple[Tensor, ...]:
        """``n`` evenly spaced items, collated: the same at every call."""
        return collate_domains([self[i * len(self) // n] for i in range(n)])

    def __getitem__(self, index: "int | SampleIndex") -> tuple[Tensor, ...]:
        if isinstance(index, SampleIndex):
            prepare_augmentations(self.folders[0].transform, index.seed, index.epoch)  # one pipeline for every folder
            index = index.indices[0]
        label = bisect.bisect_right(self.starts, int(index)) - 1
        image = self.folders[label][int(index) - self.starts[label]]
        return (image, torch.tensor(label)) if self.labelled else (image,)


class ImageFolder(DataSource):
    """Every image under ``root`` (any layout, searched recursively), for the unconditional noise models (DCGAN,
    InfoGAN, ...). Items are ``(image,)``.

    Args:
        root: The image folder.
        channels: 3 for RGB, 1 for grayscale; every image is converted.
        bad_images: ``skip`` files that cannot be decoded (a warning each) or ``fail`` on the first one.
    """

    yields = "images"
    validates = False

    def __init__(self, root: Path, *, channels: Literal[1, 3] = 3, bad_images: BadImages = "skip"):
        check_decoding(channels, bad_images)
        self.root, self.channels, self.bad_images = Path(root), channels, bad_images

    @property
    def domains(self) -> list[str]:
        return []

    def train_set(self, transform: Transform, min_size: int) -> ImageSet:
        return self._images([self.root], transform, min_size)

    def no_test_data_message(self) -> str:
        return f"data.source {type(self).__name__} has no test data: a model from noise has no image to compare with"

    def _images(self, folders: list[Path], transform: Transform, min_size: int) -> ClassImages:
        options = {"channels": self.channels, "bad_images": self.bad_images, "min_size": min_size}
        return ClassImages([DomainFolder(folder, transform, **options) for folder in folders],
                           labelled=self.yields == "classes")  # fmt: skip


class ClassFolders(ImageFolder):
    """One sub-folder of ``root`` per class, for the conditional noise models (ConditionalGAN, ...). Items are
    ``(image, class index)``, the index in ``domains`` order.

    Args:
        root: The folder holding one sub-folder per class.
        class_dirs: The class sub-folders, in label order; None: every sub-folder of ``root``, sorted.
        class_names: Names for the classes (what ``translate sample --class`` takes); None: the folder names.
        channels, bad_images: As ``ImageFolder``.
    """

    yields = "classes"

    def __init__(
        self,
        root: Path,
        *,
        class_dirs: Sequence[str] | None = None,
        class_names: Sequence[str] | None = None,
        channels: Literal[1, 3] = 3,
        bad_images: BadImages = "skip",
    ):
        super().__init__(root, channels=channels, bad_images=bad_images)
        self._classes = None if class_dirs is None else [str(c) for c in class_dirs]
        self._names = None if class_names is None else [str(c) for c in class_names]

    @property
    def class_folders(self) -> list[str]:
        """The class sub-folders of ``root`` in label order."""
        if self._classes is None:
            if not self.root.is_dir():
                raise FileNotFoundError(f"data.source.root {self.root} is not a folder; point it at one folder per "
                                        "class")  # fmt: skip
            self._classes = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(self._classes) < 2 or len(set(self._classes)) != len(self._classes):
            raise ValueError(f"a conditional model needs two or more distinct class folders under {self.root}, got "
                             f"{self._classes}; set data.source.class_dirs")  # fmt: skip
        if self._names is not None and len(self._names) != len(self._classes):
            raise ValueError(f"data.source.class_names has {len(self._names)} names for {len(self._classes)} classes "
                             f"{self._classes}; give one per class")  # fmt: skip
        return self._classes

    @property
    def domains(self) -> list[str]:
        """The class names in label order: ``class_names`` when given, else the folder names."""
        folders = self.class_folders  # checks the names against the folders
        return self._names if self._names is not None else folders

    def train_set(self, transform: Transform, min_size: int) -> ImageSet:
        return self._images([self.root / name for name in self.class_folders], transform, min_size)


class ImageFolderDataModule(ImageDataModule):
    """Deprecated: the noise models' data module from before data sources were classes, its source's options spelled
    flat. It builds an ``ImageFolder`` (or ``ClassFolders`` with ``conditional``) and is an ``ImageDataModule`` in
    every other way, so that configs naming it keep working."""

    def __init__(
        self,
        root: Path,
        *,
        conditional: bool = False,
        class_dirs: Sequence[str] | None = None,
        class_names: Sequence[str] | None = None,
        load_size: int = 64,
        crop_size: int = 64,
        channels: Literal[1, 3] = 3,
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 0,
        bad_images: BadImages = "skip",
    ):
        source = _legacy_source(root, conditional, class_dirs, class_names, channels, bad_images)
        super().__init__(source, load_size=load_size, crop_size=crop_size, batch_size=batch_size,
                         num_workers=num_workers, seed=seed)  # fmt: skip

    @classmethod
    def source_from(cls, init_args: Mapping[str, Any]) -> DataSource:
        args = dict(init_args)
        classes = args.get("class_dirs"), args.get("class_names")
        return _legacy_source(args["root"], bool(args.get("conditional")), *classes, args.get("channels", 3),
                              args.get("bad_images", "skip"))  # fmt: skip


def _legacy_source(
    root: Path,
    conditional: bool,
    class_dirs: Sequence[str] | None,
    class_names: Sequence[str] | None,
    channels: Literal[1, 3],
    bad_images: BadImages,
) -> ImageFolder:
    if conditional:
        return ClassFolders(root, class_dirs=class_dirs, class_names=class_names, channels=channels,
                            bad_images=bad_images)  # fmt: skip
    if class_dirs is not None or class_names is not None:
        raise ValueError("data.class_dirs and data.class_names need data.conditional: true (one folder per class)")
    return ImageFolder(root, channels=channels, bad_images=bad_images)
