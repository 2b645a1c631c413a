"""Pix2Pix as a LightningModule: G and D learn, every term is logged, L1 toward the target falls, validation reports
L1 and PSNR, the official networks have the official sizes, export traces.
"""

from functools import partial

import pytest
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, TensorDataset

from translate import losses
from translate.inference.export import export
from translate.models import Pix2Pix
from translate.networks import PatchDiscriminator, UNetGenerator

SIZE = 16


def tiny_pix2pix(**kwargs) -> Pix2Pix:
    return Pix2Pix(
        partial(UNetGenerator, base_channels=4, num_downs=4, norm="batch", dropout=0.5),
        partial(PatchDiscriminator, base_channels=4, num_layers=2, norm="batch"),
        **kwargs,
    )


class SwappedChannels(LightningDataModule):
    """Paired batches (real_a, real_b): b is a with its colour channels reversed (trivially learnable)."""

    def __init__(self, count: int = 8, batch_size: int = 2):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        # smooth images (4x4 blocks upsampled), so a tiny U-Net can fit them in a few dozen steps
        blocks = torch.rand(count, 3, 4, 4, generator=generator) * 2 - 1
        self.real_a = torch.nn.functional.interpolate(blocks, size=SIZE, mode="nearest")
        self.real_b = self.real_a.flip(1)
        self.batch_size = batch_size

    def _loader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.real_a, self.real_b), batch_size=self.batch_size)

    def train_dataloader(self) -> DataLoader:
        return self._loader()

    def val_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()


def test_one_epoch_updates_g_and_d_and_logs_every_term(fit, tmp_path):
    model = tiny_pix2pix()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = fit(model, SwappedChannels(), tmp_path, limit_val_batches=1)
    unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
    assert not unchanged, f"parameters not updated: {unchanged[:5]}"
    logged = trainer.callback_metrics
    expected = {"train/g/adv", "train/g/l1", "train/g/total", "train/d/real", "train/d/fake", "train/d/total"}
    expected |= {"val/l1", "val/psnr"}
    assert expected <= set(logged), expected - set(logged)
    assert all(torch.isfinite(logged[key]) for key in expected)
    assert trainer.global_step == 2 * 4  # 8 pairs, batch 2: 4 batches, one D and one G step each


def test_unpaired_data_is_refused_and_paired_data_trains(tiny_data, write_images, fit, tmp_path):
    root = tmp_path / "pairs"
    for folder, colour in [("trainA", 0), ("trainB", 1), ("testA", 0), ("testB", 1)]:
        write_images(root / folder, 4, colour=colour)  # img_000.png ... in each: matched by name
    with pytest.raises(ValueError, match="unpaired: set data.pairing"):
        fit(tiny_pix2pix(), tiny_data(root), tmp_path)
    trainer = fit(tiny_pix2pix(), tiny_data(root, pairing="matched"), tmp_path, limit_val_batches=0)
    assert trainer.global_step == 2 * 2


def test_discriminator_loss_is_the_official_halved_vanilla_loss():
    model = tiny_pix2pix()
    model.log_dict = model.log = lambda *args, **kwargs: None
    real_a, real_b, fake_b = (torch.rand(2, 3, SIZE, SIZE) * 2 - 1 for _ in range(3))
    model.disc.eval()  # the same batch-norm statistics for both evaluations
    total = model._discriminator_losses(real_a, real_b, fake_b)
    expected = losses.discriminator_loss(
        model.disc(torch.cat([real_a, real_b], 1)), model.disc(torch.cat([real_a, fake_b], 1)), "vanilla"
    )
    assert torch.allclose(total, expected)


def test_the_discriminator_sees_input_and_output():
    model = tiny_pix2pix()
    assert model.disc.model[0].in_channels == 6
    assert tiny_pix2pix(channels=1).disc.model[0].in_channels == 2


def test_training_lowers_l1_toward_the_target(fit, tmp_path):
    torch.manual_seed(0)
    model = tiny_pix2pix(optimizer=partial(torch.optim.Adam, lr=2e-3, betas=(0.5, 0.999)))  # 10x: few steps
    data = SwappedChannels()

    def l1() -> float:
        with torch.no_grad():
            value = losses.l1(model.eval()(data.real_a), data.real_b).item()
        model.train()
        return value

    before = l1()
    fit(model, data, tmp_path, max_epochs=20, limit_val_batches=0)  # 80 batches of 2 at 16 px
    after = l1()  # measured: 0.50 -> 0.19 (eval mode: batch-norm running statistics, no dropout)
    assert after < 0.6 * before, (before, after)


def test_validate_and_test_log_l1_and_psnr(fit, tmp_path):
    model, data = tiny_pix2pix(), SwappedChannels()
    trainer = fit(model, data, tmp_path, max_steps=1, limit_val_batches=0)
    trainer.test(model, datamodule=data, verbose=False)
    logged = trainer.callback_metrics
    assert {"test/l1", "test/psnr"} <= set(logged)
    with torch.no_grad():
        fake_b = model.eval()(data.real_a)
    mse = ((fake_b - data.real_b) / 2).square().mean(dim=(1, 2, 3))
    assert logged["test/psnr"].item() == pytest.approx((10 * torch.log10(1 / mse)).mean().item(), rel=1e-4)


def test_sample_columns_show_input_output_and_target():
    model, data = tiny_pix2pix().eval(), SwappedChannels()
    columns = model.sample_columns((data.real_a[:2], data.real_b[:2]))
    assert list(columns) == ["input", "output", "target"]
    assert torch.equal(columns["target"], data.real_b[:2])
    assert columns["output"].shape == (2, 3, SIZE, SIZE)


def test_contract_and_ema():
    model = tiny_pix2pix(ema_decay=0.9)
    assert model.targets == ("a2b",) and model.target_kind == "direction" and model.translates_at == "native"
    assert model.size_multiple == 16 and model.channels == 3
    assert model.translator("a2b") is model.ema
    assert tiny_pix2pix().translator("a2b") is not None
    with pytest.raises(ValueError, match="a2b"):
        model(torch.zeros(1, 3, SIZE, SIZE), "b2a")


def test_ema_follows_the_generator(fit, tmp_path):
    model = tiny_pix2pix(ema_decay=0.5)
    before = [p.detach().clone() for p in model.ema.parameters()]
    fit(model, SwappedChannels(), tmp_path, max_steps=2, limit_val_batches=0)
    assert not all(torch.equal(a, b) for a, b in zip(before, model.ema.parameters(), strict=True))


def test_export_traces_the_generator(tmp_path):
    model = tiny_pix2pix().eval()
    path = export(model, tmp_path / "pix2pix.pt", format="torchscript")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(path))(x), model(x), atol=1e-6)


def test_official_networks_have_the_official_sizes():
    model = Pix2Pix(partial(UNetGenerator, base_channels=64, num_downs=8, norm="batch", dropout=0.5),
                    partial(PatchDiscriminator, norm="batch"))  # fmt: skip
    assert sum(p.numel() for p in model.gen.parameters()) == 54_413_955
    assert sum(p.numel() for p in model.disc.parameters()) == 2_768_705
    disc_keys = [key for key in model.disc.state_dict() if key.startswith("model.1.")]
    assert disc_keys == []  # LeakyReLU after the first conv; the first norm is model.3
    assert "model.3.running_mean" in model.disc.state_dict() and model.disc.model[0].weight.shape == (64, 6, 4, 4)
    assert "model.model.1.model.2.running_var" in model.gen.state_dict()  # batch norm after level 1's down conv
