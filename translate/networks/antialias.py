"""Anti-aliased resampling with fixed binomial blurs (Zhang 2019, "Making convolutional networks shift-invariant
again", arXiv:1904.11486), as CUT's networks use them (Park et al. 2020; taesungp/contrastive-unpaired-translation).

A strided conv samples its input without low-pass filtering first, so small shifts of the input change the output;
CUT replaces it by a stride-1 conv and a blur that then subsamples, and a transposed conv by a blurring upsample
and a stride-1 conv. The blur kernels are buffers named ``filt``, as in the official networks, so their state_dicts
carry the same keys.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.networks.base import Discriminator
from translate.networks.layers import InitType, Norm, conv_bias, init_weights, norm_layer


def binomial_kernel(size: int) -> Tensor:
    """The (size, size) outer product of the binomial row (1, 3, 3, 1 for size 4), normalised to sum 1."""
    row = torch.ones(1)
    for _ in range(size - 1):  # Pascal's triangle: (1), (1, 1), (1, 2, 1), ...
        row = torch.cat([row, torch.zeros(1)]) + torch.cat([torch.zeros(1), row])
    kernel = row[:, None] * row[None, :]
    return kernel / kernel.sum()


class BlurDownsample(nn.Module):
    """Reflect-pad by 1, blur with the 3x3 binomial kernel, keep every second pixel: (B, C, H, W) -> (B, C, H', W')
    with H' = ceil(H / 2). Official ``Downsample(channels)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.register_buffer("filt", binomial_kernel(3).expand(channels, 1, 3, 3).clone())  # one per channel

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(self.pad(x), self.filt, stride=2, groups=x.shape[1])


class BlurUpsample(nn.Module):
    """Double H and W: zero-insertion upsampling with the 4x4 binomial kernel (times 4, so that the mean is kept) on
    a replicate-padded input, cropped to (B, C, 2H, 2W). Official ``Upsample(channels)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.pad = nn.ReplicationPad2d(1)
        self.register_buffer("filt", (4 * binomial_kernel(4)).expand(channels, 1, 4, 4).clone())

    def forward(self, x: Tensor) -> Tensor:
        # (H + 2) padded rows -> 2H + 2 rows; the first and the last carry the padding's echo and are dropped
        up = F.conv_transpose2d(self.pad(x), self.filt, stride=2, padding=2, groups=x.shape[1])
        return up[:, :, 1:-1, 1:-1]  # (B, C, 2H, 2W)


class AntialiasedPatchDiscriminator(Discriminator):
    """CUT's PatchGAN (official ``NLayerDiscriminator`` with anti-aliasing on, its default): the PatchGAN of
    Isola et al. 2017 with each 4x4 stride-2 conv replaced by a stride-1 conv, its norm and LeakyReLU, then a
    ``BlurDownsample``. The state_dict has the official keys (``model.0``, ``model.2.filt``, ``model.3``, ...).

    Args:
        num_layers: Downsampling stages (3: the official "basic" discriminator).
        init_type: Weight initialisation (see ``init_weights``; CUT's default: xavier, gain 0.02).
    """

    def __init__(
        self,
        in_channels: int,
        *,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: Norm = "instance",
        init_type: InitType = "xavier",
        init_gain: float = 0.02,
    ):
        super().__init__()
        if num_layers < 1 or base_channels < 1:
            raise ValueError(f"num_layers and base_channels must be >= 1, got {num_layers}, {base_channels}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        # The first conv has no norm after it, so it keeps its bias whatever the norm.
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 4, padding=1), nn.LeakyReLU(0.2)]
        layers.append(BlurDownsample(base_channels))
        channels = base_channels
        for i in range(1, num_layers + 1):  # the last stage keeps H and W
            out_channels = base_channels * min(2**i, 8)
            layers += [nn.Conv2d(channels, out_channels, 4, padding=1, bias=bias), make_norm(out_channels)]
            layers.append(nn.LeakyReLU(0.2))
            if i < num_layers:
                layers.append(BlurDownsample(out_channels))
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, 4, padding=1))  # the head
        self.model = nn.Sequential(*layers)
        self.num_features = channels
        init_weights(self, init_type, init_gain)

    def forward_features(self, x: Tensor) -> Tensor:
        for layer in list(self.model)[:-1]:
            x = layer(x)
        return x  # (B, num_features, ~H / 2**num_layers, ~W / 2**num_layers)

    def forward_head(self, h: Tensor) -> Tensor:
        return self.model[-1](h)  # (B, 1, h', w'): one logit per patch
