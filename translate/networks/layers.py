"""Building blocks shared by the networks: norm choice, ResNet block, self-attention, weight init.

References: He et al. 2016 (residual blocks), Zhu et al. 2017 (CycleGAN), Zhang et al. 2019 (SAGAN).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Literal, get_args

import torch
from torch import Tensor, nn
from torch.nn.modules.conv import _ConvNd
from torch.nn.utils import parametrize

Norm = Literal["instance", "batch", "none", "instance_affine", "batch_shift"]
InitType = Literal["normal", "xavier", "kaiming", "orthogonal"]


class TrackedInstanceNorm2d(nn.InstanceNorm2d):
    """Instance norm with affine parameters and running statistics, as the official StarGAN (Choi et al. 2018).

    The running statistics are kept (and updated in training) so the state_dict has the official keys, but every
    image is normalised by its own statistics in eval mode too: the official code never switches its generator to
    eval mode, so its published results, and its checkpoints, are instance statistics throughout.
    """

    def __init__(self, channels: int):
        super().__init__(channels, affine=True, track_running_stats=True)

    def forward(self, x: Tensor) -> Tensor:
        running_mean, running_var = (self.running_mean, self.running_var) if self.training else (None, None)
        return nn.functional.instance_norm(
            x, running_mean, running_var, self.weight, self.bias, use_input_stats=True, momentum=self.momentum,
            eps=self.eps,
        )  # fmt: skip


class ShiftBatchNorm2d(nn.Module):
    """Batch norm with a learned shift and no scale, as TF's ``tf.contrib.layers.batch_norm`` defaults.

    The official TraVeLGAN's ``batch_normalization`` (KrishnaswamyLab/travelgan, travelgan.py line 42) keeps the
    defaults ``center=True, scale=False, epsilon=0.001`` and sets ``decay=0.9``: one trainable ``beta`` per channel, no
    ``gamma``, and moving averages that PyTorch's ``momentum=0.1`` updates the same way. The shift is a parameter
    beside a plain non-affine ``BatchNorm2d`` (not a subclass of it), so ``SyncBatchNorm.convert_sync_batchnorm``
    (``--trainer.sync_batchnorm``) converts the statistics and keeps the shift.
    """

    def __init__(self, channels: int, *, eps: float = 1e-3, momentum: float = 0.1):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=False)
        self.bias = nn.Parameter(torch.zeros(channels))  # beta, TF's zeros initializer

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x) + self.bias.view(1, -1, 1, 1)  # (B, C, H, W)


# The one leaf map from a `Norm` string to a layer. Instance norm is the official CycleGAN one: no affine
# parameters and no running statistics, so it adds no state_dict keys. "none" keeps an nn.Identity in place so that
# the nn.Sequential indices (and hence the state_dict keys) are the same for every choice. "instance_affine" is the
# official StarGAN one (``TrackedInstanceNorm2d``), "batch_shift" the official TraVeLGAN one (``ShiftBatchNorm2d``:
# TF's batch norm, no scale, eps 1e-3), where "batch" is PyTorch's (a scale, eps 1e-5) as in pix2pix and DCGAN.
_NORMS: dict[str, Callable[[int], nn.Module]] = {
    "instance": partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
    "batch": partial(nn.BatchNorm2d, affine=True),
    "batch_shift": ShiftBatchNorm2d,
    "none": lambda channels: nn.Identity(),
    "instance_affine": TrackedInstanceNorm2d,
}


def norm_layer(norm: Norm) -> Callable[[int], nn.Module]:
    """Return the constructor ``channels -> nn.Module`` for ``norm``; raises ValueError on an unknown name."""
    if norm not in _NORMS:
        raise ValueError(f"unknown norm {norm!r}, expected one of {get_args(Norm)}")
    return _NORMS[norm]


def conv_bias(norm: Norm) -> bool:
    """Whether a conv followed by ``norm`` gets a bias: batch norm's own shift makes one redundant, and the official
    CycleGAN/pix2pix drop it before "batch"; the official TraVeLGAN keeps it before its "batch_shift" (TF's
    ``use_bias=True`` on every conv), so its parameter count and state_dict are the official ones."""
    return norm != "batch"


def check_dropout(dropout: float) -> None:
    """Raise ValueError unless ``dropout`` is a probability in [0, 1)."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout}")


