"""The translation models and the noise-to-image GANs, one LightningModule each."""

from translate.models.conditional_gan import ConditionalGAN
from translate.models.cut import CUT
from translate.models.cyclegan import CycleGAN
from translate.models.dcgan import DCGAN
from translate.models.dclgan import DCLGAN
from translate.models.infogan import InfoGAN
from translate.models.pix2pix import Pix2Pix
from translate.models.siamese_gan import SiameseGAN
from translate.models.stargan import StarGAN
from translate.models.travelgan import SiameseDiscTraVeLGAN, TraVeLGAN
from translate.models.vaegan import VAEGAN

__all__ = [
    "ConditionalGAN",
    "CUT",
    "CycleGAN",
    "DCGAN",
    "DCLGAN",
    "InfoGAN",
    "Pix2Pix",
    "StarGAN",
    "SiameseDiscTraVeLGAN",
    "SiameseGAN",
    "TraVeLGAN",
    "VAEGAN",
]
