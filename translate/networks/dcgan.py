"""DCGAN generator and discriminator (Radford et al. 2016, arXiv:1511.06434), sized 32-128 px by configuration.

At ``latent_dim=100``, ``base_channels=64``, ``image_size=64`` they are the reference DCGAN of the PyTorch examples
(``pytorch/examples`` ``dcgan/main.py``) layer for layer: 3,576,704 and 2,765,568 parameters. The discriminator
returns logits (the reference's final sigmoid lives in the losses), so its parameters are the same.
"""

from typing import Literal, get_args

import torch
from torch import Tensor, nn

from translate.networks.base import Discriminator

DCGANNorm = Literal["batch", "layer", "none"]


def num_stages(image_size: int) -> int:
    """Stride-2 stages between 4x4 and ``image_size`` (3 for 32 px, 4 for 64, 5 for 128); raises for other sizes."""
    stages = {32: 3, 64: 4, 128: 5}
    if image_size not in stages:
        raise ValueError(f"image_size must be one of {sorted(stages)} (4x4 doubled to it), got {image_size}")
    return stages[image_size]


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN initialisation (Radford et al. 2016, Sec. 4; reference ``weights_init``): conv weights from
    N(0, 0.02), batch-norm weights from N(1, 0.02) and biases 0."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z (B, in_features) -> (B, out_channels, image_size, image_size) in [-1, 1].

    A 4x4 transposed conv from the 1x1 latent to ``base_channels * 2**(stages - 1)`` channels, then stride-2
    transposed convs halving the width up to ``image_size``, batch norm and ReLU after every one but the last, tanh
    (Radford et al. 2016, Fig. 1). ``in_features`` is everything the generator reads: the latent, plus a one-hot
    class (conditional GAN) or codes (InfoGAN).
    """

    def __init__(self, in_features: int, out_channels: int, *, base_channels: int = 64, image_size: int = 64):
        super().__init__()
        if in_features < 1 or base_channels < 1:
            raise ValueError(f"in_features and base_channels must be >= 1, got {in_features}, {base_channels}")
        stages = num_stages(image_size)
        self.in_features, self.image_size = in_features, image_size
        width = base_channels * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_features, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2)]
            layers.append(nn.ReLU(True))
            width //= 2
        layers += [nn.ConvTranspose2d(width, out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z.reshape(len(z), -1, 1, 1))  # (B, in_features) -> (B, C, H, W)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, Sec. 3), the simple form of Salimans et al.'s minibatch
    discrimination: one extra feature map holding the mean over features and positions of the per-feature standard
    deviation across a group of ``group_size`` images, so D can see a batch that lacks variety."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        if group_size < 2:
            raise ValueError(f"group_size must be >= 2 (a deviation needs two images), got {group_size}")
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        group = min(self.group_size, b)
        if b % group:  # a batch that does not split into groups: one group of all
            group = b
        grouped = x.reshape(group, -1, c, h, w)  # (G, B / G, C, H, W): image i is in group i % (B / G)
        std = (grouped.var(0, unbiased=False) + 1e-8).sqrt()  # (B / G, C, H, W)
        stat = std.mean(dim=(1, 2, 3))[:, None, None, None]  # (B / G, 1, 1, 1)
        return torch.cat([x, stat.repeat(group, 1, h, w)], dim=1)


class DCGANDiscriminator(Discriminator):
    """(B, in_channels, image_size, image_size) -> (B, out_features) logits, or vectors (``out_features`` > 1).

    A 4x4 stride-2 conv and LeakyReLU(0.2) without norm, stride-2 conv-norm-LeakyReLU stages doubling the width down
    to 4x4, then a 4x4 conv head (Radford et al. 2016). ``forward_features`` gives the 4x4 map before the head, which
    feature matching, InfoGAN's Q head and VAE-GAN's reconstruction error use.

    Args:
        norm: ``batch`` (DCGAN), ``layer`` or ``none`` (a WGAN-GP critic: batch norm breaks the per-sample gradient
            penalty, Gulrajani et al. 2017, Sec. 4).
        minibatch_std: Append a ``MinibatchStdDev`` map before the head (the head reads one more channel).
        out_features: Outputs of the head: 1 for a realism logit, ``vec_len`` for a Siamese GAN.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        base_channels: int = 64,
        image_size: int = 64,
        norm: DCGANNorm = "batch",
        minibatch_std: bool = False,
        out_features: int = 1,
    ):
        super().__init__()
        if norm not in get_args(DCGANNorm):
            raise ValueError(f"unknown norm {norm!r}, expected one of {get_args(DCGANNorm)}")
        stages, width = num_stages(image_size), base_channels
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), _norm(norm, width * 2)]
            layers.append(nn.LeakyReLU(0.2, True))
            width *= 2
        self.main = nn.Sequential(*layers)
        self.num_features, self.out_features = width, out_features
        self.minibatch_std = MinibatchStdDev() if minibatch_std else nn.Identity()
        self.head = nn.Conv2d(width + int(minibatch_std), out_features, 4, 1, 0, bias=False)
        dcgan_init(self)

    def forward_features(self, x: Tensor) -> Tensor:
        return self.main(x)  # (B, num_features, 4, 4)

    def forward_head(self, h: Tensor) -> Tensor:
        return self.head(self.minibatch_std(h)).flatten(1)  # (B, out_features)


def _norm(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "layer":  # per sample over (C, H, W), as the WGAN-GP code's critic
        return nn.GroupNorm(1, channels)
    return nn.Identity()