class ResnetBlock(nn.Module):
    """Residual block (He et al. 2016) of the CycleGAN generator (Zhu et al. 2017): ``x + F(x)``.

    ``F`` is reflect-pad, 3x3 conv, norm, ReLU, [dropout], reflect-pad, 3x3 conv, norm; channels stay the same.

    The layers sit in ``conv_block`` at the official indices (``conv_block.1`` and ``conv_block.5``, or
    ``conv_block.6`` when dropout adds a layer), so official checkpoints load unchanged.

    Args:
        dropout: Probability of the dropout between the two convs; official ``use_dropout`` means 0.5. Zero adds no
            layer at all.
        bias: Whether the convs have a bias (official: only when ``norm`` is not batch).
    """

    def __init__(self, channels: int, *, norm: Norm = "instance", dropout: float = 0.0, bias: bool = True):
        super().__init__()
        check_dropout(dropout)
        make_norm = norm_layer(norm)
        # Reflection padding avoids the border artefacts zero padding leaves in translated images.
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            make_norm(channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)  # (B, C, H, W)


class SelfAttention2d(nn.Module):
    """Self-attention over all spatial positions (SAGAN, Zhang et al. 2019): ``y = gamma * attention(x) + x``.

    Queries and keys are 1x1 convs to ``max(channels // 8, 1)`` channels, values a 1x1 conv to ``channels``. The
    learnable ``gamma`` starts at 0, so the block starts as the identity and the network learns how much non-local
    evidence to mix in. Memory grows as (H * W)^2 per image: place it at a middle resolution.
    """

    def __init__(self, channels: int):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, C') with N = H * W
        k = self.key(x).flatten(2)  # (B, C', N)
        v = self.value(x).flatten(2)  # (B, C, N)
        attention = torch.softmax(q @ k, dim=-1)  # (B, N, N): row i = weights of every position for query i
        out = (v @ attention.transpose(1, 2)).view(b, c, h, w)  # (B, C, H, W)
        return self.gamma * out + x


def init_weights(module: nn.Module, init_type: InitType = "normal", gain: float = 0.02) -> None:
    """Initialise in place as the official CycleGAN/pix2pix code does (Zhu et al. 2017; Isola et al. 2017).

    Conv and linear weights are drawn from ``init_type`` (``gain`` is the std for "normal" and the gain for "xavier"
    and "orthogonal"; "kaiming" is fan-in with a=0 and ignores it) and their biases set to 0; BatchNorm2d weights are
    drawn from N(1, gain) and biases set to 0. Other parameters (e.g. SAGAN's ``gamma``) are left alone. A conv
    under spectral norm gets its underlying ``original`` weight initialised; initialise before wrapping so the power
    iteration starts from the final weight.
    """
    if init_type not in get_args(InitType):
        raise ValueError(f"unknown init_type {init_type!r}, expected one of {get_args(InitType)}")
    fill = {
        "normal": partial(nn.init.normal_, mean=0.0, std=gain),
        "xavier": partial(nn.init.xavier_normal_, gain=gain),
        "kaiming": partial(nn.init.kaiming_normal_, a=0, mode="fan_in"),
        "orthogonal": partial(nn.init.orthogonal_, gain=gain),
    }[init_type]
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, _ConvNd | nn.Linear):
                if parametrize.is_parametrized(m, "weight"):
                    fill(m.parametrizations.weight.original)
                else:
                    fill(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                nn.init.normal_(m.weight, 1.0, gain)
                nn.init.zeros_(m.bias)


def autocast_off(device: torch.device) -> AbstractContextManager:
    """A context with autocast disabled on ``device`` (nothing to disable on a device type without autocast): what
    must run in its inputs' dtype, fp32 or wider, under mixed precision (the PatchNCE heads, QS-Attn, MoNCE's plan)."""
    return torch.autocast(device.type, enabled=False) if torch.amp.is_autocast_available(device.type) else nullcontext()
