"""Image-to-image generators: the CycleGAN ResNet (Zhu et al. 2017) and the pix2pix U-Net (Isola et al. 2017).

At their default settings both are the official pytorch-CycleGAN-and-pix2pix networks layer for layer, with the same
state_dict keys, so official checkpoints (``latest_net_G_A.pth``, ...) load with ``load_state_dict(strict=True)``.
"""

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from translate.networks.antialias import BlurDownsample, BlurUpsample
from translate.networks.base import Generator
from translate.networks.layers import (
    InitType,
    Norm,
    ResnetBlock,
    SelfAttention2d,
    check_dropout,
    conv_bias,
    init_weights,
    norm_layer,
)


def _check_size(x: Tensor, multiple: int) -> None:
    """Raise a readable ValueError instead of the shape mismatch deep inside the network."""
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(
            f"input size {height}x{width} is not divisible by {multiple}: pad or resize height and width to a "
            f"multiple of {multiple} (the generator's size_multiple)"
        )


def _resnet_down(channels: int, make_norm: Callable[[int], nn.Module], bias: bool, antialias: bool) -> list[nn.Module]:
    """One step of the ResNet generator's encoder: (B, C, H, W) -> (B, 2C, H/2, W/2)."""
    if antialias:  # blur, then subsample
        conv = nn.Conv2d(channels, 2 * channels, 3, padding=1, bias=bias)
        return [conv, make_norm(2 * channels), nn.ReLU(inplace=True), BlurDownsample(2 * channels)]
    conv = nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1, bias=bias)
    return [conv, make_norm(2 * channels), nn.ReLU(inplace=True)]


