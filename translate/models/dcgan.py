"""DCGAN: a convolutional generator of noise and its discriminator (Radford et al. 2016, arXiv:1511.06434), with the
classic losses to compare on it: minimax and non-saturating (Goodfellow et al. 2014), LSGAN (Mao et al. 2017), hinge
(Lim & Ye 2017), WGAN (Arjovsky et al. 2017), WGAN-GP (Gulrajani et al. 2017), and Salimans et al.'s (2016) one-sided
label smoothing, feature matching and minibatch statistics."""

from translate.models.noise import NoiseGAN


class DCGAN(NoiseGAN):
    """z ~ N(0, I) -> ``gen`` -> image; ``disc`` tells real from generated (``translate.models.noise.NoiseGAN``).

    The paper's settings are the defaults: z of 100, non-saturating loss, one D step per G step, Adam 2e-4
    (0.5, 0.999); ``networks.DCGANGenerator`` and ``DCGANDiscriminator`` at 64 channels and 64 px are the reference
    networks. ``configs/dcgan*.yaml`` hold the other losses' settings from their papers.

    >>> from functools import partial
    >>> from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator
    >>> model = DCGAN(partial(DCGANGenerator, base_channels=4, image_size=32),
    ...               partial(DCGANDiscriminator, base_channels=4, image_size=32), latent_dim=8)
    >>> model.generate(2, seed=0).shape
    torch.Size([2, 3, 32, 32])
    """
