"""ConditionalGAN: the class reaches both networks (label maps or projection), samples of a class are fixed by their
seed, grids have a column per class, classes must match the data, and `translate fit` takes them from the data."""

from functools import partial
from pathlib import Path

import pytest
import torch

from translate.cli import main
from translate.data.image_folder import ImageFolderDataModule
from translate.models import ConditionalGAN
from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator

REPO = Path(__file__).resolve().parents[2]
TINY = {"generator": partial(DCGANGenerator, base_channels=4, image_size=32),
        "discriminator": partial(DCGANDiscriminator, base_channels=4, image_size=32), "latent_dim": 8}  # fmt: skip


@pytest.fixture
def fruit_folders(tmp_path, write_images):
    """root/apple (red) and root/orange (green tint), 4 32x32 images each."""
    write_images(tmp_path / "fruit" / "apple", 4, size=(32, 32), colour=0)
    write_images(tmp_path / "fruit" / "orange", 4, size=(32, 32), colour=1)
    return tmp_path / "fruit"


def tiny_data(root, **kwargs):
    return ImageFolderDataModule(root, conditional=True, load_size=32, crop_size=32, batch_size=2, num_workers=0,
                                 **kwargs)  # fmt: skip


@pytest.mark.parametrize("condition", ["maps", "projection"])
def test_the_class_reaches_both_networks_and_both_train(condition, fruit_folders, fit, tmp_path):
    model = ConditionalGAN(**TINY, classes=["apple", "orange"], condition=condition)
    assert model.gen.main[0].in_channels == 8 + 2  # z ++ one-hot
    assert model.disc.main[0].in_channels == (3 + 2 if condition == "maps" else 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, tiny_data(fruit_folders), tmp_path)
    for prefix in ("gen.", "disc.", *(("embed.",) if condition == "projection" else ())):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(prefix))
    model.eval()
    real = torch.zeros(2, 3, 32, 32)
    h_apple, h_orange = (model.features(real, torch.tensor([label] * 2)) for label in (0, 1))
    out_apple, out_orange = model.judge(h_apple, torch.tensor([0, 0])), model.judge(h_orange, torch.tensor([1, 1]))
    assert not torch.allclose(out_apple, out_orange)  # D's verdict depends on the class


def test_class_samples_and_grid_columns(fruit_folders):
    model = ConditionalGAN(**TINY, classes=["apple", "orange"]).eval()
    oranges = model.generate(3, seed=5, class_name="orange")
    assert torch.equal(oranges, model.generate(3, seed=5, class_name="orange"))
    assert not torch.equal(oranges, model.generate(3, seed=5, class_name="apple"))  # same z, other class
    assert torch.equal(model.noise(2, torch.tensor([1, 0]))[:, 8:], torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    columns = model.grid_columns(2, seed=5)
    assert list(columns) == ["apple", "orange"]
    assert torch.equal(columns["orange"], model.generate(2, seed=5, class_name="orange"))
    with pytest.raises(ValueError, match="unknown class 'pear'"):
        model.generate(1, class_name="pear")


def test_classes_are_checked_against_the_data(fruit_folders, fit, tmp_path):
    with pytest.raises(ValueError, match="two or more distinct class names"):
        ConditionalGAN(**TINY)
    with pytest.raises(ValueError, match="differ from the data's"):
        fit(ConditionalGAN(**TINY, classes=["orange", "apple"]), tiny_data(fruit_folders), tmp_path)


def test_fit_takes_the_classes_from_the_data_and_sample_draws_one(fruit_folders, tmp_path, capsys):
    config = ["--config", str(REPO / "configs" / "cgan_quickstart.yaml"), "--config", str(REPO / "configs" /
              "debug_noise.yaml")]  # fmt: skip
    # the whole source: jsonargparse reads `--data.source.init_args.class_dirs=null` as the text "None"
    source = f"--data.source={{class_path: ClassFolders, init_args: {{root: {fruit_folders}, class_dirs: null, "
    source += "class_names: null}}"
    main(["fit", *config, source, f"--trainer.default_root_dir={tmp_path}",
          "--trainer.fast_dev_run=false", "--trainer.max_steps=2",
          "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    ckpt = next(tmp_path.rglob("last.ckpt"))
    assert torch.load(ckpt, weights_only=True)["hyper_parameters"]["classes"] == ["apple", "orange"]
    main(
        ["sample", "--ckpt", str(ckpt), "--num", "2", "--class", "orange", "--output", str(tmp_path / "out"), "--grid"]
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["grid.png", "sample_00000.png", "sample_00001.png"]
    with pytest.raises(SystemExit, match="unknown class 'pear'"):
        main(["sample", "--ckpt", str(ckpt), "--class", "pear", "--output", str(tmp_path / "out")])
