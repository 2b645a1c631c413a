"""pix2pix: paired A -> B translation with a conditional GAN and an L1 term (Isola et al. 2017, arXiv:1611.07004)."""

from functools import partial
from typing import Literal

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from translate import losses
from translate.models.checks import (
    attached_data,
    check_channels,
    check_checkpoint_fits,
    check_precision,
    check_two_domains,
)
from translate.models.contract import ReportsOwnMetrics, ShowsSamples
from translate.models.ema import moving_average
from translate.models.one_way import OneWayTranslation
from translate.networks import DiscriminatorFactory, GeneratorFactory
from translate.schedules import LinearDecayLR, catch_up

Direction = Literal["a2b"]
# fused=True: one kernel over all parameters instead of a loop per tensor, the same update to float tolerance.
OFFICIAL_ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999), fused=True)  # paper, Sec. 3.3


class Pix2Pix(LightningModule, OneWayTranslation, ShowsSamples, ReportsOwnMetrics):
    """A generator ``gen`` (A -> B) and a conditional PatchGAN ``disc`` that judges (input, output) pairs.

    Official settings (junyanz/pytorch-CycleGAN-and-pix2pix ``pix2pix_model.py``): ``UNetGenerator(num_downs=8,
    norm="batch", dropout=0.5)`` (unet_256), ``PatchDiscriminator(norm="batch")`` (basic), the vanilla GAN loss with
    D's loss halved, no image pool, batch 1. Batches are ``(real_a, real_b)`` with ``real_b`` the target of
    ``real_a``. Each batch takes a D step, then a G step on the same ``G(real_a)``, as the official code.

    Args:
        generator: Builds ``gen`` as ``generator(channels, channels)``.
        discriminator: Builds ``disc`` as ``discriminator(2 * channels)``: it sees input and output concatenated.
        optimizer: Used for both G's and D's Adam (official: lr 2e-4, betas (0.5, 0.999)).
        scheduler: Per-epoch learning-rate schedule for both optimizers (official: constant 100, then linear 100).
        channels: Image channels of input and target (1 grayscale, 3 RGB); checked against the data.
        lambda_l1: Weight of ||G(a) - b||_1 against the adversarial term (Eq. 4; official 100).
        ema_decay: Keep an exponential moving average of ``gen``'s weights with this decay (e.g. 0.999; None: off).
            The average is saved in the checkpoint and translates (``forward``, predict, sample grids, validation).
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = OFFICIAL_ADAM,
        scheduler: LRSchedulerCallable = LinearDecayLR,
        *,
        channels: int = 3,
        lambda_l1: float = 100.0,
        ema_decay: float | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()  # under LightningCLI: class_path/init_args, so load_from_checkpoint rebuilds
        self.automatic_optimization = False  # two optimizers: D step, then G step per batch
        self.gen = generator(channels, channels)
        self.disc = discriminator(2 * channels)  # conditional: (B, 2C, H, W) = input and real or translated output
        self.ema = moving_average(self.gen, ema_decay)
        self.optimizer, self.scheduler = optimizer, scheduler

    def forward(self, x: Tensor, direction: Direction = "a2b", *, use_ema: bool = True) -> Tensor:
        """Translate a batch (B, C, H, W) in [-1, 1] from A to B; H and W must be multiples of ``size_multiple``.

        Uses the generator's moving average when the model keeps one, unless ``use_ema=False``.
        """
        self._check_target(direction, "direction")
        return self.ema(x) if use_ema and self.ema is not None else self.gen(x)

    # the model contract (translate.models.contract; the rest in one_way.py) -----------------------------------------
    translates_at = "native"  # fully convolutional: a U-Net of fixed depth sees a local window at any size

    def setup(self, stage: str) -> None:
        check_precision(self)
        data = attached_data(self)
        check_channels(self, data)
        check_two_domains(self, data)
        if data is not None and not data.paired:  # unpaired batches would train G toward a random B image
            raise ValueError("Pix2Pix trains on paired images but the data is unpaired: set data.pairing to aligned "
                             "(A|B side-by-side images) or matched (trainA/trainB files paired by name)")  # fmt: skip

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        opt_g, opt_d = self.optimizers()
        fake_b = self.gen(real_a)  # one forward for both steps, as the official optimize_parameters
        with self.toggled_optimizer(opt_d):
            loss_d = self._discriminator_losses(real_a, real_b, fake_b.detach())
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        with self.toggled_optimizer(opt_g):  # D's weights (just updated) are frozen while G learns to fool it
            loss_g = self._generator_losses(real_a, real_b, fake_b)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            if self.ema is not None:
                self.ema.update_parameters(self.gen)

    def _discriminator_losses(self, real_a: Tensor, real_b: Tensor, fake_b: Tensor) -> Tensor:
        # Fake pairs first, then real ones, as the official backward_D (batch norm sees them as separate batches).
        logits_fake = self.disc(torch.cat([real_a, fake_b], dim=1))  # (B, 1, h, w)
        logits_real = self.disc(torch.cat([real_a, real_b], dim=1))
        real = losses.generator_loss(logits_real, "vanilla")  # -log D(a, b)
        fake = losses.generator_loss(-logits_fake, "vanilla")  # -log(1 - D(a, G(a))): 1 - sigmoid(x) = sigmoid(-x)
        total = 0.5 * (real + fake)  # = losses.discriminator_loss(logits_real, logits_fake, "vanilla")
        self.log_dict({"train/d/real": real, "train/d/fake": fake})
        self.log("train/d/total", total, prog_bar=True)
        return total

    def _generator_losses(self, real_a: Tensor, real_b: Tensor, fake_b: Tensor) -> Tensor:
        adv = losses.generator_loss(self.disc(torch.cat([real_a, fake_b], dim=1)), "vanilla")
        l1 = losses.l1(fake_b, real_b)
        total = adv + self.hparams.lambda_l1 * l1
        self.log_dict({"train/g/adv": adv, "train/g/l1": l1})
        self.log("train/g/total", total, prog_bar=True)
        return total

    def on_train_batch_start(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        catch_up(self.lr_schedulers(), self.current_epoch)  # per-epoch schedules, right after a resume too

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "test")

    def own_metrics(self, batch: tuple[Tensor, Tensor], batch_idx: int = 0) -> dict[str, Tensor]:
        """L1 and PSNR of the translations against their paired targets."""
        real_a, real_b = batch
        fake_b = self(real_a)
        # PSNR in dB on images mapped to [0, 1], per image, then averaged
        error = ((fake_b.float() - real_b.float()) / 2).square().mean(dim=(1, 2, 3)).clamp_min(1e-10)
        return {"l1": losses.l1(fake_b, real_b), "psnr": (10 * torch.log10(1 / error)).mean()}

    @torch.no_grad()
    def sample_columns(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Columns of a sample grid, each (N, C, H, W) in [-1, 1]: the input, its translation and its target."""
        real_a, real_b = batch
        return {"input": real_a, "output": self(real_a), "target": real_b}

    def configure_optimizers(self):
        opt_g, opt_d = self.optimizer(self.gen.parameters()), self.optimizer(self.disc.parameters())
        return [opt_g, opt_d], [self.scheduler(opt_g), self.scheduler(opt_d)]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)  # one clear line for another model's or architecture's checkpoint
