"""The U-Net generator of the official TraVeLGAN (Amodio & Krishnaswamy 2019, arXiv:1902.09631).

Rebuilt from ``KrishnaswamyLab/travelgan`` (TensorFlow 1, commit 501b6bf): ``travelgan.py`` lines 6-43 (``conv``,
``conv_t``, ``unet_conv``, ``unet_conv_t``, ``batch_normalization``) and 357-403 (``Generator.__call__``),
``utils.py`` line 20 (``lrelu``, slope 0.2), ``train.py`` lines 14, 39, 71 and 76 (128 px crops, ``nfilt`` 64).
It is not the pix2pix U-Net (``UNetGenerator``) with other settings: the norm, the widths, the bottleneck and where
the ReLU sits all differ, so it is a class of its own (see docs/models.md, TraVeLGAN).
"""

import torch
from torch import Tensor, nn

from translate.networks.base import Generator
from translate.networks.generators import _check_size
from translate.networks.layers import ShiftBatchNorm2d

__all__ = ["ShiftBatchNorm2d", "TraVeLGANGenerator"]  # ShiftBatchNorm2d lived here before the discriminator used it


class TraVeLGANGenerator(Generator):
    """The official TraVeLGAN U-Net: 4,074,691 parameters at the official settings (3 channels, 128 px, 64 wide).

    Encoder: ``num_downs`` 4x4 stride-2 convs with bias, widths ``base_channels * min(2**i, 4)``, each followed by
    ``ShiftBatchNorm2d`` (except the first) and LeakyReLU(0.2); the last one, at H / 2**num_downs, is the bottleneck
    (8x8 at 128 px and the official ``num_downs=4``: the official loop halves the image down to 8x8). Decoder: for
    each encoder level but the last, from the inside out, a 4x4 stride-2 transposed conv to that level's width,
    ``ShiftBatchNorm2d``, ReLU, then the concatenation ``[decoded, encoder output]`` (the ReLU comes before it, so
    the skip keeps the encoder's negative LeakyReLU values). Output: a 4x4 stride-2 transposed conv to
    ``out_channels`` and tanh. Height and width must be multiples of ``2**num_downs``.

    Args:
        skip_levels: How many decoder levels, from the bottleneck outwards, concatenate the encoder's output (None:
            all ``num_downs - 1``, the official network). Fewer drop the outer, high-resolution skips, through which
            the decoder can copy the input's outlines: a shape change must then be drawn from coarser features.
        residual: Return the input plus the network's output, clipped to [-1, 1], with the output layer starting at
            zero, so the untrained generator is the identity and learns only the change (not in the official code;
            ``ResnetGenerator(residual=True)`` does the same). Colours are then kept by default rather than re-drawn:
            without it a run can settle early on a permutation of the hues that the identity term never undoes
            (#27, docs/models.md "Shape change"). The parameters and state_dict keys are the official ones.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        base_channels: int = 64,
        num_downs: int = 4,
        skip_levels: int | None = None,
        residual: bool = False,
    ):
        super().__init__()
        if num_downs < 1:
            raise ValueError(f"num_downs must be >= 1, got {num_downs}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        if skip_levels is not None and not 0 <= skip_levels <= num_downs - 1:
            raise ValueError(f"skip_levels must be between 0 and num_downs - 1 = {num_downs - 1}, got {skip_levels}")
        if residual and in_channels != out_channels:
            raise ValueError(f"residual=True needs out_channels == in_channels, got {in_channels} -> {out_channels}")
        self.size_multiple = 2**num_downs
        self.skip_levels = num_downs - 1 if skip_levels is None else skip_levels
        widths = [base_channels * min(2**i, 4) for i in range(num_downs)]  # official maxfilt = 4 * nfilt

        # unet_conv: TF's "same" padding of a 4x4 stride-2 conv on an even size is one pixel each side. Every conv
        # keeps its bias (official use_bias=True), even before batch norm, where the shift makes it redundant.
        self.down = nn.ModuleList()
        channels = in_channels
        for i, width in enumerate(widths):
            norm = ShiftBatchNorm2d(width) if i > 0 else nn.Identity()  # official: no batch norm on layer 1
            self.down.append(nn.Sequential(nn.Conv2d(channels, width, 4, stride=2, padding=1), norm, nn.LeakyReLU(0.2)))
            channels = width

        # unet_conv_t: transposed conv, batch norm, ReLU, and only then the concatenation with the encoder output.
        self.up = nn.ModuleList()
        for level, width in enumerate(reversed(widths[:-1])):
            conv = nn.ConvTranspose2d(channels, width, 4, stride=2, padding=1)
            self.up.append(nn.Sequential(conv, ShiftBatchNorm2d(width), nn.ReLU()))
            channels = 2 * width if level < self.skip_levels else width  # decoded (+ skip)

        # The "out" layer: no batch norm, no skip, tanh.
        self.out = nn.Sequential(nn.ConvTranspose2d(channels, out_channels, 4, stride=2, padding=1), nn.Tanh())
        self._init_weights()
        self.residual = residual
        if residual:  # tanh(0) = 0: the untrained generator returns its input
            nn.init.zeros_(self.out[0].weight)
            nn.init.zeros_(self.out[0].bias)

    def _init_weights(self) -> None:
        """Official init: convs truncated N(0, 0.02) (cut at 2 std), transposed convs N(0, 0.02), biases 0."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.ConvTranspose2d):
                    nn.init.normal_(m.weight, 0.0, 0.02)
                elif isinstance(m, nn.Conv2d):
                    nn.init.trunc_normal_(m.weight, 0.0, 0.02, a=-0.04, b=0.04)
                else:
                    continue
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_size(x, self.size_multiple)
        inputs, skips = x, []
        for block in self.down:
            x = block(x)  # (B, width_i, H / 2**(i+1), W / 2**(i+1))
            skips.append(x)
        skips.pop()  # the bottleneck feeds the decoder directly, with no skip of its own
        for level, block in enumerate(self.up):
            x, skip = block(x), skips.pop()
            if level < self.skip_levels:
                x = torch.cat([x, skip], dim=1)  # (B, 2 * width_i, ...): decoded first, as tf.concat
        output = self.out(x)  # (B, out_channels, H, W) in [-1, 1]
        return (inputs + output).clamp(-1, 1) if self.residual else output
