"""UnpairedDataModule and friends on tiny folders: discovery, decoding, layouts, sampling, errors, config, fruit."""

import importlib.util
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
import yaml
from jsonargparse import ArgumentParser
from lightning import LightningModule, Trainer
from PIL import Image

from translate.data import UnpairedDataModule
from translate.data.datasets import UnpairedSampler
from translate.data.images import find_images, read_image
from translate.data.layouts import discover_domains

REPO = Path(__file__).resolve().parent.parent


# --- find_images / read_image -----------------------------------------------------------------------------------


def test_find_images_recurses_sorts_and_skips_hidden(write_images, tmp_path):
    write_images(tmp_path / "z", 1)
    write_images(tmp_path / "a" / "deep", 2, ext="JPG")
    write_images(tmp_path / ".cache", 1)  # hidden folder
    (tmp_path / ".hidden.png").write_bytes((tmp_path / "z" / "img_000.png").read_bytes())
    (tmp_path / "notes.txt").write_text("not an image")
    found = find_images(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/deep/img_000.JPG",
        "a/deep/img_001.JPG",
        "z/img_000.png",
    ]


def test_find_images_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        find_images(tmp_path / "missing")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("")
    with pytest.raises(ValueError, match=r"no images \(png, jpg.*empty"):
        find_images(tmp_path / "empty")


GRADIENT = np.linspace(0, 1, 8 * 12).reshape(8, 12)


@pytest.mark.parametrize(
    "image",
    [
        Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert("RGBA"),
        Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert("RGB").convert("P"),
        Image.fromarray((GRADIENT * 255).astype(np.uint8)),  # L
        Image.fromarray((GRADIENT * 65535).astype(np.uint16)),  # I;16: must be scaled down, not clipped to white
        Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert("CMYK"),
        Image.fromarray(GRADIENT.astype(np.float32)),  # F in [0, 1]
    ],
    ids=lambda image: image.mode,
)
@pytest.mark.parametrize("channels", [1, 3])
def test_read_image_converts_any_mode(tmp_path, image, channels):
    path = tmp_path / ("image.jpg" if image.mode == "CMYK" else "image.tif" if image.mode == "F" else "image.png")
    image.save(path)
    pixels = read_image(path, channels)
    assert pixels.shape == (8, 12, channels) and pixels.dtype == np.uint8
    assert pixels.min() <= 10 and pixels.max() >= 240  # the gradient keeps its full range
    assert pixels[:, :, 0].mean() == pytest.approx(127.5, abs=12)


def test_read_image_applies_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (12, 8), "red").save(tmp_path / "rotated.jpg", exif=exif)
    assert read_image(tmp_path / "rotated.jpg", 3).shape == (12, 8, 3)


# --- the data module ----------------------------------------------------------------------------------------------


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
    assert dm.domains == ["A", "B"] and dm.channels == 3


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


def test_folder_per_domain_layout(tiny_data, write_images, tmp_path):
    for split, count in (("train", 3), ("test", 1)):
        write_images(tmp_path / split / "horse", count, colour=0)
        write_images(tmp_path / split / "zebra", count + 1, colour=2)
    dm = tiny_data(tmp_path, domains=["horse", "zebra"])
    dm.setup("fit")
    assert len(dm.train_set) == 4 and len(dm.val_set) == 2


