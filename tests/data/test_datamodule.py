"""UnpairedDataModule on tiny folders: batches (shape, dtype, range, domain order), the validation and test loaders,
explicit folders, errors naming the path, transforms from a YAML config, whole images instead of crops after
``random_crop_epochs`` (CUT's decay epochs; also after a resume), and random folder trees (fuzzing, issue 7:
the only errors allowed are the documented ones, docs/troubleshooting.md, each naming a folder or file).
"""

import warnings
from pathlib import Path

import albumentations as A
import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonargparse import ArgumentParser
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor

from translate.data import UnpairedDataModule
from translate.data.datamodule import default_transforms
from translate.data.images import UndecodableImageError, read_image, to_tensor


def test_train_batches(tiny_data, tiny_domains):
    dm = tiny_data(tiny_domains)
    dm.setup("fit")
    assert len(dm.train_set) == 6  # max(len A, len B), as the official CycleGAN
    loader = dm.train_dataloader()
    batches = list(loader)
    assert len(batches) == 3
    real_a, real_b = batches[0]
    assert isinstance(batches[0], tuple) and real_a.shape == real_b.shape == (2, 3, 16, 16)
    assert real_a.dtype == torch.float32 and real_a.min() >= -1 and real_a.max() <= 1
    # domain order: A is reddish, B greenish
    assert real_a[:, 0].mean() > real_a[:, 1].mean() and real_b[:, 1].mean() > real_b[:, 0].mean()
    assert dm.domains == ["A", "B"] and dm.spec.channels == 3


def test_val_batches_are_deterministic_and_span_the_range(tiny_data, tiny_domains):
    dm = tiny_data(tiny_domains)
    dm.setup("fit")
    first, second = list(dm.val_dataloader()), list(dm.val_dataloader())
    assert len(first) == 1 and all(torch.equal(x, y) for x, y in zip(first[0], second[0], strict=True))
    values = torch.cat(first[0])  # pixels 0..249 in the files
    assert -1 <= values.min() < -0.99 and 0.9 < values.max() <= 1
    real_a, real_b = next(iter(tiny_data(tiny_domains, crop_size=12).val_dataloader()))
    assert real_a.shape == real_b.shape == (2, 3, 12, 12)  # eval resizes straight to crop_size


def test_crop_size_and_grayscale(tiny_data, tiny_domains):
    dm = tiny_data(tiny_domains, load_size=14, crop_size=10, channels=1, batch_size=3)
    real_a, real_b = next(iter(dm.train_dataloader()))
    assert real_a.shape == real_b.shape == (3, 1, 10, 10)


def test_domain_order_follows_domains(tiny_data, tiny_domains):
    real_b, real_a = next(iter(tiny_data(tiny_domains, domains=["B", "A"]).train_dataloader()))
    assert real_b[:, 1].mean() > real_b[:, 0].mean() and real_a[:, 0].mean() > real_a[:, 1].mean()


def test_test_loader_is_the_validation_data_or_names_the_missing_folders(
    tiny_data, write_images, tiny_domains, tmp_path
):
    dm = tiny_data(tiny_domains)
    test_batch, val_batch = next(iter(dm.test_dataloader())), next(iter(dm.val_dataloader()))
    assert all(torch.equal(x, y) for x, y in zip(test_batch, val_batch, strict=True))
    for name in ("trainA", "trainB"):
        write_images(tmp_path / "no_test" / name, 2)
    with pytest.raises(FileNotFoundError, match=r"no test folders: none of .*testA or .*test/A, .*testB.*val_dirs"):
        tiny_data(tmp_path / "no_test").test_dataloader()
    with pytest.raises(FileNotFoundError, match="pass val_dirs"):
        tiny_data(None, train_dirs=[tiny_domains / "trainA", tiny_domains / "trainB"]).test_dataloader()


def test_explicit_dirs_without_val_skip_validation(write_images, tmp_path):
    dirs = [tmp_path / "left", tmp_path / "right"]
    write_images(dirs[0], 3, colour=0)
    write_images(dirs[1], 2, colour=1)
    dm = UnpairedDataModule(train_dirs=dirs, load_size=18, crop_size=16, num_workers=0)
    dm.setup("fit")
    assert len(dm.train_set) == 3 and dm.val_dataloader() == []
    real_a, real_b = dm.sample_batch(4)  # falls back to the training images, un-augmented
    assert real_a.shape == (4, 3, 16, 16) and torch.equal(real_a, dm.sample_batch(4)[0])


