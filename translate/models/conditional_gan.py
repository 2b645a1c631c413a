"""Conditional GAN (Mirza & Osindero 2014, arXiv:1411.1784) on DCGAN networks: the class fed to both networks; the
discriminator reads it as label maps, or by projection (Miyato & Koyama 2018, arXiv:1802.05637)."""

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from translate import losses
from translate.models.noise import DCGAN_ADAM, NoiseGAN, NoiseGeneratorFactory
from translate.networks import DiscriminatorFactory

Condition = Literal["maps", "projection"]


class ConditionalGAN(NoiseGAN):
    """G(z ++ one-hot(y)) and D(x | y), trained with any of NoiseGAN's losses on one folder per class.

    Fakes take the labels of the real batch they are judged with, so classes are drawn as often as the data has them.

    Args:
        classes: Class names in label order; ``translate fit`` fills them from the data (``data.class_names``, else
            the class folders) when left out.
        condition: How D reads the class. ``maps``: one constant map per class (the one-hot label) concatenated to
            the image, the paper's "y fed to both networks as additional input"; ``projection``: D's output plus
            <embed(y), sum of D's features> (Miyato & Koyama 2018, Eq. 3).
    """

    def __init__(
        self,
        generator: NoiseGeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = DCGAN_ADAM,
        *,
        classes: Sequence[str] | None = None,
        condition: Condition = "maps",
        latent_dim: int = 100,
        channels: int = 3,
        loss: losses.NoiseLoss = "nonsaturating",
        **options,
    ):
        if classes is None or len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"a ConditionalGAN needs two or more distinct class names, got {classes}: set "
                             "model.init_args.classes, or data.conditional: true for `translate fit` to find "
                             "them")  # fmt: skip
        if condition not in ("maps", "projection"):
            raise ValueError(f"unknown condition {condition!r}, expected 'maps' or 'projection'")
        self.class_names = tuple(str(name) for name in classes)  # read by generator_features in NoiseGAN.__init__
        super().__init__(generator, discriminator, optimizer, latent_dim=latent_dim, channels=channels, loss=loss,
                         **options)  # fmt: skip
        self.embed = nn.Embedding(len(classes), self.disc.num_features) if condition == "projection" else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.class_names

    def generator_features(self, latent_dim: int) -> int:
        return latent_dim + len(self.class_names)

    def discriminator_channels(self, channels: int) -> int:
        return channels + (len(self.class_names) if self.hparams.condition == "maps" else 0)

    def noise(self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I) ++ one-hot(labels) (classes in turn when None)."""
        if labels is None:
            labels = torch.arange(n, device=self.device) % len(self.class_names)
        z = super().noise(n, None, generator)  # in the weights' dtype: bf16 or fp64 under bf16-true or 64-true
        return torch.cat([z, self._one_hot(labels).to(z)], dim=1)

    def features(self, images: Tensor, labels: Tensor | None) -> Tensor:
        if self.hparams.condition == "maps":  # (B, K, H, W): the one-hot label broadcast over the image
            maps = self._one_hot(labels)[:, :, None, None].expand(-1, -1, *images.shape[-2:])
            images = torch.cat([images, maps.to(images.dtype)], dim=1)
        return self.disc.forward_features(images)

    def judge(self, h: Tensor, labels: Tensor | None) -> Tensor:
        out = self.disc.forward_head(h)
        if self.embed is None:
            return out
        projection = (self.embed(labels.long()) * h.sum(dim=(2, 3))).sum(1, keepdim=True)  # (B, 1)
        return out + projection

    def disc_parameters(self) -> list[nn.Parameter]:
        return [*self.disc.parameters(), *(self.embed.parameters() if self.embed is not None else ())]

    def _one_hot(self, labels: Tensor) -> Tensor:
        return F.one_hot(labels.long(), len(self.class_names)).float()
