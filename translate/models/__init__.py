"""The translation models, one LightningModule each."""

from translate.models.cyclegan import CycleGAN

__all__ = ["CycleGAN"]
