"""The loop the noise-to-image GANs share: critic steps, the classic losses, weight clipping, EMA, samples and grids.

DCGAN (translate.models.dcgan) is this loop as it stands; the conditional GAN, InfoGAN and the Siamese GAN override
what their papers change (the generator's input, how D reads an image, the adversarial terms).
"""

from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal, get_args

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from translate import losses
from translate.models.checks import attached_data, check_channels, check_checkpoint_fits, check_precision
from translate.models.ema import moving_average
from translate.models.noise_sampling import NoiseSampling
from translate.networks import DiscriminatorFactory

# latent features (z, plus one-hot classes or codes) -> (B, C, H, W); the network reports its own ``image_size``
NoiseGeneratorFactory = Callable[[int, int], nn.Module]
# Radford et al. 2016, Sec. 4 (pytorch/examples dcgan/main.py: lr 0.0002, beta1 0.5)
DCGAN_ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
CriticSchedule = Literal["fixed", "wgan"]


def wgan_critic_steps(generator_steps: int, n_critic: int) -> int:
    """Critic steps before G's step number ``generator_steps`` (from 0) in the reference WGAN loop
    (martinarjovsky/WassersteinGAN main.py: ``Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0``,
    else ``opt.Diters``, 5): a critic close to optimal at the start and again every 500 G steps."""
    return 100 if generator_steps < 25 or generator_steps % 500 == 0 else n_critic


