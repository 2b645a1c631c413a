"""The Lightning data module: a data source (translate.data.sources), augmentation pipelines, one resumable
training loader and the loaders of the other splits.

Epoch length and pairing follow the official CycleGAN (Zhu et al. 2017, ``data/unaligned_dataset.py``); paired data
the official pix2pix (Isola et al. 2017, ``data/aligned_dataset.py``).
"""

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import albumentations as A
import cv2
import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from translate.data.datasets import UnpairedSampler, collate_domains, init_loader_worker
from translate.data.images import BadImages
from translate.data.paired import AlignedPairs, MatchedPairs
from translate.data.sources import AttributeFile, DataSource, DomainFolders, ImageSet, TestImages
from translate.data.spec import DataSpec
from translate.data.transforms import Pipeline, SwitchAtEpoch, Transforms, default_transforms

__all__ = ["ImageDataModule", "SwitchAtEpoch", "Transforms", "UnpairedDataModule", "default_transforms"]


def _available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ImageDataModule(LightningDataModule):
    """Images from a data source, in batches: each batch is a tuple of (B, C, H, W) tensors in [-1, 1] (and label
    tensors), as the source's items are (``DataSource.yields``): one image per domain, (image, labels), (input,
    target), (image,) or (image, class). With one image per domain a batch holds ``batch_size`` images of every
    domain.

    The training loader resumes exactly, mid-epoch too (``state_dict``): an epoch's order and every augmentation
    follow from ``seed``, the epoch and the position, for any ``num_workers``.

    Args:
        source: Where the images come from and what they are (translate.data.sources, paired, image_folder):
            ``{class_path: DomainFolders, init_args: {root: datasets/horse2zebra}}``.
        load_size: Side the default training pipeline resizes to before its random ``crop_size`` crop.
        crop_size: Side of the images the model sees; images smaller than it are resized up (with a warning).
        random_crop_epochs: Epochs (from the first) in which the default training pipeline random-crops; after them
            it resizes whole images straight to ``crop_size`` and flips. Official CUT and FastCUT: their constant
            learning-rate epochs (``n_epochs``, 200 and 150). None: crops in every epoch (official CycleGAN).
        transforms: Pipelines replacing the default ones.
        batch_size: Items per batch (with one image per domain: images per domain).
        num_workers: Loader processes; None picks min(4, available CPU cores).
        seed: Seeds the epoch order (``seed + epoch``) and the augmentations.
    """

    def __init__(
        self,
        source: DataSource,
        *,
        load_size: int = 286,
        crop_size: int = 256,
        random_crop_epochs: int | None = None,
        transforms: Transforms | None = None,
        batch_size: int = 1,
        num_workers: int | None = None,
        seed: int = 0,
    ):
        super().__init__()
        # plain values only outside the CLI (which records the config itself): a checkpoint loads without pickles
        self.save_hyperparameters(ignore=["source", "transforms"])
        transforms = transforms or Transforms()
        # What predict needs of the pipelines, as a plain value: with a custom training pipeline, load_size is not
        # the side training images had (translate/inference/loading.py training_size).
        self.hparams["custom_train_transform"] = transforms.train is not None
        _check_sizes(load_size, crop_size, batch_size, random_crop_epochs, transforms)
        self.source, self.crop_size, self.batch_size, self.seed = source, crop_size, batch_size, seed
        default_train, default_eval = default_transforms(load_size, crop_size, random_crop_epochs)
        self.train_transform = default_train if transforms.train is None else transforms.train
        self.eval_transform = default_eval if transforms.eval is None else transforms.eval
        self.num_workers = min(4, _available_cpus()) if num_workers is None else num_workers
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0 (0 loads in the main process), got {num_workers}")
        self.train_set: ImageSet | None = None
        self.val_set: ImageSet | None = None
        self.test_set: ImageSet | None = None
        self._val_resolved = self._test_resolved = False
        self._preview_set: ImageSet | None = None
        self._resume_position: tuple[int, int] | None = None
        self._hide_validation()

    def _hide_validation(self) -> None:
        """Lightning decides whether a data module has validation data from whether its class overrides
        val_dataloader, before setup, and warns on every fit of a model without a validation_step (the noise
        models); a source that never validates gets the base class's method, which Lightning reads as none."""
        if not self.source.validates:
            self.val_dataloader = LightningDataModule.val_dataloader.__get__(self)

    def __setstate__(self, state: dict[str, Any]) -> None:  # unpickled (a spawned process): the same rule
        self.__dict__.update(state)
        self._hide_validation()

    @classmethod
    def source_from(cls, init_args: Mapping[str, Any]) -> DataSource:
        """The source a parsed config's ``data.init_args`` describe, built without reading the disk (the CLI asks it
        for a model's domains while parsing)."""
        return build_source(init_args["source"])

    @property
    def domains(self) -> list[str]:
        """The source's names in batch or label order (found on disk on first use)."""
        return self.source.domains

    @property
    def spec(self) -> DataSpec:
        """What the model checks its channels, domains, image size, labels and pairing against (translate.data.spec)."""
        kind = self.source.yields
        labelled, paired = kind in ("labels", "classes"), kind == "pairs"
        return DataSpec(self.source.channels, tuple(self.domains), self.crop_size, self.batch_size, labelled, paired)

    def test_images(self, resized_to: int | None) -> TestImages:
        """The test split per domain for ``translate eval``: resized to ``resized_to`` square (bicubic, area when
        shrinking; no crop or flip), or at their own size (None)."""
        resize = None
        if resized_to is not None:
            resize = A.Resize(resized_to, resized_to, interpolation=cv2.INTER_CUBIC, area_for_downscale="image")
        return self.source.test_images(resize, 1)

    def setup(self, stage: str) -> None:
        """Find the images (once); decoding happens later, in the loader workers."""
        if stage == "fit" and self.train_set is None:
            self.train_set = self.source.train_set(self.train_transform, self.crop_size)
        if stage in ("fit", "validate", "test") and not self._val_resolved:
            self.val_set = self.source.val_set(self.eval_transform, self.crop_size)
            self._val_resolved = True
        if stage == "test" and not self._test_resolved:
            self.test_set = self.source.test_set(self.eval_transform, self.crop_size)
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
        """The test data, for ``translate test`` (the source's ``test_set``)."""
        self.setup("test")
        if self.test_set is None:
            raise FileNotFoundError(self.source.no_test_data_message())
        return self._loader(self.test_set)

    def _loader(self, dataset: ImageSet, sampler: UnpairedSampler | None = None) -> DataLoader:
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
        trainer = self.trainer
        if trainer is not None:
            return trainer.strategy.root_device.type == "cuda"
        return torch.cuda.is_available()  # no trainer (a loader built by hand): as before

    def sample_batch(self, n: int = 4) -> tuple[Tensor, ...]:
        """A fixed batch of ``n`` un-augmented items, the same at every call: evenly spaced validation items, or
        training images through the evaluation transform when there is no validation data."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.setup("validate")
        if self.val_set is not None:
            return self.val_set.preview(n)
        if self._preview_set is None:
            self._preview_set = self.source.train_set(self.eval_transform, self.crop_size)
        return self._preview_set.preview(n)


def _check_sizes(
    load_size: int, crop_size: int, batch_size: int, random_crop_epochs: int | None, transforms: Transforms
) -> None:
    sizes = {"load_size": load_size, "crop_size": crop_size, "batch_size": batch_size}
    if min(sizes.values()) < 1:
        raise ValueError(f"load_size, crop_size and batch_size must be >= 1, got {sizes}")
    if transforms.train is None and load_size < crop_size:
        raise ValueError(f"load_size ({load_size}) must be >= crop_size ({crop_size}): training crops from it")
    if random_crop_epochs is not None and (random_crop_epochs < 0 or transforms.train is not None):
        raise ValueError(
            f"random_crop_epochs ({random_crop_epochs}) must be >= 0 and switches the default training pipeline: "
            "leave it unset with transforms.train (or switch yours with translate.data.datamodule.SwitchAtEpoch)"
        )


def build_source(section: Any) -> DataSource:
    """A source from a parsed config's ``{class_path, init_args}`` (jsonargparse has made the class path dotted), or
    the source itself."""
    if isinstance(section, DataSource):
        return section
    section = dict(section)
    module, _, name = str(section.get("class_path", "")).rpartition(".")
    cls = getattr(importlib.import_module(module), name, None) if module else None
    if not (isinstance(cls, type) and issubclass(cls, DataSource)):
        raise ValueError(f"data.source.class_path {section.get('class_path')!r} is not a data source; {SOURCES_HINT}")
    return cls(**dict(section.get("init_args") or {}))


SOURCES_HINT = ("the sources: DomainFolders, AttributeFile, MatchedPairs, AlignedPairs (translate.data.sources, "
                "paired), ImageFolder, ClassFolders (translate.data.image_folder)")  # fmt: skip


# Lightning stores a data module's state_dict under its class's name; a run resumes exactly (mid-epoch) whichever of
# these wrote the checkpoint and whichever reads it (AtomicCheckpointIO.load_checkpoint).
DATA_STATE_NAMES = ("ImageDataModule", "UnpairedDataModule", "ImageFolderDataModule")


def with_data_state_for_every_name(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """``checkpoint`` with its data module state (the resume position) under each of ``DATA_STATE_NAMES``."""
    state = next((checkpoint[name] for name in DATA_STATE_NAMES if name in checkpoint), None)
    if state is not None:
        for name in DATA_STATE_NAMES:
            checkpoint.setdefault(name, state)
    return checkpoint


class UnpairedDataModule(ImageDataModule):
    """Deprecated: the data module from before data sources were classes, its source's options spelled flat
    (``data.root``, ``data.attr_file``, ``data.pairing``, ...). It builds the source they describe (``legacy_source``)
    and is an ``ImageDataModule`` in every other way, so that run folders' saved configs (``class_path:
    translate.data.datamodule.UnpairedDataModule``) and scripts calling it keep working; ``OLD_SPELLINGS`` has the new
    spelling of each option."""

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
        train_transform: Pipeline | None = None,
        eval_transform: Pipeline | None = None,
        batch_size: int = 1,
        num_workers: int | None = None,
        seed: int = 0,
        attr_file: Path | None = None,
        val_count: int = 1999,
        bad_images: BadImages = "skip",
        pairing: Literal["unpaired", "aligned", "matched"] = "unpaired",
        paired_direction: Literal["a2b", "b2a"] = "a2b",
    ):
        folders = {"domains": domains, "train_dirs": train_dirs, "val_dirs": val_dirs, "channels": channels}
        source = legacy_source(root, folders, attr_file, val_count, bad_images, pairing, paired_direction)
        transforms = Transforms(train_transform, eval_transform)
        super().__init__(source, load_size=load_size, crop_size=crop_size, random_crop_epochs=random_crop_epochs,
                         transforms=transforms, batch_size=batch_size, num_workers=num_workers, seed=seed)  # fmt: skip

    @classmethod
    def source_from(cls, init_args: Mapping[str, Any]) -> DataSource:
        args = dict(init_args)
        folders = {key: args.get(key) for key in ("domains", "train_dirs", "val_dirs")}
        return legacy_source(args.get("root"), {**folders, "channels": args.get("channels", 3)}, args.get("attr_file"),
                             args.get("val_count", 1999), args.get("bad_images", "skip"),
                             args.get("pairing", "unpaired"), args.get("paired_direction", "a2b"))  # fmt: skip


def legacy_source(
    root: Path | None,
    folders: dict[str, Any],
    attr_file: Path | None,
    val_count: int,
    bad_images: BadImages,
    pairing: str,
    direction: str,
) -> DataSource:
    """The source the old flat data options describe (``UnpairedDataModule``)."""
    if pairing not in ("unpaired", "aligned", "matched"):
        raise ValueError(f"pairing must be 'unpaired', 'aligned' or 'matched', got {pairing!r}")
    if pairing != "unpaired" and attr_file is not None:
        raise ValueError(f"pairing: {pairing} pairs images, data.attr_file labels them; use one or the other")
    if pairing == "aligned" and (folders["train_dirs"] is not None or folders["val_dirs"] is not None):
        raise ValueError("pairing: aligned reads root/train, root/val and root/test (A|B images); drop "
                         "data.train_dirs and data.val_dirs, or use pairing: matched for two folders of matching file "
                         "names")  # fmt: skip
    if pairing == "aligned":
        if root is None:
            raise ValueError("pairing: aligned needs data.root, the folder of train/, val/ and test/ (A|B images)")
        return AlignedPairs(root, direction=direction, channels=folders["channels"], bad_images=bad_images)
    if pairing == "matched":
        return MatchedPairs(root, direction=direction, bad_images=bad_images, **folders)
    if attr_file is not None:
        if folders["domains"] is None:
            raise ValueError("a StarGAN on data.attr_file needs the attribute names: set data.domains (the labels, in "
                             "order)")  # fmt: skip
        if root is None:
            raise ValueError("data.attr_file needs data.root, the folder of the images (or of images/)")
        return AttributeFile(attr_file, root, domains=folders["domains"], val_count=val_count,
                             channels=folders["channels"])  # fmt: skip
    return DomainFolders(root, bad_images=bad_images, **folders)


# The options the old data module took flat, and where they are now: `data: {root: ...}` without a class_path is
# refused in one line that says this (translate.training.cli), as is a source given an option it does not take.
OLD_SPELLINGS = {
    "root": "data.source.init_args.root, e.g. data.source: {class_path: DomainFolders, init_args: {root: DIR}}",
    "domains": "data.source.init_args.domains (DomainFolders, MatchedPairs, AttributeFile)",
    "train_dirs": "data.source.init_args.train_dirs (data.source: {class_path: DomainFolders, init_args: "
    "{train_dirs: [...]}})",
    "val_dirs": "data.source.init_args.val_dirs (DomainFolders, MatchedPairs)",
    "attr_file": "data.source: {class_path: AttributeFile, init_args: {attr_file: FILE, root: DIR, domains: [...]}}",
    "val_count": "data.source.init_args.val_count (AttributeFile)",
    "pairing": "the source's class: data.source: {class_path: AlignedPairs} (aligned A|B images) or MatchedPairs "
    "(matched folders), init_args: {root: DIR}",
    "paired_direction": "data.source.init_args.direction (AlignedPairs, MatchedPairs)",
    "channels": "data.source.init_args.channels",
    "bad_images": "data.source.init_args.bad_images",
    "train_transform": "data.transforms.train",
    "eval_transform": "data.transforms.eval",
    "conditional": "data.source: {class_path: ClassFolders, init_args: {root: DIR}} (one folder per class); "
    "ImageFolder without classes",
    "class_dirs": "data.source.init_args.class_dirs (ClassFolders)",
    "class_names": "data.source.init_args.class_names (ClassFolders)",
}


def old_spelling_message(key: str) -> str | None:
    """One line for ``data.<key>``, an option of the old data modules, naming its new spelling; None for another key."""
    if key not in OLD_SPELLINGS:
        return None
    old = "ImageFolderDataModule" if key in ("conditional", "class_dirs", "class_names") else "UnpairedDataModule"
    return (f"data.{key} is the old spelling: write {OLD_SPELLINGS[key]} (docs/architecture.md), or keep the old "
            f"options with data.class_path: {old}")  # fmt: skip
