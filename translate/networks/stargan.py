"""StarGAN's generator and discriminator (Choi et al. 2018, arXiv:1711.09020), as in yunjey/stargan ``model.py``.

At their defaults (64 base channels, 6 residual blocks, 6 stride-2 discriminator layers) they are the official
networks layer for layer, with the official state_dict keys (``main.0.weight``, ..., ``conv1.weight``). The
generator follows our ``Generator`` contract: the model concatenates the target label to the image, so
``in_channels`` is image channels + number of domains (8 for RGB and 5 domains, as official). The domain classifier
(official ``conv2``) sits in the model on ``forward_features``, because its kernel depends on the image size.

They are separate from ``ResnetGenerator`` and ``PatchDiscriminator`` because the official StarGAN differs in every
layer: zero padding, 4x4 up/down convs, no conv biases in G, affine instance norm with running statistics,
LeakyReLU(0.01) and no norm in D, no width cap, a 3x3 patch head.
"""

import torch
from torch import Tensor, nn

from translate.networks.base import Discriminator, Generator
from translate.networks.layers import Norm, norm_layer


class StarGANResidualBlock(nn.Module):
    """``x + F(x)``; ``F`` is zero-padded 3x3 conv, norm, ReLU, 3x3 conv, norm, without biases (keys ``main.N``)."""

    def __init__(self, channels: int, *, norm: Norm = "instance_affine"):
        super().__init__()
        make_norm = norm_layer(norm)
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            make_norm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            make_norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.main(x)  # (B, C, H, W)


class StarGANGenerator(Generator):
    """The official StarGAN generator: 7x7 conv, two 4x4 stride-2 convs, ``num_blocks`` residual blocks at 4x
    ``base_channels``, two 4x4 transposed convs, 7x7 conv and tanh; zero padding, no biases. 8,430,528 parameters
    at the official setting (``in_channels=3 + 5``). Height and width must be multiples of 4.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        base_channels: int = 64,
        num_blocks: int = 6,
        norm: Norm = "instance_affine",
    ):
        super().__init__()
        if num_blocks < 0:
            raise ValueError(f"num_blocks must be >= 0, got {num_blocks}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        make_norm = norm_layer(norm)
        self.size_multiple = 4
        channels = base_channels
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels, 7, padding=3, bias=False),
            make_norm(channels),
            nn.ReLU(inplace=True),
        ]
        for _ in range(2):  # (B, C, H, W) -> (B, 2C, H/2, W/2)
            layers += [nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1, bias=False)]
            layers += [make_norm(2 * channels), nn.ReLU(inplace=True)]
            channels *= 2
        layers += [StarGANResidualBlock(channels, norm=norm) for _ in range(num_blocks)]
        for _ in range(2):  # (B, C, H, W) -> (B, C/2, 2H, 2W)
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1, bias=False)]
            layers += [make_norm(channels // 2), nn.ReLU(inplace=True)]
            channels //= 2
        layers += [nn.Conv2d(channels, out_channels, 7, padding=3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)  # official name and indices

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(f"input size {height}x{width} is not divisible by {self.size_multiple}: pad or resize it")
        return self.main(x)  # (B, out_channels, H, W) in [-1, 1]


class StarGANDiscriminator(Discriminator):
    """The official StarGAN discriminator trunk and real/fake head (Choi et al. 2018, PatchGAN of Isola et al. 2017).

    ``num_layers`` 4x4 stride-2 convs with biases and LeakyReLU(0.01), doubling the width each time (no cap), then a
    3x3 patch head without bias (``conv1``). ``forward_features`` gives (B, base_channels * 2**(num_layers - 1),
    H / 2**num_layers, W / 2**num_layers), where the model puts its domain classifier (official ``conv2``).
    """

    def __init__(self, in_channels: int, *, base_channels: int = 64, num_layers: int = 6):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        layers: list[nn.Module] = []
        channels, out_channels = in_channels, base_channels
        for _ in range(num_layers):
            layers += [nn.Conv2d(channels, out_channels, 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
            channels, out_channels = out_channels, 2 * out_channels
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(channels, 1, 3, padding=1, bias=False)
        self.num_features = channels
        self.reduction = 2**num_layers  # input side / feature-map side

    def forward_features(self, x: Tensor) -> Tensor:
        return self.main(x)  # (B, num_features, H / reduction, W / reduction)

    def forward_head(self, h: Tensor) -> Tensor:
        return self.conv1(h)  # (B, 1, h', w'): one critic score per patch


class FixedLabelGenerator(nn.Module):
    """A label-conditioned generator with its target label fixed: image (B, C, H, W) -> translated image.

    The label (num_domains,) is broadcast by multiplying a (B, 1, H, W) map of ones rather than by ``expand`` with
    sizes, so batch, height and width stay dynamic when the module is traced for export.
    """

    def __init__(self, generator: nn.Module, label: Tensor):
        super().__init__()
        self.generator = generator
        self.register_buffer("label", label.detach().reshape(1, -1, 1, 1).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.generator(torch.cat([x, self.label * torch.ones_like(x[:, :1])], dim=1))  # (B, C + domains, H, W)