class _Probe(LightningModule):
    """Counts the steps Lightning runs."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.val_steps = 0

    def training_step(self, batch, batch_idx):
        real_a, real_b = batch
        return (self.weight * real_a.mean() - real_b.mean()) ** 2

    def validation_step(self, batch, batch_idx):
        self.val_steps += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.filterwarnings("ignore:Total length of `list` across ranks is zero")  # Lightning on the empty val list
@pytest.mark.parametrize("with_test_folders", [True, False])
def test_fit_validates_only_with_test_folders(tiny_data, tiny_domains, tmp_path, with_test_folders):
    if not with_test_folders:
        for name in ("testA", "testB"):
            for path in (tiny_domains / name).iterdir():
                path.unlink()
            (tiny_domains / name).rmdir()
    probe = _Probe()
    trainer = Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(probe, datamodule=tiny_data(tiny_domains))
    assert trainer.global_step == 3
    assert probe.val_steps == (1 + 1 if with_test_folders else 0)  # sanity check + one epoch


def test_sample_batch_uses_val_images(tiny_data, tiny_domains):
    dm = tiny_data(tiny_domains)
    real_a, real_b = dm.sample_batch(3)
    assert real_a.shape == (3, 3, 16, 16) and torch.equal(real_b, dm.sample_batch(3)[1])


# --- CUT's decay epochs: whole images instead of random crops ------------------------------------------------------


def _views(folder: Path, load_size: int, crop_size: int) -> tuple[list[Tensor], list[Tensor]]:
    """What training may give of the folder's images: every ``crop_size`` crop (any offset, either flip) of each image
    resized to ``load_size``, and each whole image resized to ``crop_size`` (either flip)."""
    crops, wholes = [], []
    for path in sorted(folder.iterdir()):
        image = read_image(path)
        resized = to_tensor(default_transforms(load_size, load_size)[1](image=image)["image"])  # (C, load, load)
        whole = to_tensor(default_transforms(crop_size, crop_size)[1](image=image)["image"])  # (C, crop, crop)
        offsets = range(load_size - crop_size + 1)
        for view in (resized, resized.flip(-1)):
            crops += [view[:, y : y + crop_size, x : x + crop_size] for y in offsets for x in offsets]
        wholes += [whole, whole.flip(-1)]
    return crops, wholes


def _check_views(batch: tuple[Tensor, ...], views: list[tuple[list[Tensor], list[Tensor]]], cropped: bool) -> None:
    for images, (crops, wholes) in zip(batch, views, strict=True):
        for image in images:
            assert any(torch.equal(image, crop) for crop in crops) == cropped
            assert any(torch.equal(image, whole) for whole in wholes) != cropped


@pytest.mark.parametrize("num_workers", [0, 1])
def test_random_crops_until_random_crop_epochs_then_whole_images(write_images, tmp_path, num_workers):
    """The official CUT (data/unaligned_dataset.py) resizes straight to crop_size in its decay epochs, flip only."""
    root = tmp_path / "wide"
    for domain, colour in (("A", 0), ("B", 1)):
        write_images(root / f"train{domain}", 3, size=(32, 20), colour=colour)
    dm = UnpairedDataModule(root, load_size=24, crop_size=16, num_workers=num_workers, random_crop_epochs=2)
    views = [_views(root / f"train{domain}", 24, 16) for domain in "AB"]
    loader = dm.train_dataloader()
    for epoch in range(4):
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            _check_views(batch, views, cropped=epoch < 2)


class _Batches(Callback):
    """The batches training sees: {global step: (epoch, batch)}."""

    def __init__(self):
        self.seen: dict[int, tuple[int, tuple[Tensor, ...]]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        self.seen[trainer.global_step] = (trainer.current_epoch, tuple(images.clone() for images in batch))


def _fit_batches(tiny_domains: Path, root: Path, **fit) -> dict[int, tuple[int, tuple[Tensor, ...]]]:
    """Three epochs of 3 batches, switching to whole images after the first, with a checkpoint after every batch."""
    batches, every_batch = _Batches(), ModelCheckpoint(every_n_train_steps=1, save_top_k=-1)
    trainer = Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=root, callbacks=[batches, every_batch])  # fmt: skip
    # root as a str: Lightning loads the checkpoint weights_only, which refuses a Path in the saved hyperparameters
    data = UnpairedDataModule(str(tiny_domains), load_size=24, crop_size=16, batch_size=2, num_workers=0,
                              random_crop_epochs=1)  # fmt: skip
    trainer.fit(_Probe(), datamodule=data, **fit)
    return batches.seen


@pytest.mark.parametrize("saved_at", [4, 6])  # batches done: part of epoch 1 (after the switch), or all of it
def test_a_run_resumed_after_the_switch_still_sees_whole_images(tiny_domains, tmp_path, saved_at):
    full = _fit_batches(tiny_domains, tmp_path / "full")
    checkpoint = tmp_path / "full" / "checkpoints" / f"epoch=1-step={saved_at}.ckpt"
    resumed = _fit_batches(tiny_domains, tmp_path / "resumed", ckpt_path=checkpoint)
    assert sorted(resumed) == list(range(saved_at, 9))
    for step, (epoch, batch) in resumed.items():
        assert epoch == full[step][0] and all(map(torch.equal, batch, full[step][1])), f"step {step} differs"
    views = [_views(tiny_domains / f"train{domain}", 24, 16) for domain in "AB"]
    for epoch, batch in full.values():
        _check_views(batch, views, cropped=epoch < 1)


# --- errors -----------------------------------------------------------------------------------------------------------


def test_errors_name_the_path(tiny_data, tmp_path, tiny_domains):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        tiny_data(tmp_path / "nowhere").setup("fit")
    with pytest.raises(FileNotFoundError, match=r"trainC.*official.*train/C"):
        tiny_data(tiny_domains, domains=["A", "C"]).setup("fit")
    for path in (tiny_domains / "trainB").iterdir():
        path.unlink()
    with pytest.raises(ValueError, match="no images.*trainB"):
        tiny_data(tiny_domains).setup("fit")
    with pytest.raises(FileNotFoundError, match="gone"):
        UnpairedDataModule(train_dirs=[tiny_domains / "trainA", tmp_path / "gone"]).setup("fit")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"domains": ["A"]}, "two or more distinct"),
        ({"domains": ["A", "A"]}, "two or more distinct"),
        ({"train_dirs": ["x", "y", "z"], "domains": ["A", "B"]}, "3 folders but domains has 2"),
        ({"channels": 2}, r"1 \(grayscale\) or 3"),
        ({"load_size": 8, "crop_size": 16}, "load_size"),
        ({"random_crop_epochs": -1}, "must be >= 0"),
        ({"random_crop_epochs": 200, "train_transform": A.HorizontalFlip()}, "leave it unset with transforms.train"),
    ],
)
def test_bad_arguments(tiny_domains, kwargs, message):
    with pytest.raises(ValueError, match=message):
        UnpairedDataModule(tiny_domains, **kwargs)


def test_needs_root_or_dirs():
    with pytest.raises(ValueError, match="set root to a dataset folder"):
        UnpairedDataModule()


# --- configuration ----------------------------------------------------------------------------------------------------


CONFIG = """
data:
  root: {root}
  domains: [A, B]
  num_workers: 0
  batch_size: 2
  crop_size: 12
  train_transform:
    class_path: albumentations.Compose
    init_args:
      transforms:
        - {{class_path: Resize, init_args: {{height: 20, width: 20}}}}
        - {{class_path: RandomCrop, init_args: {{height: 12, width: 12}}}}
        - class_path: HorizontalFlip
  eval_transform: {{class_path: Resize, init_args: {{height: 12, width: 12}}}}
