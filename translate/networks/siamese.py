"""Siamese encoder of TraVeLGAN (Amodio & Krishnaswamy 2019, arXiv:1902.09631): image -> latent vector."""

from torch import Tensor, nn

from translate.networks.discriminators import strided_convs
from translate.networks.layers import Norm, init_weights


class SiameseEncoder(nn.Module):
    """Stride-2 conv stages (the first without norm), average-pooled to ``pool_size`` x ``pool_size``, then linear.

    The official network convolves down to 4x4 (``num_layers=5`` at 128 px) and flattens into a dense layer of 1000
    units; ``pool_size=4`` keeps exactly that at the nominal size and lets other sizes work. Its batch norm is TF's,
    a shift without a scale, eps 1e-3, with a bias on every conv (the default ``norm="batch_shift"``). The official
    code gives each domain its own first conv and the dense layer a bias; here both domains share every weight (one
    network, as in the paper's text) and the head has no bias, which only differences of S's outputs would cancel:
    15,144,768 parameters at the official settings against the official 15,148,904 (3,136 for the second first conv,
    1,000 for the bias).

    Args:
        embed_dim: Length of the latent vector (official: 1000).
        num_layers: Stride-2 stages; widths ``base_channels * min(2**i, 8)``.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        embed_dim: int = 1000,
        base_channels: int = 64,
        num_layers: int = 5,
        norm: Norm = "batch_shift",
        pool_size: int = 4,
    ):
        super().__init__()
        if num_layers < 1 or base_channels < 1 or embed_dim < 1 or pool_size < 1:
            raise ValueError(
                "num_layers, base_channels, embed_dim and pool_size must be >= 1, got "
                f"{num_layers}, {base_channels}, {embed_dim}, {pool_size}"
            )
        self.trunk, channels = strided_convs(in_channels, base_channels=base_channels, num_layers=num_layers, norm=norm)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.head = nn.Linear(channels * pool_size**2, embed_dim, bias=False)  # only differences are used: no bias
        self.embed_dim = embed_dim
        # Not the official init: its convs draw from a truncated N(0, 0.02) (KrishnaswamyLab/travelgan, travelgan.py
        # conv()) and its dense layer from TF's Glorot-uniform default. Xavier on every layer keeps S's vectors apart
        # from the first step without a norm too: with truncated N(0, 0.02) convs and norm="none" (the tests' 2-stage
        # S) ||v_ij||^2 starts near 3e-4 against a margin of 10; with batch norm (the configs) both inits start above
        # it. init_weights draws the scales of norm="batch" from N(1, gain): N(1, 1) here ("batch_shift" has none).
        init_weights(self, "xavier", 1.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.trunk(x)).flatten(1))  # (B, embed_dim)