class NoiseGAN(LightningModule, NoiseSampling):
    """A generator ``gen`` of noise and a discriminator (critic) ``disc``, trained with one of the classic losses.

    One batch is one D step; G steps every ``n_critic`` batches on the same fakes (the reference DCGAN's order:
    D, then G), so Lightning's ``max_steps`` counts both. Noise is drawn from torch's generator, which ``StepSeed``
    seeds per step: a resumed run continues bit-exact.

    Args:
        generator: Builds ``gen`` from (input features, channels); its ``image_size`` is the model's.
        discriminator: Builds ``disc`` from the image channels (class maps included for a conditional GAN).
        optimizer: Both networks' optimizer: Adam 2e-4 (0.5, 0.999) for DCGAN, RMSprop 5e-5 for WGAN, Adam 1e-4
            (0, 0.9) for WGAN-GP, as their papers.
        loss: ``minimax`` or ``nonsaturating`` (Goodfellow et al. 2014), ``lsgan``, ``hinge``, ``wgan`` (needs
            ``clip``) or ``wgangp`` (a critic without batch norm; adds ``lambda_gp`` times the gradient penalty).
        n_critic: D steps per G step (WGAN and WGAN-GP: 5).
        critic_schedule: ``fixed``: G steps every ``n_critic`` batches, counted across epochs. ``wgan``: the
            reference WGAN loop, 100 D steps before each of G's first 25 steps and before every 500th, ``n_critic``
            otherwise (``wgan_critic_steps``), and G also steps after an epoch's last batch, as the reference's
            loop over its data loader ends a critic phase there.
        clip: WGAN's weight clipping c (0.01); only with ``loss: wgan``.
        real_target: One-sided label smoothing (Salimans et al. 2016): D's target for real images (0.9); only with
            the cross-entropy losses.
        feature_matching: G matches the batch mean of D's features on real images instead of fooling D (Salimans
            et al. 2016, Sec. 3.1); D keeps ``loss``.
        feature_distance: ``squared`` (the paper's norm, the authors' MNIST code) or ``absolute`` (the authors'
            CIFAR-10 and SVHN code) difference of the feature means (``losses.feature_matching_loss``).
        ema_decay: Keep a moving average of G (e.g. 0.999; None: off), used for samples and grids.
    """

    def __init__(
        self,
        generator: NoiseGeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = DCGAN_ADAM,
        *,
        latent_dim: int = 100,
        channels: int = 3,
        loss: losses.NoiseLoss = "nonsaturating",
        n_critic: int = 1,
        critic_schedule: CriticSchedule = "fixed",
        clip: float | None = None,
        lambda_gp: float = 10.0,
        real_target: float = 1.0,
        feature_matching: bool = False,
        feature_distance: losses.FeatureDistance = "squared",
        ema_decay: float | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self._check_loss(loss, n_critic, clip, real_target)
        if feature_distance not in get_args(losses.FeatureDistance):
            raise ValueError(f"unknown feature_distance {feature_distance!r}, expected one of "
                             f"{get_args(losses.FeatureDistance)}")  # fmt: skip
        if critic_schedule not in get_args(CriticSchedule):
            raise ValueError(f"unknown critic_schedule {critic_schedule!r}, expected one of {get_args(CriticSchedule)}")
        self._phase_critic_steps = 0  # D steps since G's last step ("wgan" schedule), saved in checkpoints
        self.gen = generator(self.generator_features(latent_dim), channels)
        self.ema_gen = moving_average(self.gen, ema_decay)
        self.disc = discriminator(self.discriminator_channels(channels))
        if loss == "wgangp" and any(isinstance(m, nn.BatchNorm2d) for m in self.disc.modules()):
            raise ValueError("loss wgangp penalises each image's gradient, which batch norm mixes across the batch: "
                             "set the discriminator's norm to layer or none (Gulrajani et al. 2017)")  # fmt: skip
        self.optimizer = optimizer

    @staticmethod
    def _check_loss(loss: str, n_critic: int, clip: float | None, real_target: float) -> None:
        if loss not in get_args(losses.NoiseLoss):
            raise ValueError(f"unknown loss {loss!r}, expected one of {get_args(losses.NoiseLoss)}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if (loss == "wgan") != (clip is not None) or (clip is not None and clip <= 0):
            raise ValueError(f"weight clipping goes with loss wgan only: set clip > 0 (0.01) for wgan, none for "
                             f"{loss} (got clip={clip})")  # fmt: skip
        if not 0 < real_target <= 1 or (real_target != 1 and loss not in ("minimax", "nonsaturating")):
            raise ValueError(f"real_target (one-sided label smoothing, e.g. 0.9) must be in (0, 1] and goes with "
                             f"the losses minimax and nonsaturating, got {real_target} with {loss}")  # fmt: skip

    # what subclasses change ------------------------------------------------------------------------------------------

    def generator_features(self, latent_dim: int) -> int:
        """Length of G's input vector (conditional GAN: + classes; InfoGAN: + codes)."""
        return latent_dim

    def discriminator_channels(self, channels: int) -> int:
        """Channels of D's input (conditional GAN: + one label map per class)."""
        return channels

    def noise(self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """G's input for ``n`` samples, drawn on the CPU from ``generator`` (None: torch's global one): z ~ N(0, I),
        drawn in fp32 whatever the precision (a seed gives the same z under 64-true or bf16-true), in the weights'
        dtype."""
        return torch.randn(n, self.latent_dim, generator=generator, dtype=torch.float32).to(self.device, self.dtype)

    def features(self, images: Tensor, labels: Tensor | None) -> Tensor:
        """D's trunk on ``images`` (the feature-matching layer)."""
        return self.disc.forward_features(images)

    def judge(self, h: Tensor, labels: Tensor | None) -> Tensor:
        """D's output from its trunk's features (conditional GAN by projection: plus the class term)."""
        return self.disc.forward_head(h)

    def adversarial_losses(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """D's adversarial loss from its head's outputs on real and detached fake images."""
        return losses.noise_discriminator_loss(real_out, fake_out, self.hparams.loss,
                                               real_target=self.hparams.real_target)  # fmt: skip

    def adversarial_generator_loss(self, fake_out: Tensor) -> Tensor:
        return losses.noise_generator_loss(fake_out, self.hparams.loss)

    # training --------------------------------------------------------------------------------------------------------

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)
        self._phase_critic_steps = checkpoint.get("critic_phase_steps", 0)  # none before critic_schedule: 0

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["critic_phase_steps"] = self._phase_critic_steps

    def setup(self, stage: str) -> None:
        check_precision(self)
        data = attached_data(self)
        if data is None:
            return
        check_channels(self, data)
        if data.image_size != self.image_size:
            raise ValueError(f"the generator makes {self.image_size} px images but data.crop_size is "
                             f"{data.image_size}: set both the same")  # fmt: skip
        if data.labelled != bool(self.classes) or (self.classes and tuple(data.domains) != tuple(self.classes)):
            raise ValueError(f"model classes {list(self.classes)} differ from the data's {list(data.domains)}: a "
                             "conditional model needs data.conditional: true and the same classes, an unconditional "
                             "one data.conditional: false")  # fmt: skip

    def training_step(self, batch: Sequence[Tensor], batch_idx: int) -> None:
        real, labels = batch[0], (batch[1] if len(batch) > 1 else None)
        generator_step = self._generator_steps_after(batch_idx)
        opt_g, opt_d = self.optimizers()
        inputs = self.noise(len(real), labels)
        with torch.set_grad_enabled(generator_step):  # one G pass serves both steps, as the reference DCGAN
            fake = self.gen(inputs)
        with self.toggled_optimizer(opt_d):
            self._step(opt_d, self.discriminator_losses(real, labels, fake.detach(), inputs))
            if self.hparams.clip is not None:
                losses.clip_weights_(self.disc.parameters(), self.hparams.clip)
        if generator_step:
            with self.toggled_optimizer(opt_g):  # D is frozen while G learns to fool it
                self._step(opt_g, self.generator_losses(real, labels, inputs, fake))
                if self.ema_gen is not None:
                    self.ema_gen.update_parameters(self.gen)

    def _generator_steps_after(self, batch_idx: int) -> bool:
        """Whether G steps after this batch's D step, by ``critic_schedule``; counts the D step."""
        batches = self.trainer.fit_loop.epoch_loop.total_batch_idx  # batches before this one, kept across resumes
        if self.hparams.critic_schedule == "fixed":
            return (batches + 1) % self.hparams.n_critic == 0
        self._phase_critic_steps += 1
        # Optimizer steps so far are one D step per batch and G's steps: no counter of its own to save.
        generator_steps = self.trainer.global_step - batches
        wanted = wgan_critic_steps(generator_steps, self.hparams.n_critic)
        if self._phase_critic_steps < wanted and batch_idx + 1 < self.trainer.num_training_batches:
            return False
        self._phase_critic_steps = 0
        return True

    def _step(self, optimizer, loss: Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def discriminator_losses(self, real: Tensor, labels: Tensor | None, fake: Tensor, inputs: Tensor) -> Tensor:
        h_fake = self.features(fake, labels)
        real_out, fake_out = self.judge(self.features(real, labels), labels), self.judge(h_fake, labels)
        adv = self.adversarial_losses(real_out, fake_out)
        total = adv + self.information_loss(inputs, h_fake, "d")
        terms = {"adv": adv, "real": real_out.float().mean(), "fake": fake_out.float().mean()}
        if self.hparams.loss == "wgangp":
            terms["gp"] = losses.gradient_penalty(lambda x: self.judge(self.features(x, labels), labels), real, fake,
                                                  dtype=self.disc_parameters()[0].dtype)  # fmt: skip
            total = total + self.hparams.lambda_gp * terms["gp"]
        self.log_dict({f"train/d/{name}": value for name, value in terms.items()})
        self.log("train/d/total", total, prog_bar=True)
        return total

    def generator_losses(self, real: Tensor, labels: Tensor | None, inputs: Tensor, fake: Tensor) -> Tensor:
        h_fake = self.features(fake, labels)
        if self.hparams.feature_matching:
            with torch.no_grad():
                h_real = self.features(real, labels)
            total = losses.feature_matching_loss(h_real, h_fake, self.hparams.feature_distance)
            self.log("train/g/feature_matching", total)
        else:
            total = self.adversarial_generator_loss(self.judge(h_fake, labels))
            self.log("train/g/adv", total)
        total = total + self.information_loss(inputs, h_fake, "g")
        self.log("train/g/total", total, prog_bar=True)
        return total

    def information_loss(self, inputs: Tensor, h_fake: Tensor, net: str) -> Tensor | float:
        """A term added to D's (``net`` "d") and G's ("g") losses from G's input and D's features of its samples
        (InfoGAN: lambda L_I)."""
        return 0.0

    def configure_optimizers(self):
        return [self.optimizer(self.gen.parameters()), self.optimizer(self.disc_parameters())]

    def disc_parameters(self) -> list[nn.Parameter]:
        """What D's optimizer updates (InfoGAN: the Q head too)."""
        return list(self.disc.parameters())
