"""The Siamese GAN of Marco Pasini's article "A New Way to look at GANs" (2019; no reference code): the discriminator
outputs a vector, and realism is its distance to a fixed anchor, learnt with the siamese contrastive loss (Hadsell
et al. 2006). The same realism losses serve the Siamese-discriminator TraVeLGAN (translate.models.travelgan)."""

from typing import Literal

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from translate import losses
from translate.models.noise import DCGAN_ADAM, NoiseGAN, NoiseGeneratorFactory
from translate.networks import DiscriminatorFactory

Realism = Literal["contrastive", "distance"]


class SiameseGAN(NoiseGAN):
    """D maps an image to a vector of length ``vec_len`` (the discriminator's ``out_features``); with d(v) = ||v - a||^2
    for the fixed anchor a, real vectors are pulled to a, fakes pushed away, and G pulls its samples' vectors to a:

        contrastive (the article's form, default):  L_D = mean d(D(x)) + mean max(0, M - d(D(G(z))))^2
        distance (Hadsell's form, M a squared distance):  L_D = 1/2 [mean d(D(x)) + mean max(0, sqrt(M) - sqrt d)^2]
        L_G = mean d(D(G(z)))

    With ``vec_len`` 1, anchor 1 and margin 1 the ``distance`` form is the least-squares GAN (targets 1 for real and
    0 for fake, LSGAN's halved D loss while fake scores lie between them, its G loss everywhere), as the article
    argues; the ``contrastive`` form squares the distance inside the hinge as well, so it is LSGAN only on the real
    side (``tests/models/test_siamese_gan.py``).

    Args:
        anchor: Every coordinate of the anchor (the article: the origin).
        margin: M, the squared distance fakes are pushed to.
        realism: ``contrastive`` (``losses.contrastive_realism_loss``, as ``SiameseDiscTraVeLGAN``'s article
            objective) or ``distance`` (``losses.anchor_discriminator_loss``, as its ``travel`` objective).
    """

    def __init__(
        self,
        generator: NoiseGeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = DCGAN_ADAM,
        *,
        anchor: float = 0.0,
        margin: float = 1.0,
        realism: Realism = "contrastive",
        latent_dim: int = 100,
        channels: int = 3,
        **options,
    ):
        if realism not in ("contrastive", "distance"):
            raise ValueError(f"unknown realism {realism!r}, expected 'contrastive' or 'distance'")
        if margin <= 0:
            raise ValueError(f"margin must be > 0 (a squared distance), got {margin}")
        if options.get("loss", "nonsaturating") != "nonsaturating" or options.get("clip") is not None:
            raise ValueError("a SiameseGAN's realism loss is its own (realism: contrastive or distance); leave out "
                             "model.init_args.loss and clip")  # fmt: skip
        super().__init__(generator, discriminator, optimizer, latent_dim=latent_dim, channels=channels, **options)

    @property
    def vec_len(self) -> int:
        return self.disc.out_features

    def _anchor(self, like: Tensor) -> Tensor:
        return torch.tensor(self.hparams.anchor, device=like.device)

    def adversarial_losses(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        anchor, margin = self._anchor(real_out), self.hparams.margin
        if self.hparams.realism == "contrastive":
            loss = losses.contrastive_realism_loss(real_out, fake_out, anchor, margin)
        else:
            loss = losses.anchor_discriminator_loss(real_out, fake_out, anchor, margin)
        self.log_dict({"train/d/dist_real": losses.anchor_distance(real_out, anchor).mean(),
                       "train/d/dist_fake": losses.anchor_distance(fake_out, anchor).mean()})  # fmt: skip
        return loss

    def adversarial_generator_loss(self, fake_out: Tensor) -> Tensor:
        return losses.anchor_generator_loss(fake_out, self._anchor(fake_out))
