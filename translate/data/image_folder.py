"""The data of the noise-to-image GANs: one folder of images, or one folder per class for the conditional models.

The same decoding, bad-image handling, albumentations pipelines (``default_transforms``) and exactly resumable epochs
(``UnpairedSampler``) as the translation data; batches are ``(images,)``, or ``(images, labels)`` with classes.
"""

import bisect
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from translate.data.datamodule import _available_cpus, default_transforms
from translate.data.datasets import (
    DomainFolder,
    SampleIndex,
    Transform,
    UnpairedSampler,
    collate_domains,
    init_loader_worker,
)
from translate.data.images import BadImages
from translate.data.spec import DataSpec


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
            transform = self.folders[0].transform  # one pipeline shared by every folder
            if hasattr(transform, "set_random_state"):
                transform.set_random_state(np.random.default_rng(index.seed), random.Random(index.seed))
            index = index.indices[0]
        label = bisect.bisect_right(self.starts, int(index)) - 1
        image = self.folders[label][int(index) - self.starts[label]]
        return (image, torch.tensor(label)) if self.labelled else (image,)


class ImageFolderDataModule(LightningDataModule):
    """Images for the noise-to-image GANs: every image under ``root`` (any layout, searched recursively), or with
    ``conditional`` one class per sub-folder of ``root``.

    There is no validation data: a noise model has nothing to compare a sample with image by image.

    Args:
        root: The image folder; with ``conditional``, the folder holding one sub-folder per class.
        conditional: Batches are ``(images, labels)``, labels the class index (B,) in ``class_dirs`` order.
        class_dirs: The class sub-folders, in label order; None: every sub-folder of ``root``, sorted.
        class_names: Names for the classes (what ``translate sample --class`` takes); None: the folder names.
        load_size: Side the training pipeline resizes to before its random ``crop_size`` crop and flip.
        crop_size: Side of the images the model sees (its ``image_size``).
        channels: 3 for RGB, 1 for grayscale; every image is converted.
        batch_size: Images per batch.
        num_workers: Loader processes; None picks min(4, available CPU cores).
        seed: Seeds the epoch order (``seed + epoch``) and the augmentations.
        bad_images: ``skip`` files that cannot be decoded (a warning each) or ``fail`` on the first one.
    """

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
        super().__init__()
        self.save_hyperparameters()
        if load_size < crop_size or min(crop_size, batch_size) < 1:
            raise ValueError(f"need load_size >= crop_size >= 1 and batch_size >= 1, got {load_size}, {crop_size}, "
                             f"{batch_size}")  # fmt: skip
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
        if (class_dirs is not None or class_names is not None) and not conditional:
            raise ValueError("data.class_dirs and data.class_names need data.conditional: true (one folder per class)")
        self.root, self.conditional, self.channels = Path(root), conditional, channels
        self._classes = None if class_dirs is None else [str(c) for c in class_dirs]
        self._names = None if class_names is None else [str(c) for c in class_names]
        self.train_transform, self.eval_transform = default_transforms(load_size, crop_size)
        self.crop_size, self.batch_size, self.seed, self.bad_images = crop_size, batch_size, seed, bad_images
        self.num_workers = min(4, _available_cpus()) if num_workers is None else num_workers
        self.train_set: ClassImages | None = None
        self._preview_set: ClassImages | None = None
        self._resume_position: tuple[int, int] | None = None

    @property
    def class_folders(self) -> list[str]:
        """The class sub-folders of ``root`` in label order (empty when unconditional)."""
        if not self.conditional:
            return []
        if self._classes is None:
            if not self.root.is_dir():
                raise FileNotFoundError(f"data.root {self.root} is not a folder; point it at one folder per class")
            self._classes = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(self._classes) < 2 or len(set(self._classes)) != len(self._classes):
            raise ValueError(f"a conditional model needs two or more distinct class folders under {self.root}, got "
                             f"{self._classes}; set data.class_dirs")  # fmt: skip
        if self._names is not None and len(self._names) != len(self._classes):
            raise ValueError(f"data.class_names has {len(self._names)} names for {len(self._classes)} classes "
                             f"{self._classes}; give one per class")  # fmt: skip
        return self._classes

    @property
    def class_names(self) -> list[str]:
        """The class names in label order: ``class_names`` when given, else the folder names."""
        folders = self.class_folders  # checks the names against the folders
        return self._names if self._names is not None else folders

    @property
    def spec(self) -> DataSpec:
        """What the model checks against: channels, class names (as ``domains``), image size, batch size."""
        return DataSpec(self.channels, tuple(self.class_names), self.crop_size, self.batch_size, self.conditional)

    def _images(self, transform: Transform) -> ClassImages:
        folders = [self.root / name for name in self.class_folders] or [self.root]
        options = {"channels": self.channels, "bad_images": self.bad_images, "min_size": self.crop_size}
        return ClassImages([DomainFolder(folder, transform, **options) for folder in folders],
                           labelled=self.conditional)  # fmt: skip

    def setup(self, stage: str) -> None:
        """Find the images (once); decoding happens later, in the loader workers."""
        if stage == "fit" and self.train_set is None:
            self.train_set = self._images(self.train_transform)

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        trainer = self.trainer  # None outside a Trainer
        start_epoch, skipped = trainer.current_epoch if trainer is not None else 0, 0
        if self._resume_position is not None:  # restored by load_state_dict before Lightning asks for the loader
            start_epoch, batches = self._resume_position
            skipped, self._resume_position = batches * self.batch_size, None
        sampler = UnpairedSampler(
            self.train_set.sizes,
            seed=self.seed,
            num_replicas=trainer.world_size if trainer is not None else 1,
            rank=trainer.global_rank if trainer is not None else 0,
            epoch_source=None if trainer is None else lambda: trainer.current_epoch,  # see UnpairedDataModule
        )
        # saved after the epoch's last batch: the next epoch, whole; saved mid-epoch: leave out what was trained
        sampler.start_epoch = start_epoch + 1 if skipped >= len(sampler) else start_epoch
        if 0 < skipped < len(sampler):
            sampler.skip(start_epoch, skipped)
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate_domains,
            pin_memory=torch.cuda.is_available(),
            worker_init_fn=init_loader_worker if self.num_workers > 0 else None,
            persistent_workers=self.num_workers > 0,
        )

    def state_dict(self) -> dict[str, Any]:
        """Where training stands in the epoch, so that a resumed run draws exactly the batches that were left."""
        if self.trainer is None:
            return {}
        progress = self.trainer.fit_loop.epoch_loop.batch_progress.current
        return {"epoch": self.trainer.current_epoch, "batches_done": progress.processed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "epoch" in state_dict:
            self._resume_position = (state_dict["epoch"], state_dict["batches_done"])

    def sample_batch(self, n: int = 4) -> tuple[Tensor, ...]:
        """``n`` evenly spaced training images (with their labels), un-augmented: the same at every call."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if self._preview_set is None:
            self._preview_set = self._images(self.eval_transform)
        return self._preview_set.preview(n)
