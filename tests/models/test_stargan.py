"""StarGAN: official networks, label conditioning, the WGAN-GP objective, the critic schedule, data labels, metrics,
bf16-mixed precision.
"""

from functools import partial
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch import Callback, Trainer
from PIL import Image

from translate import losses
from translate.data import ImageDataModule, UnpairedDataModule
from translate.data.layouts import discover_domains
from translate.data.sources import DomainFolders
from translate.models import StarGAN
from translate.networks import StarGANDiscriminator, StarGANGenerator
from translate.schedules import LinearDecayLR
from translate.training.callbacks import SampleGrid

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def three_domains(rgb_domains, write_images):
    """root/train/<domain> and root/test/<domain> of 16x16 PNGs tinted red, green and blue."""
    for colour, domain in enumerate(["red", "green", "blue"]):
        write_images(rgb_domains / "test" / domain, 2, colour=colour)
    return rgb_domains


def test_official_parameter_counts_and_keys():
    gen, disc = StarGANGenerator(3 + 5, 3), StarGANDiscriminator(3)
    model = StarGAN(StarGANGenerator, StarGANDiscriminator, domains=list("abcde"), image_size=128)
    assert sum(p.numel() for p in model.gen.parameters()) == sum(p.numel() for p in gen.parameters()) == 8_430_528
    disc_params = [*model.disc.parameters(), *model.classifier.parameters()]
    assert sum(p.numel() for p in disc_params) == 44_762_048
    assert model.classifier.weight.shape == (5, 2048, 2, 2)  # official conv2
    assert [tuple(p.shape) for p in disc_params][:2] == [(64, 3, 4, 4), (64,)]
    assert list(disc.state_dict())[-1] == "conv1.weight" and "main.1.running_mean" in gen.state_dict()


def test_label_conditioning_changes_the_output(tiny_stargan):
    model = tiny_stargan().eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    red, blue = model(x, torch.tensor([1.0, 0, 0])), model(x, torch.tensor([0, 0, 1.0]))
    assert red.shape == x.shape and not torch.allclose(red, blue)


def test_gradient_penalty_is_added_with_its_sign_and_weight(tiny_stargan, monkeypatch):
    model = tiny_stargan()
    model.log_dict = model.log = lambda *args, **kwargs: None
    real, labels = torch.rand(2, 3, 16, 16) * 2 - 1, torch.eye(3)[[0, 2]]
    target = torch.eye(3)[[1, 1]]

    def total(gp_value: float, lambda_gp: float) -> float:
        monkeypatch.setattr(losses, "gradient_penalty", lambda critic, r, f: torch.tensor(gp_value))
        model.hparams.lambda_gp = lambda_gp
        torch.manual_seed(0)
        return model._discriminator_losses(real, labels, target).item()

    assert total(0.5, 10.0) - total(0.0, 10.0) == pytest.approx(5.0, abs=1e-5)
    assert total(0.5, 3.0) - total(0.0, 3.0) == pytest.approx(1.5, abs=1e-5)


def test_n_critic_discriminator_steps_per_generator_step(tiny_stargan, rgb_data, three_domains):
    model = tiny_stargan(n_critic=5)
    trainer = Trainer(accelerator="cpu", max_epochs=3, limit_val_batches=0, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, datamodule=rgb_data(three_domains, batch_size=1))  # 3 epochs of 4 batches
    opt_g, opt_d = model.optimizers()
    step = lambda opt: int(next(iter(opt.optimizer.state.values()))["step"])  # noqa: E731
    assert (step(opt_d), step(opt_g)) == (12, 2)  # G after batches 5 and 10, as the official (i + 1) % 5


def test_reconstruction_loss_decreases(tiny_stargan, rgb_data, three_domains):
    model = tiny_stargan(lambda_rec=10.0, optimizer=partial(torch.optim.Adam, lr=2e-3, betas=(0.5, 0.999)))
    data = rgb_data(three_domains)
    real, labels = model.unpack(data.sample_batch(2))
    target = model.random_targets(labels, torch.Generator().manual_seed(1))

    def rec() -> float:
        with torch.no_grad():
            return losses.l1(model(model(real, target), labels), real).item()

    before = rec()
    trainer = Trainer(accelerator="cpu", max_steps=60, limit_val_batches=0, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, datamodule=data)
    assert rec() < 0.7 * before