def _resnet_up(channels: int, make_norm: Callable[[int], nn.Module], bias: bool, how: str) -> list[nn.Module]:
    """One step of the ResNet generator's decoder: (B, C, H, W) -> (B, C/2, 2H, 2W), ``how``: antialias, resize or
    transposed."""
    if how == "antialias":  # upsample with a blur, then a plain conv
        conv = nn.Conv2d(channels, channels // 2, 3, padding=1, bias=bias)
        return [BlurUpsample(channels), conv, make_norm(channels // 2), nn.ReLU(inplace=True)]
    if how == "resize":  # every output pixel sees the same kernel: no checkerboard
        conv = nn.Conv2d(channels, channels // 2, 3, padding=1, bias=bias)
        return [nn.Upsample(scale_factor=2, mode="nearest"), conv, make_norm(channels // 2), nn.ReLU(True)]
    conv = nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1, bias=bias)
    return [conv, make_norm(channels // 2), nn.ReLU(inplace=True)]


class ResnetGenerator(Generator):
    """ResNet generator of CycleGAN (Zhu et al. 2017), after Johnson et al. 2016, with He et al. 2016 blocks.

    7x7 conv, two stride-2 convs, ``num_blocks`` residual blocks at 4x ``base_channels`` and H/4 x W/4, two
    transposed convs back, 7x7 conv and tanh. Official presets: ``num_blocks=9`` (resnet_9blocks, 256 px) and
    ``num_blocks=6`` (resnet_6blocks, 128 px). Height and width must be multiples of 4.

    With ``antialias=True`` it is CUT's generator (Park et al. 2020, taesungp/contrastive-unpaired-translation, its
    default): each stride-2 conv becomes a stride-1 conv, norm, ReLU and a ``BlurDownsample``; each transposed conv a
    ``BlurUpsample`` and a stride-1 3x3 conv. The layer indices shift accordingly (``model.1``, ``model.4``,
    ``model.8``, ``model.12...`` for the blocks), which are the official CUT keys; the parameter count stays the
    same (11,378,179 for resnet_9blocks with 3 channels).

    Args:
        dropout: Dropout probability inside each residual block; the official ``use_dropout`` means 0.5.
        init_type: Weight initialisation (see ``init_weights``); ``init_gain`` is its std or gain. CUT's official
            default is xavier with gain 0.02, CycleGAN's normal with std 0.02.
        antialias: Blur before subsampling and after upsampling, as CUT (off: CycleGAN's strided convs).
        upsample: ``transposed`` (official) or ``resize``: nearest-neighbour 2x upsampling then a 3x3 conv, which
            cannot leave the checkerboard pattern of overlapping transposed kernels (Odena et al. 2016, "Deconvolution
            and Checkerboard Artifacts"); the same parameter count, the later layer indices shift by one per step.
            Ignored with ``antialias=True``, which already upsamples before its conv.
        residual: Return the input plus the network's output, clipped to [-1, 1], with the output conv starting at
            zero: the generator starts as the identity and learns only the change (needs ``out_channels ==
            in_channels``; no new parameters or keys). Off: the official output.
        long_skip: Add the first conv's full-resolution features to the decoder's last ones, before the output conv
            (the outermost skip of a U-Net, summed rather than concatenated: no new parameters or keys). Without it
            every detail finer than the H/4 bottleneck has to be re-learned by the encoder and decoder, so a residual
            generator can change colours early in training but not texture. Off: the official network.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        base_channels: int = 64,
        num_blocks: int = 9,
        norm: Norm = "instance",
        dropout: float = 0.0,
        init_type: InitType = "normal",
        init_gain: float = 0.02,
        antialias: bool = False,
        upsample: Literal["transposed", "resize"] = "transposed",
        residual: bool = False,
        long_skip: bool = False,
    ):
        super().__init__()
        if upsample not in ("transposed", "resize"):
            raise ValueError(f"upsample must be 'transposed' or 'resize', got {upsample!r}")
        if residual and in_channels != out_channels:
            raise ValueError(f"residual=True needs out_channels == in_channels, got {in_channels} -> {out_channels}")
        if num_blocks < 0:
            raise ValueError(f"num_blocks must be >= 0, got {num_blocks}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        check_dropout(dropout)
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.size_multiple = 4

        channels = base_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, channels, 7, bias=bias),
            make_norm(channels),
            nn.ReLU(inplace=True),
        ]
        for _ in range(2):  # (B, C, H, W) -> (B, 2C, H/2, W/2), twice
            layers += _resnet_down(channels, make_norm, bias, antialias)
            channels *= 2
        layers += [ResnetBlock(channels, norm=norm, dropout=dropout, bias=bias) for _ in range(num_blocks)]
        for _ in range(2):  # output_padding=1 makes each step exactly double H and W again
            layers += _resnet_up(channels, make_norm, bias, "antialias" if antialias else upsample)
            channels //= 2
        # The output conv always has a bias: no norm follows it.
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)  # the name and indices give the official state_dict keys
        init_weights(self, init_type, init_gain)
        self.residual, self.long_skip = residual, long_skip
        if residual:  # tanh(0) = 0: the untrained generator returns its input
            nn.init.zeros_(self.model[-2].weight)
            nn.init.zeros_(self.model[-2].bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_size(x, self.size_multiple)
        if self.long_skip:  # model[:4]: pad, 7x7 conv, norm, ReLU; model[-3:]: pad, output conv, tanh
            stem = self.model[:4](x)
            output = self.model[-3:](self.model[4:-3](stem) + stem)
        else:
            output = self.model(x)  # (B, out_channels, H, W) in [-1, 1]
        return (x + output).clamp(-1, 1) if self.residual else output

    def encode(self, x: Tensor, layers: Sequence[int]) -> list[Tensor]:
        """The outputs of ``self.model[i]`` for each ``i`` in ``layers`` (ascending), running no further than the
        last of them: CUT's PatchNCE features (official ``netG(x, nce_layers, encode_only=True)``)."""
        _check_size(x, self.size_multiple)
        if list(layers) != sorted(set(layers)) or not 0 <= layers[0] <= layers[-1] < len(self.model):
            raise ValueError(f"layers must be ascending indices in [0, {len(self.model) - 1}], got {list(layers)}")
        features = []
        for index, layer in enumerate(self.model[: layers[-1] + 1]):
            x = layer(x)
            if index in layers:
                features.append(x)
        return features


class UNetSkipBlock(nn.Module):
    """One level of the U-Net (Isola et al. 2017): downsample, run the inner levels, upsample, concatenate the skip.

    The official network nests these blocks recursively; keeping the nesting keeps its state_dict keys
    (``model.model.1.model.3...``). The block without a ``submodule`` is the innermost one.

    Args:
        outer_channels: Channels this block returns (before the skip concatenation).
        inner_channels: Channels of the downsampled features.
        in_channels: Input channels of the outermost block (the image); other blocks take ``outer_channels``.
        dropout: Dropout probability after the up-sampling norm (official: 0.5 in the 8x-wide middle levels).
        self_attention: Append a ``SelfAttention2d`` on this level's up-sampled output, before the skip concatenation.
    """

    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        *,
        submodule: "UNetSkipBlock | None",
        in_channels: int | None = None,
        outermost: bool = False,
        norm: Norm = "instance",
        dropout: float = 0.0,
        self_attention: bool = False,
    ):
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.outermost = outermost
        if in_channels is None:
            in_channels = outer_channels
        down = nn.Conv2d(in_channels, inner_channels, 4, stride=2, padding=1, bias=bias)
        if outermost:
            assert submodule is not None, "the outermost block needs inner levels"
            # Ends in tanh, so the up conv has no norm after it and keeps its bias.
            up = nn.ConvTranspose2d(2 * inner_channels, outer_channels, 4, stride=2, padding=1)
            layers = [down, submodule, nn.ReLU(), up, nn.Tanh()]
        elif submodule is None:
            # Innermost: no norm after the down conv (the bottleneck is 1x1 at the nominal size).
            up = nn.ConvTranspose2d(inner_channels, outer_channels, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down, nn.ReLU(), up, make_norm(outer_channels)]
        else:
            up = nn.ConvTranspose2d(2 * inner_channels, outer_channels, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down, make_norm(inner_channels), submodule, nn.ReLU(), up]
            layers.append(make_norm(outer_channels))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        if self_attention:  # appended last, so the official indices of the other layers stay the same
            assert not outermost, "the outermost block returns the image"
            layers.append(SelfAttention2d(outer_channels))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        # The official block's first layer is an in-place LeakyReLU, so its skip carries LeakyReLU(x), not x;
        # we apply it out of place and concatenate the same tensor, which gives the official outputs.
        x = self.model[0](x)  # (B, outer, H, W)
        h = x
        for layer in list(self.model)[1:]:
            h = layer(h)
        return torch.cat([x, h], dim=1)  # (B, 2 * outer, H, W)


class UNetGenerator(Generator):
    """U-Net generator of pix2pix (Isola et al. 2017), also used by CycleGAN (Zhu et al. 2017).

    ``num_downs`` stride-2 levels with widths ``base_channels * min(2**i, 8)`` and a skip connection around each.
    Official presets: ``num_downs=7`` (unet_128) and ``num_downs=8`` (unet_256), where an input of 2**num_downs
    pixels becomes 1x1 at the bottleneck; height and width must be multiples of ``2**num_downs``. For
    ``num_downs >= 5`` the network is the official one; smaller values drop the inner levels (not an official
    configuration; the official code would silently build 5 levels).

    Args:
        dropout: Dropout probability in the extra 8x-wide middle levels (levels 4 .. num_downs - 2, counting the
            outermost as 0; none exist when ``num_downs < 6``); the official ``use_dropout`` means 0.5.
        init_type: Weight initialisation (see ``init_weights``); ``init_gain`` is its std or gain.
        self_attention: Add one ``SelfAttention2d`` (Zhang et al. 2019) at H/4 x W/4 (level 2, or the innermost level
            when ``num_downs < 3``) on the up-sampling path, as the Siamese-discriminator TraVeLGAN uses. Off by
            default; when on, the state_dict gains that block's keys and is no longer the official one.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_downs: int = 8,
        base_channels: int = 64,
        norm: Norm = "instance",
        dropout: float = 0.0,
        init_type: InitType = "normal",
        init_gain: float = 0.02,
        self_attention: bool = False,
    ):
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"num_downs must be >= 2 (an outermost and an innermost level), got {num_downs}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        check_dropout(dropout)
        self.size_multiple = 2**num_downs

        widths = [base_channels * min(2**i, 8) for i in range(num_downs)]  # inner channels of level i
        attention_level = min(2, num_downs - 1) if self_attention else None  # level i works at H / 2**i
        block = None
        for i in reversed(range(1, num_downs)):  # built from the bottleneck outwards
            # Official: dropout only in the extra 8x-wide levels between the four outer levels and the innermost.
            level_dropout = dropout if 4 <= i < num_downs - 1 else 0.0
            block = UNetSkipBlock(
                widths[i - 1],
                widths[i],
                submodule=block,
                norm=norm,
                dropout=level_dropout,
                self_attention=i == attention_level,
            )
        self.model = UNetSkipBlock(
            out_channels, widths[0], submodule=block, in_channels=in_channels, outermost=True, norm=norm
        )
        init_weights(self, init_type, init_gain)

    @property
    def min_side(self) -> int:
        return self.size_multiple  # built for a 1x1 bottleneck (unet_256 at 256 px): no norm there, zero padding

    def forward(self, x: Tensor) -> Tensor:
        _check_size(x, self.size_multiple)
        return self.model(x)  # (B, out_channels, H, W) in [-1, 1]
