"""StarGAN: official networks, label conditioning, the WGAN-GP objective, the critic schedule, data labels, predict."""

from functools import partial

import pytest
import torch
from lightning.pytorch import Trainer

from tests.conftest import write_images
from translate import losses
from translate.data import UnpairedDataModule
from translate.models import StarGAN
from translate.networks import StarGANDiscriminator, StarGANGenerator

DOMAINS = ["red", "green", "blue"]


def tiny_stargan(domains=DOMAINS, **kwargs) -> StarGAN:
    kwargs = {"image_size": 16, "n_critic": 1, **kwargs}
    return StarGAN(
        partial(StarGANGenerator, base_channels=4, num_blocks=1),
        partial(StarGANDiscriminator, base_channels=4, num_layers=2),
        domains=domains,
        **kwargs,
    )


@pytest.fixture
def three_domains(tmp_path):
    """root/train/<domain> and root/test/<domain> of 16x16 PNGs tinted red, green and blue."""
    root = tmp_path / "rgb"
    for colour, domain in enumerate(DOMAINS):
        write_images(root / "train" / domain, 4, colour=colour)
        write_images(root / "test" / domain, 2, colour=colour)
    return root


def data_module(root, **kwargs) -> UnpairedDataModule:
    options = {"domains": DOMAINS, "load_size": 16, "crop_size": 16, "batch_size": 2, "num_workers": 0}
    return UnpairedDataModule(root, **{**options, **kwargs})


def test_official_parameter_counts_and_keys():
    gen, disc = StarGANGenerator(3 + 5, 3), StarGANDiscriminator(3)
    model = StarGAN(StarGANGenerator, StarGANDiscriminator, domains=list("abcde"), image_size=128)
    assert sum(p.numel() for p in model.gen.parameters()) == sum(p.numel() for p in gen.parameters()) == 8_430_528
    disc_params = [*model.disc.parameters(), *model.classifier.parameters()]
    assert sum(p.numel() for p in disc_params) == 44_762_048
    assert model.classifier.weight.shape == (5, 2048, 2, 2)  # official conv2
    assert [tuple(p.shape) for p in disc_params][:2] == [(64, 3, 4, 4), (64,)]
    assert list(disc.state_dict())[-1] == "conv1.weight" and "main.1.running_mean" in gen.state_dict()


def test_label_conditioning_changes_the_output():
    model = tiny_stargan().eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    red, blue = model(x, torch.tensor([1.0, 0, 0])), model(x, torch.tensor([0, 0, 1.0]))
    assert red.shape == x.shape and not torch.allclose(red, blue)


def test_gradient_penalty_is_added_with_its_sign_and_weight(monkeypatch):
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


def test_n_critic_discriminator_steps_per_generator_step(three_domains):
    model = tiny_stargan(n_critic=5)
    trainer = Trainer(accelerator="cpu", max_epochs=3, limit_val_batches=0, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, datamodule=data_module(three_domains, batch_size=1))  # 3 epochs of 4 batches
    opt_g, opt_d = model.optimizers()
    step = lambda opt: int(next(iter(opt.optimizer.state.values()))["step"])  # noqa: E731
    assert (step(opt_d), step(opt_g)) == (12, 2)  # G after batches 5 and 10, as the official (i + 1) % 5


def test_reconstruction_loss_decreases(three_domains):
    model = tiny_stargan(lambda_rec=10.0, optimizer=partial(torch.optim.Adam, lr=2e-3, betas=(0.5, 0.999)))
    data = data_module(three_domains)
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


def test_folder_per_domain_labels_follow_domains_order(three_domains):
    model = tiny_stargan()
    images, labels = model.unpack(data_module(three_domains).sample_batch(2))
    assert images.shape == (6, 3, 16, 16)
    assert labels.tolist() == torch.eye(3).repeat_interleave(2, 0).tolist()
    assert images[0, 0].mean() > images[0, 1].mean() and images[2, 1].mean() > images[2, 0].mean()  # red, green


def test_two_domain_official_layout_works_as_two_domains(tiny_domains):
    model = tiny_stargan(domains=["A", "B"])
    data = UnpairedDataModule(tiny_domains, load_size=16, crop_size=16, num_workers=0)
    _, labels = model.unpack(data.sample_batch(1))
    assert labels.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_exclusive_groups_stay_one_hot_in_random_and_changed_targets():
    attrs = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    model = tiny_stargan(attrs, label_mode="multi", exclusive_groups=[attrs[:3]])
    labels = torch.tensor([[1.0, 0, 0, 1, 0]] * 64)
    target = model.random_targets(labels)
    assert (target[:, :3].sum(1) == 1).all() and 0 < target[:, 3:].mean() < 1
    blond = model.changed(labels, "Blond_Hair")
    assert blond[0].tolist() == [0, 1, 0, 1, 0]
    assert model.changed(labels, "Male")[0].tolist() == [1, 0, 0, 0, 0]  # outside a group: flipped


def test_mismatched_domains_are_a_clear_error(three_domains):
    model = tiny_stargan(domains=["red", "green", "violet"])
    trainer = Trainer(accelerator="cpu", fast_dev_run=1, logger=False)
    with pytest.raises(ValueError, match="domains"):
        trainer.fit(model, datamodule=data_module(three_domains))


def test_attribute_file_gives_the_selected_labels(tmp_path):
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
    model = tiny_stargan(attrs, label_mode="multi", exclusive_groups=[attrs[:3]])
    trainer = Trainer(accelerator="cpu", fast_dev_run=2, logger=False)
    trainer.fit(model, datamodule=data)
    assert (model.random_targets(labels)[:, :3].sum(1) == 1).all()