"""


def test_transforms_from_yaml_config(tiny_domains):
    parser = ArgumentParser()
    parser.add_class_arguments(UnpairedDataModule, "data")
    config = parser.parse_string(CONFIG.format(root=tiny_domains))
    dm = parser.instantiate(config).data
    assert isinstance(dm.train_transform, A.Compose) and len(dm.train_transform.transforms) == 3
    assert next(iter(dm.train_dataloader()))[0].shape == (2, 3, 12, 12)
    assert dm.sample_batch(1)[1].shape == (1, 3, 12, 12)
    dumped = yaml.safe_load(parser.dump(config))["data"]
    assert dumped["train_transform"]["init_args"]["transforms"][1]["class_path"] == "albumentations.RandomCrop"


# --- fuzzing ----------------------------------------------------------------------------------------------------------


def _documented(error: Exception, folder: Path) -> bool:
    """The errors docs/troubleshooting.md lists for junk folders, naming the folder or a file in it."""
    text = str(error)
    messages = ("no images (", "can be decoded", "cannot decode ")
    return isinstance(error, ValueError) and any(m in text for m in messages) and str(folder) in text


@settings(settings.get_profile("fuzz"))
@given(data=st.data(), bad_images=st.sampled_from(["skip", "fail"]), channels=st.sampled_from([1, 3]))
def test_data_module_on_random_trees(random_trees, tiny_data, tmp_path, data, bad_images, channels):
    files = data.draw(random_trees.files)
    root = tmp_path / "fuzz"
    random_trees.write(root / "trainA", files)
    random_trees.write(root / "trainB", [("", "ok.png", ("RGB", 20, 20, 0))])
    dm = tiny_data(root, load_size=16, channels=channels, bad_images=bad_images)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped and small images warn; the assertions are on the outcome
        try:
            dm.setup("fit")
            real_a, real_b = next(iter(dm.train_dataloader()))
        except (ValueError, UndecodableImageError) as error:
            assert _documented(error, root / "trainA"), error
            return
    assert real_a.shape[1:] == (channels, 16, 16) and real_a.abs().max() <= 1
    assert real_b.shape == real_a.shape


def test_a_source_that_never_validates_shows_lightning_no_validation_data(tmp_path, tiny_domains):
    # Lightning warns "You passed in a val_dataloader but have no validation_step" on every fit of a noise model
    # when the data module's class overrides val_dataloader; the noise sources have no validation data at all.
    import pickle

    from lightning.pytorch.utilities.model_helpers import is_overridden

    from translate.data.datamodule import ImageDataModule
    from translate.data.image_folder import ClassFolders, ImageFolder
    from translate.data.sources import DomainFolders

    for source in (ImageFolder(root=tmp_path), ClassFolders(root=tmp_path)):
        module = ImageDataModule(source, load_size=16, crop_size=16)
        assert not is_overridden("val_dataloader", module)
        assert not is_overridden("val_dataloader", pickle.loads(pickle.dumps(module)))  # a spawned process too
    folders = ImageDataModule(DomainFolders(root=tiny_domains), load_size=16, crop_size=12)
    assert is_overridden("val_dataloader", folders) and len(folders.val_dataloader()) > 0