def test_discover_domains_from_folder_names(write_images, tiny_data, tmp_path, tiny_domains):
    for name in ("zebra", "horse", "donkey"):
        write_images(tmp_path / "per_domain" / "train" / name, 1)
    (tmp_path / "per_domain" / "train" / "empty").mkdir()  # no images: not a domain
    write_images(tmp_path / "per_domain" / "train" / ".cache", 1)  # hidden
    assert discover_domains(tmp_path / "per_domain") == ["donkey", "horse", "zebra"]
    assert discover_domains(str(tiny_domains)) == ["A", "B"]  # official layout: trainA, trainB
    (tiny_domains / "train_old").mkdir()  # not trainX: ignored
    for image in (tiny_domains / "trainB").iterdir():
        image.unlink()
    assert discover_domains(tiny_domains) == ["A", "B"]  # an empty trainB stays a domain: its own error names it
    with pytest.raises(ValueError, match="trainB"):
        tiny_data(tiny_domains).setup("fit")
    dm = tiny_data(tmp_path / "per_domain")  # no domains given: discovered
    assert dm.domains == ["donkey", "horse", "zebra"] and len(dm.train_dataloader().dataset.folders) == 3
    with pytest.raises(FileNotFoundError, match="dataset root not found: .*nowhere"):
        discover_domains(tmp_path / "nowhere")
    write_images(tmp_path / "one" / "train" / "horse", 1)
    with pytest.raises(ValueError, match=r"no two domain folders with images under .*one.*train/<domain>"):
        discover_domains(tmp_path / "one")


def test_domains_are_found_on_first_use_and_a_missing_root_says_how_to_make_it(tiny_data, write_images, tmp_path):
    # a config can be parsed (LightningCLI builds the module) before the data exists
    fruit, apple2orange, mine = (tiny_data(tmp_path / name) for name in ("fruit", "apple2orange", "mine"))
    with pytest.raises(FileNotFoundError, match=r"fruit; `python datasets/make_fruit.py --root .*fruit` generates it"):
        _ = fruit.domains
    with pytest.raises(FileNotFoundError, match=r"`translate data download apple2orange --root .*` gets it"):
        apple2orange.setup("fit")
    for name in ("trainA", "trainB"):
        write_images(tmp_path / "mine" / name, 2)
    assert mine.domains == ["A", "B"]  # found now that the folders exist
    with pytest.raises(ValueError, match=r"data.val_dirs has 1 folders but the domains are \['A', 'B'\]"):
        tiny_data(tmp_path / "mine", val_dirs=[tmp_path / "mine" / "trainA"]).setup("validate")


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
    with pytest.raises(FileNotFoundError, match="pass data.val_dirs"):
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


def test_order_does_not_depend_on_workers(tiny_data, tiny_domains):
    def batches(workers):
        dm = tiny_data(tiny_domains, num_workers=workers, train_transform=A.Resize(16, 16), seed=3)
        return list(dm.train_dataloader())

    for serial, parallel in zip(batches(0), batches(2), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(serial, parallel, strict=True))


# --- sampling -----------------------------------------------------------------------------------------------------


def test_sampler_is_reproducible_and_covers_the_first_domain():
    sampler = UnpairedSampler([5, 9, 3], seed=7)
    epoch0 = list(sampler)
    assert len(epoch0) == len(sampler) == 9 and all(len(item.indices) == 3 for item in epoch0)
    assert epoch0 == list(UnpairedSampler([5, 9, 3], seed=7))
    assert sorted({item.indices[0] for item in epoch0}) == list(range(5))
    assert all(0 <= b < 9 and 0 <= c < 3 for _, b, c in (item.indices for item in epoch0))
    assert len({item.seed for item in epoch0}) == 9  # every item gets its own augmentation seed
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0 and sorted({item.indices[0] for item in epoch1}) == list(range(5))


def test_sampler_shards_itself_across_ranks():
    whole = list(UnpairedSampler([4, 6], seed=0))
    shards = [list(UnpairedSampler([4, 6], seed=0, num_replicas=2, rank=rank)) for rank in (0, 1)]
    assert sorted(shards[0] + shards[1]) == sorted(whole)  # the two ranks split one epoch between them
    odd = [list(UnpairedSampler([4, 7], seed=0, num_replicas=2, rank=rank)) for rank in (0, 1)]
    assert len(odd[0]) == len(odd[1]) == 4  # padded by wrapping, as torch's DistributedSampler
    with pytest.raises(ValueError, match="rank"):
        UnpairedSampler([4], num_replicas=2, rank=2)


