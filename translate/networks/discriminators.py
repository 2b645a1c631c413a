"""PatchGAN discriminator (Isola et al. 2017), as used by CycleGAN (Zhu et al. 2017).

At its default settings it is the official pytorch-CycleGAN-and-pix2pix ``NLayerDiscriminator`` layer for layer,
with the same state_dict keys, so official ``latest_net_D_A.pth`` checkpoints load with ``strict=True``.
"""

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from translate.networks.base import Discriminator
from translate.networks.layers import InitType, Norm, SelfAttention2d, conv_bias, init_weights, norm_layer


class PatchDiscriminator(Discriminator):
    """PatchGAN (Isola et al. 2017): one real/fake logit per overlapping patch, 70x70 pixels at ``num_layers=3``.

    A 4x4 stride-2 conv and LeakyReLU(0.2), ``num_layers - 1`` stride-2 conv-norm-LeakyReLU stages doubling the
    width (capped at 8x ``base_channels``), a stride-1 conv-norm-LeakyReLU stage, then the 1-channel conv head.
    ``forward_features`` runs everything but the head: (B, num_features, ~H / 2**num_layers, ~W / 2**num_layers).

    Args:
        num_layers: Stride-2 stages after the first conv; 3 is the official "basic" discriminator.
        spectral_norm: Wrap every conv (head and attention convs included) in spectral normalisation (Miyato et
            al. 2018). The norm layers stay as chosen; ``norm="none"`` is the usual pairing.
        self_attention: Insert one ``SelfAttention2d`` block (Zhang et al. 2019) right after the last stride-2 stage,
            at H / 2**num_layers (32x32 for 256 px images at ``num_layers=3``, a middle resolution as in SAGAN).
            It shifts the indices of the later layers, so the state_dict is no longer the official one.
        init_type: Weight initialisation (see ``init_weights``); ``init_gain`` is its std or gain.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: Norm = "instance",
        spectral_norm: bool = False,
        self_attention: bool = False,
        init_type: InitType = "normal",
        init_gain: float = 0.02,
    ):
        super().__init__()
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0, got {num_layers}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)

        # The first conv has no norm after it, so it keeps its bias whatever the norm.
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        if self_attention and num_layers <= 1:  # the first conv is the last stride-2 stage
            layers.append(SelfAttention2d(base_channels))
        channels = base_channels
        # Stages 1 .. num_layers - 1 halve H and W; the last one (i == num_layers) keeps them.
        for i in [*range(1, num_layers), num_layers]:
            out_channels = base_channels * min(2**i, 8)
            stride = 1 if i == num_layers else 2
            layers += [
                nn.Conv2d(channels, out_channels, 4, stride=stride, padding=1, bias=bias),
                make_norm(out_channels),
                nn.LeakyReLU(0.2),
            ]
            channels = out_channels
            if self_attention and i == num_layers - 1:
                layers.append(SelfAttention2d(channels))
        layers.append(nn.Conv2d(channels, 1, 4, padding=1))  # the head
        self.model = nn.Sequential(*layers)  # the name and indices give the official state_dict keys
        self.num_features = channels

        # Initialise before wrapping, so spectral norm's power iteration starts from the final weights.
        init_weights(self, init_type, init_gain)
        if spectral_norm:
            for conv in [m for m in self.modules() if isinstance(m, nn.Conv2d)]:
                apply_spectral_norm(conv)

    def forward_features(self, x: Tensor) -> Tensor:
        for layer in list(self.model)[:-1]:
            x = layer(x)
        return x  # (B, num_features, ~H / 2**num_layers, ~W / 2**num_layers)

    def forward_head(self, h: Tensor) -> Tensor:
        return self.model[-1](h)  # (B, 1, h', w'): one logit per receptive-field patch


def strided_convs(
    in_channels: int,
    *,
    base_channels: int,
    num_layers: int,
    norm: Norm,
    max_multiplier: int = 8,
    attention_after: int | None = None,
) -> tuple[nn.Sequential, int]:
    """``num_layers`` 4x4 stride-2 conv-norm-LeakyReLU(0.2) stages (TraVeLGAN's discriminator and siamese trunk).

    Widths ``base_channels * min(2**i, max_multiplier)``; the first stage has no norm (as in Amodio & Krishnaswamy's
    code). ``attention_after`` (1-based) inserts a ``SelfAttention2d`` after that stage. Returns the stack and its
    output channels; it maps (B, C, H, W) to (B, channels, H / 2**num_layers, W / 2**num_layers). With
    ``norm="batch_shift"`` every conv keeps its bias, as the official ``unet_conv`` (see ``conv_bias``).
    """
    make_norm, bias = norm_layer(norm), conv_bias(norm)
    layers: list[nn.Module] = []
    channels = in_channels
    for i in range(num_layers):
        out_channels = base_channels * min(2**i, max_multiplier)
        conv = nn.Conv2d(channels, out_channels, 4, stride=2, padding=1, bias=bias or i == 0)
        layers += [conv, make_norm(out_channels) if i > 0 else nn.Identity(), nn.LeakyReLU(0.2)]
        channels = out_channels
        if attention_after == i + 1:
            layers.append(SelfAttention2d(channels))
    return nn.Sequential(*layers), channels


class StridedDiscriminator(Discriminator):
    """TraVeLGAN's discriminator (Amodio & Krishnaswamy 2019): stride-2 convs, then one linear head for the image.

    ``forward_features`` gives (B, num_features, H / 2**num_layers, W / 2**num_layers); the head average-pools that
    map to ``pool_size`` x ``pool_size`` and maps it to (B, out_features). At the official setting (128 px,
    ``num_layers=5``, ``pool_size=4``) the map already is 4x4, so the head is the official flatten + dense, and other
    image sizes still work.

    At the official settings (``base_channels=128, num_layers=5``, 3 channels, the default ``norm="batch_shift"``:
    TF's batch norm, a shift and no scale, eps 1e-3, after every conv but the first, and a bias on every conv) it has
    the official ``Discriminator``'s trainable variables, 27,815,553 (KrishnaswamyLab/travelgan, travelgan.py). The
    weights are drawn from N(0, 0.02) where the official convs draw from a truncated one.

    Args:
        out_features: 1 for a realism logit; more for a vector (the Siamese-discriminator TraVeLGAN's embedding).
        num_layers: Stride-2 stages (official: down to 4x4, so 5 at 128 px); widths double up to 8x ``base_channels``.
        spectral_norm: Wrap every conv and the head in spectral normalisation (Miyato et al. 2018).
        self_attention: One ``SelfAttention2d`` after stage ``max(num_layers - 2, 1)`` (16x16 at the nominal size).
        pool_size: Side of the pooled map the head sees (1: global average pooling).
    """

    def __init__(
        self,
        in_channels: int,
        *,
        out_features: int = 1,
        base_channels: int = 128,
        num_layers: int = 5,
        norm: Norm = "batch_shift",
        spectral_norm: bool = False,
        self_attention: bool = False,
        pool_size: int = 4,
    ):
        super().__init__()
        if num_layers < 1 or base_channels < 1 or out_features < 1 or pool_size < 1:
            raise ValueError(
                "num_layers, base_channels, out_features and pool_size must be >= 1, got "
                f"{num_layers}, {base_channels}, {out_features}, {pool_size}"
            )
        attention_after = max(num_layers - 2, 1) if self_attention else None
        self.trunk, self.num_features = strided_convs(
            in_channels, base_channels=base_channels, num_layers=num_layers, norm=norm, attention_after=attention_after
        )
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.head = nn.Linear(self.num_features * pool_size**2, out_features)
        init_weights(self, "normal", 0.02)  # the official truncated/plain N(0, 0.02)
        if spectral_norm:
            for layer in [m for m in self.modules() if isinstance(m, nn.Conv2d | nn.Linear)]:
                apply_spectral_norm(layer)

    def forward_features(self, x: Tensor) -> Tensor:
        return self.trunk(x)  # (B, num_features, H / 2**num_layers, W / 2**num_layers)

    def forward_head(self, h: Tensor) -> Tensor:
        return self.head(self.pool(h).flatten(1))  # (B, out_features)
