"""The Lightning data module of image domains, unpaired or paired: layouts, augmentation pipelines, loaders and their
state.

Unpaired layout, epoch length and pairing follow the official CycleGAN (Zhu et al. 2017, ``data/unaligned_dataset.py``);
paired data the official pix2pix (Isola et al. 2017, ``data/aligned_dataset.py``).
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import albumentations as A
import cv2
import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from translate.data.datasets import (
    AttributeImages,
    PairedImages,
    UnpairedDataset,
    UnpairedSampler,
    collate_domains,
    init_loader_worker,
)
from translate.data.images import BadImages
from translate.data.layouts import LAYOUTS, discover_domains, named_domains
from translate.data.sources import AlignedFolders, AttributeFile, DomainFolders, MatchedFolders
from translate.data.spec import DataSpec


class SwitchAtEpoch(A.BaseCompose):
    """Applies ``before`` in the epochs (counted from 0) before ``epoch`` and ``after`` from it on.

    The datasets give it each item's epoch (``set_epoch``), which the sampler draws with the item in the main process
    (``SampleIndex``), so the switch holds in every loader worker and after a resume, mid-epoch too. Seeding and extra
    targets (paired images) reach both pipelines, as albumentations' own compositions pass them on.
    """

    def __init__(self, before: A.BaseCompose, after: A.BaseCompose, epoch: int):
        super().__init__([before, after], p=1.0)
        self.switch_epoch, self.epoch = epoch, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, *args: Any, **data: Any) -> dict[str, Any]:
        before, after = self.transforms
        return (before if self.epoch < self.switch_epoch else after)(*args, **data)


def default_transforms(
    load_size: int, crop_size: int, random_crop_epochs: int | None = None
) -> tuple[A.BaseCompose, A.Compose]:
    """The official CycleGAN pipelines: train resizes to ``load_size``, random-crops ``crop_size`` and flips; eval
    resizes to ``load_size`` and takes the centre ``crop_size``, so validation, sample grids and FID see objects at the
    scale training sees them (a whole image resized to ``crop_size`` would show them at crop/load of it: 0.8x for
    TraVeLGAN's 160 -> 128). Bicubic like the official code, but area-averaged when shrinking (PIL's bicubic
    antialiases there, OpenCV's does not). With ``random_crop_epochs``, training crops in that many epochs and then
    resizes whole images straight to ``crop_size`` and flips, as the official CUT in its decay epochs."""
    resize = {"height": load_size, "width": load_size, "interpolation": cv2.INTER_CUBIC, "area_for_downscale": "image"}
    train = A.Compose([A.Resize(**resize), A.RandomCrop(crop_size, crop_size), A.HorizontalFlip()])
    if random_crop_epochs is not None:
        whole = A.Compose([A.Resize(**{**resize, "height": crop_size, "width": crop_size}), A.HorizontalFlip()])
        train = SwitchAtEpoch(train, whole, random_crop_epochs)
    return train, A.Compose([A.Resize(**resize), A.CenterCrop(crop_size, crop_size)])


Pairing = Literal["unpaired", "aligned", "matched"]
ImageDataset = UnpairedDataset | AttributeImages | PairedImages
Source = DomainFolders | AttributeFile | AlignedFolders | MatchedFolders


def _available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class UnpairedDataModule(LightningDataModule):
    """Unpaired image domains, or pairs; each batch is a tuple of one (B, C, H, W) tensor in [-1, 1] per domain, so a
    batch holds ``batch_size`` images of every domain (``batch_size`` x number of domains images in all).

    Folders come from ``root``, in the official CycleGAN layout (``root/trainA``, ``root/testA``, ...) or one folder
    per domain (``root/train/A``, ``root/test/A``), or are listed in ``train_dirs`` / ``val_dirs``, which take
    precedence over ``root``. The test folders are the validation data, and the test data of ``translate test``;
    without any, validation is skipped. An epoch has as many items as the largest domain: the first domain in a
    shuffled order, the others drawn at random.

    Paired data (``pairing``, for pix2pix): batches are ``(real_a, real_b)`` where ``real_b[i]`` is the pair of
    ``real_a[i]``, both cut by the same resize, crop and flip; an epoch visits every pair once, shuffled.
    ``aligned``: the official pix2pix layout, each image A|B side by side (A the left half) in ``root/train``,
    ``root/val`` (validation; ``root/test`` without it) and ``root/test`` (``translate test``). ``matched``: two
    folders per split, found as for unpaired domains (``trainA``/``trainB``, ``train/A``/``train/B`` or
    ``train_dirs``; validation from the test folders), whose files pair by name without the extension.

    Args:
        root: Dataset folder holding the train and test folders.
        domains: Domain names in batch order; under ``root`` they name ``train{domain}`` or ``train/{domain}``.
            None: found under ``root`` (``discover_domains``: the sorted folder names, or A, B for trainA/trainB);
            A, B, ... with ``train_dirs``. Required with ``attr_file``, where they are attribute names.
        train_dirs: One training folder per domain, in ``domains`` order, instead of ``root``.
        val_dirs: One validation folder per domain, instead of ``root``'s test folders.
        load_size: Side the default training pipeline resizes to before its random ``crop_size`` crop.
        crop_size: Side of the images the model sees; evaluation resizes straight to it.
        random_crop_epochs: Epochs (from the first) in which the default training pipeline random-crops; after them
            it resizes whole images straight to ``crop_size`` and flips. Official CUT and FastCUT: their constant
            learning-rate epochs (``n_epochs``, 200 and 150). None: crops in every epoch (official CycleGAN).
        channels: 3 for RGB, 1 for grayscale; every image is converted.
        train_transform: albumentations pipeline replacing the default training one (resize, crop, flip). It maps an
            (H, W, C) uint8 image to a fixed size and must not normalise: scaling to [-1, 1] happens afterwards.
        eval_transform: Replaces the default evaluation pipeline (resize to ``load_size``, centre ``crop_size``: the
            training scale); same contract.
        batch_size: Items per batch, per domain: each item is one image of each domain (with ``attr_file``: one
            image).
        num_workers: Loader processes; None picks min(4, available CPU cores).
        seed: Seeds the epoch order (``seed + epoch``) and the augmentations.
        attr_file: Multi-label data instead of domain folders: a CelebA-style attribute file whose ``domains``
            columns become the labels (StarGAN's ``selected_attrs``); images are under ``root/images`` or ``root``.
            Batches are then (images (B, C, H, W), labels (B, len(domains))).
        val_count: With ``attr_file``: images held out for validation (official StarGAN: 1999, after a shuffle
            with seed 1234).
        bad_images: ``skip`` files that cannot be decoded (one warning each and a count per folder; the next image
            takes their place) or ``fail`` on the first one. Images smaller than ``crop_size`` are resized up to it,
            with a warning naming them.
        pairing: ``unpaired`` domains (CycleGAN), or paired images: ``aligned`` A|B files or ``matched`` folders.
        paired_direction: With paired data, ``a2b`` gives batches (A, B), ``b2a`` (B, A): the input comes first
            (pix2pix's ``--direction AtoB`` / ``BtoA``). ``spec.domains`` lists the domains in that batch order.
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
        random_crop_epochs: int | None = None,
        channels: Literal[1, 3] = 3,
        train_transform: A.BaseCompose | A.BasicTransform | None = None,
        eval_transform: A.BaseCompose | A.BasicTransform | None = None,
        batch_size: int = 1,
        num_workers: int | None = None,
        seed: int = 0,
        attr_file: Path | None = None,
        val_count: int = 1999,
        bad_images: BadImages = "skip",
        pairing: Pairing = "unpaired",
        paired_direction: Literal["a2b", "b2a"] = "a2b",
    ):
        super().__init__()
        self.save_hyperparameters()
        self._domains = named_domains(domains, train_dirs, attr_file)  # None: found under root when used
        if self._domains is None and pairing == "aligned":
            self._domains = ["A", "B"]  # the halves of an A|B image
        sizes = {"load_size": load_size, "crop_size": crop_size, "batch_size": batch_size}
        self._check_arguments(root, train_dirs, val_dirs, channels, sizes)
        self._check_pairing(pairing, paired_direction, self._domains, train_dirs, val_dirs, attr_file)
        self.pairing, self.paired_direction = pairing, paired_direction
        if train_transform is None and load_size < crop_size:
            raise ValueError(f"load_size ({load_size}) must be >= crop_size ({crop_size}): training crops from it")
        if random_crop_epochs is not None and (random_crop_epochs < 0 or train_transform is not None):
            raise ValueError(
                f"random_crop_epochs ({random_crop_epochs}) must be >= 0 and switches the default training pipeline: "
                "leave it unset with train_transform (or switch yours with translate.data.datamodule.SwitchAtEpoch)"
            )
        self.root = None if root is None else Path(root)
        self.train_dirs = None if train_dirs is None else [Path(d) for d in train_dirs]
        self.val_dirs = None if val_dirs is None else [Path(d) for d in val_dirs]
        self.channels = channels
        default_train, default_eval = default_transforms(load_size, crop_size, random_crop_epochs)
        self.train_transform = default_train if train_transform is None else train_transform
        self.eval_transform = default_eval if eval_transform is None else eval_transform
        self.batch_size, self.crop_size = batch_size, crop_size
        self.num_workers = min(4, _available_cpus()) if num_workers is None else num_workers
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0 (0 loads in the main process), got {num_workers}")
        self.seed, self.bad_images = seed, bad_images
        self.attr_file, self.val_count = (None if attr_file is None else Path(attr_file)), val_count
        self.train_set: ImageDataset | None = None
        self.val_set: ImageDataset | None = None
        self.test_set: ImageDataset | None = None
        self._val_resolved = self._test_resolved = False
        self._preview_set: ImageDataset | None = None
        self._source: Source | None = None
        self._resume_position: tuple[int, int] | None = None

    @property
    def domains(self) -> list[str]:
        """Domain names in batch order: as given, or found under ``root`` on first use (``discover_domains``), so that
        building the module (a config being parsed, ``--print_config``) needs no data on disk yet."""
        if self._domains is None:
            self._domains = discover_domains(self.root)
        return self._domains

    @property
    def spec(self) -> DataSpec:
        """What the model checks its channels, domains, image size, labels and pairing against (translate.data.spec);
        ``domains`` in batch order (reversed by ``paired_direction: b2a``)."""
        labelled, paired = self.attr_file is not None, self.pairing != "unpaired"
        domains = tuple(self.domains[::-1] if paired and self.paired_direction == "b2a" else self.domains)
        return DataSpec(self.channels, domains, self.crop_size, self.batch_size, labelled, paired=paired)

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

    @staticmethod
    def _check_pairing(
        pairing: str,
        direction: str,
        domains: Sequence[str] | None,
        train_dirs: Sequence[Path] | None,
        val_dirs: Sequence[Path] | None,
        attr_file: Path | None,
    ) -> None:
        if pairing not in ("unpaired", "aligned", "matched"):
            raise ValueError(f"pairing must be 'unpaired', 'aligned' or 'matched', got {pairing!r}")
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"paired_direction must be 'a2b' or 'b2a', got {direction!r}")
        if pairing != "unpaired" and domains is not None and len(domains) != 2:
            raise ValueError(f"pairing: {pairing} pairs two domains, got domains {list(domains)}")
        if pairing != "unpaired" and attr_file is not None:
            raise ValueError(f"pairing: {pairing} pairs images, data.attr_file labels them; use one or the other")
        if pairing == "aligned" and (train_dirs is not None or val_dirs is not None):
            raise ValueError(
                "pairing: aligned reads root/train, root/val and root/test (A|B images); drop data.train_dirs and "
                "data.val_dirs, or use pairing: matched for two folders of matching file names"
            )

    @property
    def source(self) -> Source:
        """Where the images come from: the attribute file when given, paired images with ``pairing``, else a folder per
        domain (made on first use, when the domains are known)."""
        if self._source is None:
            reverse = self.paired_direction == "b2a"
            folders = {"channels": self.channels, "bad_images": self.bad_images, "min_size": self.crop_size}
            if self.pairing == "aligned":
                self._source = AlignedFolders(self.root, reverse=reverse, **folders)
            elif self.pairing == "matched":
                self._source = MatchedFolders(self.root, self.domains, train_dirs=self.train_dirs,
                                              val_dirs=self.val_dirs, reverse=reverse, **folders)  # fmt: skip
            elif self.attr_file is not None:
                self._source = AttributeFile(self.attr_file, self.root, self.domains, val_count=self.val_count,
                                             channels=self.channels)  # fmt: skip
            else:
                self._source = DomainFolders(self.root, self.domains, train_dirs=self.train_dirs,
                                             val_dirs=self.val_dirs, channels=self.channels,
                                             bad_images=self.bad_images, min_size=self.crop_size)  # fmt: skip
        return self._source

    def setup(self, stage: str) -> None:
        """Find the images (once); decoding happens later, in the loader workers."""
        if stage == "fit" and self.train_set is None:
            self.train_set = self.source.train_set(self.train_transform)
        if stage in ("fit", "validate", "test") and not self._val_resolved:
            self.val_set = self.source.val_set(self.eval_transform)
            self._val_resolved = True
        if stage == "test" and not self._test_resolved:
            self.test_set = self.source.test_set(self.eval_transform)  # aligned: root/test; others: the val data
            self._test_resolved = True

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")  # no-op under a Trainer; lets notebooks call the loaders directly
        trainer = self.trainer  # None outside a Trainer
        start_epoch, skipped = trainer.current_epoch if trainer is not None else 0, 0
        if self._resume_position is not None:  # restored by load_state_dict before Lightning asks for the loader
            start_epoch, batches = self._resume_position
            skipped = batches * self.batch_size  # trained before the checkpoint
            self._resume_position = None
        sampler = UnpairedSampler(
            self.train_set.sizes,
            seed=self.seed,
            num_replicas=trainer.world_size if trainer is not None else 1,
            rank=trainer.global_rank if trainer is not None else 0,
            # The epoch is read from the trainer when an epoch's iteration starts. Lightning's own set_epoch passes
            # its count of processed epochs, which runs one ahead of current_epoch after a resume from a checkpoint
            # saved at the end of an epoch ("train longer" from a finished run's last.ckpt drew the wrong batches).
            epoch_source=None if trainer is None else lambda: trainer.current_epoch,
        )
        # saved after the epoch's last batch: the next epoch, whole; saved mid-epoch: leave out what was trained
        sampler.start_epoch = start_epoch + 1 if skipped >= len(sampler) else start_epoch
        if 0 < skipped < len(sampler):
            sampler.skip(start_epoch, skipped)
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
        """The test data, for ``translate test``: the validation data (the test folders, or the held-out ``val_count``
        images); with ``pairing: aligned``, ``root/test``."""
        self.setup("test")
        if self.test_set is None:
            raise FileNotFoundError(self.source.no_test_data_message())
        return self._loader(self.test_set)

    def _loader(self, dataset: ImageDataset, sampler: UnpairedSampler | None = None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate_domains,
            pin_memory=self._on_cuda(),
            worker_init_fn=init_loader_worker if self.num_workers > 0 else None,
            persistent_workers=self.num_workers > 0,
        )

    def _on_cuda(self) -> bool:
        """Pinned (page-locked) batches let the copy to the GPU run in the background (Lightning copies with
        non_blocking=True); only worth it when the trainer runs on CUDA (a GPU machine training on its CPU: no)."""
        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            return trainer.strategy.root_device.type == "cuda"
        return torch.cuda.is_available()  # no trainer (a loader built by hand): as before

    def sample_batch(self, n: int = 4) -> tuple[Tensor, ...]:
        """A fixed batch of ``n`` un-augmented images per domain, the same at every call: evenly spaced validation
        images, or training images through the evaluation transform when there is no validation data."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.setup("validate")
        if self.val_set is not None:
            return self.val_set.preview(n)
        if self._preview_set is None:
            self._preview_set = self.source.preview_set(self.eval_transform)
        return self._preview_set.preview(n)
