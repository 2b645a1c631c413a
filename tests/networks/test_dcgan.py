"""DCGAN networks: the reference sizes of pytorch/examples dcgan/main.py, shapes at 32-128 px, the DCGAN init,
minibatch standard deviation, and the critic options."""

import pytest
import torch
from torch import nn

from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator, MinibatchStdDev


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_reference_dcgan_parameter_counts():
    # pytorch/examples dcgan/main.py at nz=100, ngf=ndf=64, nc=3 (64 px): netG 3,576,704, netD 2,765,568
    assert count(DCGANGenerator(100, 3, base_channels=64, image_size=64)) == 3_576_704
    assert count(DCGANDiscriminator(3, base_channels=64, image_size=64)) == 2_765_568


def test_reference_layers_in_order():
    gen = DCGANGenerator(100, 3)
    convs = [(m.in_channels, m.out_channels, m.stride[0]) for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert convs == [(100, 512, 1), (512, 256, 2), (256, 128, 2), (128, 64, 2), (64, 3, 2)]
    disc = DCGANDiscriminator(3)
    convs = [(m.in_channels, m.out_channels, m.stride[0]) for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [(3, 64, 2), (64, 128, 2), (128, 256, 2), (256, 512, 2), (512, 1, 1)]
    assert isinstance(disc.main[1], nn.LeakyReLU) and disc.main[1].negative_slope == 0.2  # no norm on the first
    assert sum(isinstance(m, nn.BatchNorm2d) for m in disc.modules()) == 3


@pytest.mark.parametrize("size", [32, 64, 128])
def test_sizes_shapes_range_and_gradients(size):
    gen, disc = DCGANGenerator(8, 3, base_channels=4, image_size=size), DCGANDiscriminator(3, base_channels=4,
                                                                                       image_size=size)  # fmt: skip
    images = gen(torch.randn(2, 8))
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    logits = disc(images)
    assert logits.shape == (2, 1) and disc.forward_features(images).shape == (2, disc.num_features, 4, 4)
    logits.sum().backward()
    assert all(p.grad is not None for p in [*gen.parameters(), *disc.parameters()])


def test_other_sizes_are_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"image_size must be one of \[32, 64, 128\]"):
        DCGANGenerator(8, 3, image_size=48)


def test_dcgan_initialisation():
    torch.manual_seed(0)
    gen = DCGANGenerator(100, 3)
    weights = torch.cat([m.weight.flatten() for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)])
    scales = torch.cat([m.weight for m in gen.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(weights.mean()) < 1e-3 and abs(weights.std() - 0.02) < 1e-3
    assert abs(scales.mean() - 1) < 5e-3 and abs(scales.std() - 0.02) < 5e-3


def test_minibatch_stddev_appends_the_mean_deviation_per_group():
    x = torch.tensor([0.0, 2.0, 1.0, 1.0]).reshape(4, 1, 1, 1).expand(4, 1, 2, 2)
    out = MinibatchStdDev(group_size=2)(x)
    # groups are images {0, 2} and {1, 3}: deviations |0 - 1| / 2 = 0.5 and |2 - 1| / 2 = 0.5
    assert out.shape == (4, 2, 2, 2)
    torch.testing.assert_close(out[:, 1], torch.full((4, 2, 2), 0.5), atol=1e-4, rtol=0)
    same = MinibatchStdDev()(torch.ones(4, 3, 2, 2))
    assert same[:, 3].max() < 1e-3  # identical images: no variety


def test_critic_options():
    critic = DCGANDiscriminator(3, base_channels=4, image_size=32, norm="layer", minibatch_std=True, out_features=5)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert critic.head.in_channels == critic.num_features + 1
    assert critic(torch.randn(4, 3, 32, 32)).shape == (4, 5)
    with pytest.raises(ValueError, match="unknown norm"):
        DCGANDiscriminator(3, norm="instance")
