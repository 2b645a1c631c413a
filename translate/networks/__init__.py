"""Generators, discriminators and the layers they share."""

from translate.networks.antialias import AntialiasedPatchDiscriminator
from translate.networks.base import Discriminator, DiscriminatorFactory, Generator, GeneratorFactory
from translate.networks.discriminators import PatchDiscriminator, StridedDiscriminator
from translate.networks.generators import ResnetGenerator, UNetGenerator
from translate.networks.layers import Norm, SelfAttention2d, ShiftBatchNorm2d, init_weights
from translate.networks.siamese import SiameseEncoder
from translate.networks.stargan import FixedLabelGenerator, StarGANDiscriminator, StarGANGenerator
from translate.networks.travelgan_unet import TraVeLGANGenerator

__all__ = [
    "AntialiasedPatchDiscriminator",
    "Discriminator",
    "DiscriminatorFactory",
    "FixedLabelGenerator",
    "Generator",
    "GeneratorFactory",
    "Norm",
    "PatchDiscriminator",
    "ResnetGenerator",
    "SelfAttention2d",
    "ShiftBatchNorm2d",
    "SiameseEncoder",
    "StarGANDiscriminator",
    "StarGANGenerator",
    "StridedDiscriminator",
    "TraVeLGANGenerator",
    "UNetGenerator",
    "init_weights",
]