def test_sampler_skip_resumes_mid_epoch_once():
    sampler = UnpairedSampler([5, 6], seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.skip(epoch=2, items=4)
    sampler.set_epoch(1)
    assert len(list(sampler)) == 6  # an earlier epoch is not shortened (worker loaders may start it early)
    sampler.set_epoch(2)
    assert list(sampler) == full[4:]
    sampler.set_epoch(3)
    assert len(list(sampler)) == 6  # nor a later one, after which the skip is dropped
    sampler.set_epoch(2)
    assert list(sampler) == full


def test_augmentations_depend_on_the_item_not_the_worker(tiny_domains):
    dm = UnpairedDataModule(tiny_domains, load_size=24, crop_size=16, num_workers=0, batch_size=3)
    dm.setup("fit")
    item = next(iter(UnpairedSampler([6, 4], seed=0)))
    first = dm.train_set[item]
    dm.train_set[next(iter(UnpairedSampler([6, 4], seed=1)))]  # other draws in between change nothing
    assert all(torch.equal(a, b) for a, b in zip(first, dm.train_set[item], strict=True))


# --- errors -------------------------------------------------------------------------------------------------------


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
    ],
)
def test_bad_arguments(tiny_domains, kwargs, message):
    with pytest.raises(ValueError, match=message):
        UnpairedDataModule(tiny_domains, **kwargs)


def test_needs_root_or_dirs():
    with pytest.raises(ValueError, match="data.root"):
        UnpairedDataModule()


# --- configuration ------------------------------------------------------------------------------------------------

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


# --- datasets/make_fruit.py ---------------------------------------------------------------------------------------


def _make_fruit():
    spec = importlib.util.spec_from_file_location("make_fruit", REPO / "datasets" / "make_fruit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_make_fruit_is_deterministic_and_refuses_to_overwrite(tmp_path, capsys):
    make_fruit = _make_fruit()
    args = ["--size", "16", "--train", "3", "--test", "1", "--seed", "5"]
    for name in ("one", "two"):
        make_fruit(["--root", str(tmp_path / name), *args])
    assert "wrote 8 16x16 PNGs" in capsys.readouterr().out
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(files) == 8 and {p.parent.name for p in files} == {"trainA", "trainB", "testA", "testB"}
    assert all((tmp_path / "one" / p).read_bytes() == (tmp_path / "two" / p).read_bytes() for p in files)
    capsys.readouterr()
    make_fruit(["--root", str(tmp_path / "one"), *args])  # the same recipe again: nothing to do, no error
    assert "nothing to do" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--force"):  # another recipe over existing data
        make_fruit(["--root", str(tmp_path / "one"), "--size", "16", "--train", "2"])
    make_fruit(["--root", str(tmp_path / "one"), "--force", "--size", "16", "--train", "1", "--test", "0"])
    assert len(list((tmp_path / "one").rglob("*.png"))) == 2 and not (tmp_path / "one" / "testA").exists()
    dm = UnpairedDataModule(tmp_path / "two", load_size=16, crop_size=16, num_workers=0)
    dm.setup("fit")
    assert len(dm.train_set) == 3 and len(dm.val_set) == 1


def test_undecodable_images_are_skipped_with_a_warning_or_fail_on_request(tiny_domains):
    bad = tiny_domains / "trainA" / "img_002.png"
    bad.write_bytes(bad.read_bytes()[:50])  # truncated after the header
    (tiny_domains / "trainA" / "notes.txt").write_text("not an image, ignored by extension")
    dm = UnpairedDataModule(tiny_domains, load_size=16, crop_size=16, batch_size=6, num_workers=0)
    dm.setup("fit")
    with pytest.warns(UserWarning, match=r"skipping .*img_002.png: cannot decode it"):
        real_a, _ = next(iter(dm.train_dataloader()))
    assert real_a.shape == (6, 3, 16, 16) and torch.isfinite(real_a).all()  # the next image took its place
    strict = UnpairedDataModule(tiny_domains, load_size=16, crop_size=16, batch_size=6, num_workers=0,
                                bad_images="fail")  # fmt: skip
    strict.setup("fit")
    with pytest.raises(ValueError, match=r"cannot decode .*img_002.png .*bad_images: skip"):
        next(iter(strict.train_dataloader()))