def test_folder_per_domain_labels_follow_domains_order(tiny_stargan, rgb_data, three_domains):
    model = tiny_stargan()
    images, labels = model.unpack(rgb_data(three_domains).sample_batch(2))
    assert images.shape == (6, 3, 16, 16)
    assert labels.tolist() == torch.eye(3).repeat_interleave(2, 0).tolist()
    assert images[0, 0].mean() > images[0, 1].mean() and images[2, 1].mean() > images[2, 0].mean()  # red, green


def test_two_domain_official_layout_works_as_two_domains(tiny_stargan, tiny_domains):
    model = tiny_stargan(domains=["A", "B"])
    data = UnpairedDataModule(tiny_domains, load_size=16, crop_size=16, num_workers=0)
    _, labels = model.unpack(data.sample_batch(1))
    assert labels.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_exclusive_groups_stay_one_hot_in_random_and_changed_targets(tiny_stargan):
    attrs = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    model = tiny_stargan(domains=attrs, label_mode="multi", exclusive_groups=[attrs[:3]])
    labels = torch.tensor([[1.0, 0, 0, 1, 0]] * 64)
    target = model.random_targets(labels)
    assert (target[:, :3].sum(1) == 1).all() and 0 < target[:, 3:].mean() < 1
    blond = model.changed(labels, "Blond_Hair")
    assert blond[0].tolist() == [0, 1, 0, 1, 0]
    assert model.changed(labels, "Male")[0].tolist() == [1, 0, 0, 0, 0]  # outside a group: flipped


def test_mismatched_domains_are_a_clear_error(tiny_stargan, rgb_data, three_domains):
    model = tiny_stargan(domains=["red", "green", "violet"])
    trainer = Trainer(accelerator="cpu", fast_dev_run=1, logger=False)
    with pytest.raises(ValueError, match="domains"):
        trainer.fit(model, datamodule=rgb_data(three_domains))


def test_attribute_file_gives_the_selected_labels(tiny_stargan, write_images, tmp_path):
    attrs = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    names = [p.name for p in write_images(tmp_path / "celeba" / "images", 6)]
    header = ["5_o_Clock_Shadow", "Young", "Black_Hair", "Male", "Blond_Hair", "Brown_Hair"]
    rows = [f"{name} -1 {'1' if i % 2 else '-1'} {'1' if i % 3 == 0 else '-1'} 1 {'1' if i % 3 == 1 else '-1'} "
            f"{'1' if i % 3 == 2 else '-1'}" for i, name in enumerate(names)]  # fmt: skip
    (tmp_path / "celeba" / "attrs.txt").write_text("\n".join(["6", " ".join(header), *rows]) + "\n")
    data = UnpairedDataModule(tmp_path / "celeba", attr_file=tmp_path / "celeba" / "attrs.txt", domains=attrs,
                              val_count=2, load_size=16, crop_size=16, batch_size=2, num_workers=0)  # fmt: skip
    data.setup("fit")
    assert len(data.train_set) == 4 and len(data.val_set) == 2
    for path, labels in zip(data.train_set.paths, data.train_set.labels, strict=True):
        i = names.index(path.name)
        assert labels.tolist() == [i % 3 == 0, i % 3 == 1, i % 3 == 2, 1, i % 2]
    images, labels = next(iter(data.train_dataloader()))
    assert images.shape == (2, 3, 16, 16) and labels.shape == (2, 5)
    model = tiny_stargan(domains=attrs, label_mode="multi", exclusive_groups=[attrs[:3]])
    trainer = Trainer(accelerator="cpu", fast_dev_run=2, logger=False)
    trainer.fit(model, datamodule=data)
    assert (model.random_targets(labels)[:, :3].sum(1) == 1).all()


def quiet_trainer(**kwargs) -> Trainer:
    options = {"accelerator": "cpu", "logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
               "enable_model_summary": False}  # fmt: skip
    return Trainer(**{**options, **kwargs})


def test_domains_come_from_the_folder_names_or_must_be_given(rgb_data, tiny_stargan, three_domains):
    with pytest.raises(ValueError, match=r"StarGAN needs domains.*discover_domains\(root\)"):
        tiny_stargan(domains=None)
    data = rgb_data(three_domains, domains=None)  # discovered: sorted folder names
    model = tiny_stargan(domains=discover_domains(three_domains))
    assert data.domains == model.domains == ["blue", "green", "red"]
    quiet_trainer(fast_dev_run=1).fit(model, datamodule=data)


def test_folders_config_needs_no_domains(three_domains):
    config = yaml.safe_load((REPO / "configs" / "stargan_folders.yaml").read_text())
    assert "domains" not in config["model"]["init_args"] and "domains" not in config["data"]["source"]["init_args"]
    options = {key: value for key, value in config["data"].items() if key != "source"}
    data = ImageDataModule(DomainFolders(three_domains), **{**options, "num_workers": 0})
    assert data.domains == ["blue", "green", "red"] and data.batch_size * len(data.domains) == 24


