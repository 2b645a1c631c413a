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
