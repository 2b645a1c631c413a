"""CycleGAN: unpaired A <-> B translation with cycle consistency (Zhu et al. 2017, arXiv:1703.10593)."""

from functools import partial

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from translate import losses
from translate.models.checks import (
    attached_data,
    check_channels,
    check_checkpoint_fits,
    check_precision,
    check_two_domains,
)
from translate.models.contract import ReportsOwnMetrics, ShowsSamples, TranslationModel
from translate.models.ema import moving_average
from translate.models.image_pool import ImagePool
from translate.models.two_way import TwoWayTranslation
from translate.networks import DiscriminatorFactory, GeneratorFactory
from translate.networks.diffaugment import augmented, parse_policy
from translate.schedules import LinearDecayLR, catch_up, check_weight_end, linear_weight, run_length

# fused=True: one kernel over all parameters instead of a loop per tensor, the same update to float tolerance
# (docs/benchmarks.md: 80 -> 10 ms per step for two ResNet-9 generators on the CPU).
OFFICIAL_ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999), fused=True)  # paper, Sec. 4


class CycleGAN(TwoWayTranslation, LightningModule, TranslationModel, ShowsSamples, ReportsOwnMetrics):
    """Two generators (``gen_ab``: A -> B, ``gen_ba``: B -> A) and two discriminators (``disc_a`` judges A).

    Args:
        generator: Builds ``gen_ab`` and ``gen_ba`` (called twice: independent weights from one config block).
        discriminator: Builds ``disc_a`` and ``disc_b``.
        optimizer: Used for both the generators' and the discriminators' Adam (official: lr 2e-4, betas (0.5, 0.999)).
        scheduler: Per-epoch learning-rate schedule for both optimizers (official: constant 100, then linear 100).
        channels: Image channels of both domains (1 grayscale, 3 RGB); checked against the data.
        gan_mode: Adversarial loss; ``wgangp`` adds ``lambda_gp`` times the gradient penalty to D's loss.
        lambda_cycle: Weight of ||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1 (Eq. 2-3).
        lambda_identity: Weight of ||G_AB(b) - b||_1 + ||G_BA(a) - a||_1 relative to ``lambda_cycle`` (Sec. 5.2;
            0.5 gives 5 effective); 0 skips the two extra generator passes.
        lambda_identity_end: Move the identity weight linearly from ``lambda_identity`` (first step) to this value
            (the run's last step: ``trainer.max_steps``, or ``max_epochs`` epochs), a function of the global step
            only, so a resumed run weighs as the uninterrupted one; logged as ``train/g/lambda_identity``. None: the
            weight stays ``lambda_identity``. A run of neither length is refused.
        lambda_gp: Weight of the WGAN-GP gradient penalty (used with ``gan_mode: wgangp`` only).
        lambda_r1: Weight gamma of the R1 penalty on real images, added to D's loss as gamma / 2 * R1 (Mescheder et
            al. 2018, Eq. 9); 0 (official) skips it.
        pool_size: Past fakes kept for D (0 disables the pool).
        ema_decay: Keep an exponential moving average of both generators' weights with this decay (e.g. 0.999;
            None: off). The averages are saved in the checkpoint and translate (``forward``, predict, sample grids).
        diffaugment: DiffAugment policy (Zhao et al. 2020; ``translate.networks.diffaugment``), comma-separated words
            from ``color``, ``translation``, ``cutout`` (the paper's ``color,translation,cutout``): every image D sees,
            real, pooled fake or G's fake, in D's step, its penalties and G's adversarial term, is augmented first; the
            cycle and identity terms see the images as they are. None: off.
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = OFFICIAL_ADAM,
        scheduler: LRSchedulerCallable = LinearDecayLR,
        *,
        channels: int = 3,
        gan_mode: losses.GanMode = "lsgan",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        lambda_identity_end: float | None = None,
        lambda_gp: float = 10.0,
        lambda_r1: float = 0.0,
        pool_size: int = 50,
        ema_decay: float | None = None,
        diffaugment: str | None = None,
    ):
        super().__init__()
        check_weight_end(lambda_identity_end, "lambda_identity_end")
        self._diffaugment = parse_policy(diffaugment)  # a plain tuple: no module, the state_dict keeps its keys
        self.save_hyperparameters()  # under LightningCLI: class_path/init_args, so load_from_checkpoint rebuilds
        self.automatic_optimization = False  # two optimizers, G step then D step per batch
        self.gen_ab, self.gen_ba = generator(channels, channels), generator(channels, channels)
        self.disc_a, self.disc_b = discriminator(channels), discriminator(channels)
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)
        self.ema_ab, self.ema_ba = moving_average(self.gen_ab, ema_decay), moving_average(self.gen_ba, ema_decay)
        self.optimizer, self.scheduler = optimizer, scheduler

    def setup(self, stage: str) -> None:
        check_precision(self)
        check_channels(self, attached_data(self))
        check_two_domains(self, attached_data(self))
        if stage == "fit" and self.hparams.lambda_identity_end is not None:
            run_length(self.trainer, "lambda_identity_end")  # refuses a run of no length before it starts

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        opt_g, opt_d = self.optimizers()
        with self.toggled_optimizer(opt_g):  # D's weights are frozen while G learns to fool it
            fake_b, fake_a, loss_g = self._generator_losses(real_a, real_b)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            if self.ema_ab is not None:
                self.ema_ab.update_parameters(self.gen_ab)
                self.ema_ba.update_parameters(self.gen_ba)
        with self.toggled_optimizer(opt_d):
            loss_d = self._discriminator_losses(real_a, real_b, self.pool_a(fake_a), self.pool_b(fake_b))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()

    def _generator_losses(self, real_a: Tensor, real_b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        hp = self.hparams
        fake_b, fake_a = self.gen_ab(real_a), self.gen_ba(real_b)
        adv_ab = losses.generator_loss(self._judge(self.disc_b)(fake_b), hp.gan_mode)
        adv_ba = losses.generator_loss(self._judge(self.disc_a)(fake_a), hp.gan_mode)
        cycle_a, cycle_b = losses.l1(self.gen_ba(fake_b), real_a), losses.l1(self.gen_ab(fake_a), real_b)
        terms = {"adv_ab": adv_ab, "adv_ba": adv_ba, "cycle_a": cycle_a, "cycle_b": cycle_b}
        total = adv_ab + adv_ba + hp.lambda_cycle * (cycle_a + cycle_b)
        identity = linear_weight(hp.lambda_identity, hp.lambda_identity_end, self._trainer, "lambda_identity_end")
        if hp.lambda_identity_end is not None:
            self.log("train/g/lambda_identity", identity)
        if identity > 0:  # G_AB should leave images that are already in B unchanged
            terms["idt_a"], terms["idt_b"] = (
                losses.l1(self.gen_ba(real_a), real_a),
                losses.l1(self.gen_ab(real_b), real_b),
            )
            total = total + hp.lambda_cycle * identity * (terms["idt_a"] + terms["idt_b"])
        self.log_dict({f"train/g/{name}": value for name, value in terms.items()})
        self.log("train/g/total", total, prog_bar=True)
        return fake_b, fake_a, total

    def _discriminator_losses(self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor) -> Tensor:
        hp = self.hparams
        disc_a, disc_b = self._judge(self.disc_a), self._judge(self.disc_b)
        loss_a = losses.discriminator_loss(disc_a(real_a), disc_a(fake_a.detach()), hp.gan_mode)
        loss_b = losses.discriminator_loss(disc_b(real_b), disc_b(fake_b.detach()), hp.gan_mode)
        if hp.gan_mode == "wgangp":
            gp_a, gp_b = (
                losses.gradient_penalty(disc_a, real_a, fake_a),
                losses.gradient_penalty(disc_b, real_b, fake_b),
            )
            self.log_dict({"train/d/gp_a": gp_a, "train/d/gp_b": gp_b})
            loss_a, loss_b = loss_a + hp.lambda_gp * gp_a, loss_b + hp.lambda_gp * gp_b
        if hp.lambda_r1 > 0:  # D kept flat around real images
            r1_a, r1_b = losses.r1_penalty(disc_a, real_a), losses.r1_penalty(disc_b, real_b)
            self.log_dict({"train/d/r1_a": r1_a, "train/d/r1_b": r1_b})
            loss_a, loss_b = loss_a + hp.lambda_r1 / 2 * r1_a, loss_b + hp.lambda_r1 / 2 * r1_b
        self.log_dict({"train/d/a": loss_a, "train/d/b": loss_b}, prog_bar=True)
        return loss_a + loss_b

    def _judge(self, discriminator: nn.Module) -> nn.Module:
        """``discriminator`` as the losses use it: behind ``diffaugment``'s augmentations when a policy is set."""
        return augmented(discriminator, self._diffaugment)

    def on_train_batch_start(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        catch_up(self.lr_schedulers(), self.current_epoch)  # per-epoch schedules, right after a resume too

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "test")

    def own_metrics(self, batch: tuple[Tensor, Tensor], batch_idx: int = 0) -> dict[str, Tensor]:
        """Cycle errors: L1 between each domain's images and their round trips through both generators."""
        real_a, real_b = batch
        fake_b, fake_a = self.gen_ab(real_a), self.gen_ba(real_b)
        cycle_a, cycle_b = losses.l1(self.gen_ba(fake_b), real_a), losses.l1(self.gen_ab(fake_a), real_b)
        return {"cycle_a": cycle_a, "cycle_b": cycle_b, "cycle": cycle_a + cycle_b}

    @torch.no_grad()
    def sample_columns(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Columns of a sample grid, each (N, C, H, W) in [-1, 1]: real, translated and reconstructed, both ways."""
        real_a, real_b = batch
        fake_b, fake_a = self(real_a, "a2b"), self(real_b, "b2a")
        return {"real_a": real_a, "fake_b": fake_b, "rec_a": self(fake_b, "b2a"),
                "real_b": real_b, "fake_a": fake_a, "rec_b": self(fake_a, "a2b")}  # fmt: skip

    def configure_optimizers(self):
        opt_g = self.optimizer([*self.gen_ab.parameters(), *self.gen_ba.parameters()])
        opt_d = self.optimizer([*self.disc_a.parameters(), *self.disc_b.parameters()])
        return [opt_g, opt_d], [self.scheduler(opt_g), self.scheduler(opt_d)]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["image_pools"] = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)  # one clear line for another model's or architecture's checkpoint
        if "image_pools" in checkpoint:  # resume continues with the same history of fakes
            self.pool_a.load_state_dict(checkpoint["image_pools"]["a"])
            self.pool_b.load_state_dict(checkpoint["image_pools"]["b"])
