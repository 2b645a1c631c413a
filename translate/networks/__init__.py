"""Generators, discriminators and the layers they share."""

from translate.networks.base import Discriminator, DiscriminatorFactory, Generator, GeneratorFactory
from translate.networks.discriminators import PatchDiscriminator, StridedDiscriminator
from translate.networks.generators import ResnetGenerator, UNetGenerator
from translate.networks.layers import Norm, SelfAttention2d, init_weights
from translate.networks.siamese import SiameseEncoder
from translate.networks.stargan import FixedLabelGenerator, StarGANDiscriminator, StarGANGenerator

__all__ = [
    "Discriminator",
    "DiscriminatorFactory",
    "FixedLabelGenerator",
    "Generator",
    "GeneratorFactory",
    "Norm",
    "PatchDiscriminator",
    "ResnetGenerator",
    "SelfAttention2d",
    "SiameseEncoder",
    "StarGANDiscriminator",
    "StarGANGenerator",
    "StridedDiscriminator",
    "UNetGenerator",
    "init_weights",
]