@pytest.mark.parametrize("label_mode, attr_file, option", [("multi", False, "label_mode: single"),
                                                           ("single", True, "label_mode: multi")])  # fmt: skip
def test_a_label_mode_that_does_not_fit_the_data_names_the_option(
    rgb_data, tiny_stargan, three_domains, label_mode, attr_file, option
):
    data = rgb_data(three_domains)
    if attr_file:  # a single-label model given attribute data
        (three_domains / "attrs.txt").write_text("red green blue\n" + "".join(
            f"img_{i:03d}.png 1 -1 -1\n" for i in range(4)))  # fmt: skip
        data = rgb_data(three_domains / "train" / "red", attr_file=three_domains / "attrs.txt", val_count=0)
    with pytest.raises(ValueError, match=f"model.init_args.{option}"):
        quiet_trainer(fast_dev_run=1).fit(tiny_stargan(label_mode=label_mode), datamodule=data)


def test_validation_and_test_metrics(tiny_stargan, rgb_data, three_domains):
    model, data = tiny_stargan(), rgb_data(three_domains)
    (val,) = quiet_trainer().validate(model, datamodule=data, verbose=False)
    (test,) = quiet_trainer().test(model, datamodule=data, verbose=False)
    assert set(val) == {"val/acc_real", "val/acc_fake", "val/rec"} and test == {
        k.replace("val/", "test/"): v for k, v in val.items()
    }  # the same images and targets
    assert 0 <= val["val/acc_real"] <= 1 and 0 <= val["val/acc_fake"] <= 1 and val["val/rec"] > 0
    model.classify = lambda x: x.mean((2, 3))  # logits = channel means: red, green and blue tints classified right
    (right,) = quiet_trainer().validate(model, datamodule=data, verbose=False)
    assert right["val/acc_real"] == 1.0


def test_learning_rate_decays_per_batch_to_zero(tiny_stargan, rgb_data, three_domains):
    schedule = partial(LinearDecayLR, constant_epochs=4, decay_epochs=6)
    model = tiny_stargan(scheduler=schedule, optimizer=partial(torch.optim.Adam, lr=1e-3))
    rates = []

    class RecordRates(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            rates.append([opt.param_groups[0]["lr"] for opt in trainer.optimizers])

    quiet_trainer(max_epochs=3, limit_val_batches=0, callbacks=[RecordRates()]).fit(
        model, datamodule=rgb_data(three_domains, batch_size=1)
    )  # 12 batches of 4 images
    expected = [1e-3 * f for f in [1, 1, 1, 1, 6 / 7, 5 / 7, 4 / 7, 3 / 7, 2 / 7, 1 / 7, 0, 0]]
    assert [g for g, d in rates] == pytest.approx(expected) and [d for g, d in rates] == pytest.approx(expected)


def test_sample_grid_shows_the_input_then_every_target(tiny_stargan, rgb_data, three_domains, tmp_path):
    model, data = tiny_stargan(), rgb_data(three_domains)
    batch = data.sample_batch(2)  # 2 images of each of the 3 domains
    columns = model.sample_columns(batch)
    assert list(columns) == ["real", "to_red", "to_green", "to_blue"]
    assert all(column.shape == (6, 3, 16, 16) for column in columns.values())
    assert torch.equal(columns["real"], torch.cat(batch))
    assert torch.allclose(columns["to_blue"], model(torch.cat(batch), torch.tensor([0.0, 0, 1])))
    quiet_trainer(fast_dev_run=1, callbacks=[SampleGrid(num_images=2, dirpath=tmp_path / "grids")]).fit(
        model, datamodule=data
    )
    with Image.open(next((tmp_path / "grids").glob("start_*.png"))) as grid:
        assert grid.size == (4 * 18 + 2, 6 * 18 + 2)  # 4 columns x 6 rows of 16 px, 2 px padding


def test_bf16_mixed_trains_stargan(tiny_stargan, rgb_data, rgb_domains, tmp_path):
    model = tiny_stargan()  # WGAN-GP: the penalty's double backward under bf16 autocast
    trainer = Trainer(accelerator="cpu", precision="bf16-mixed", max_steps=4, logger=False, limit_val_batches=0,
                      enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(model, datamodule=rgb_data(rgb_domains))
    terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
    assert len(terms) >= 4 and all(torch.isfinite(v) for v in terms.values()), terms
