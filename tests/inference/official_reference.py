"""An independent reference for the official CycleGAN generators, so the import check compares our networks with the
official architecture rather than with themselves.

Written from junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (``ResnetGenerator``, ``ResnetBlock``,
``UnetGenerator``, ``UnetSkipConnectionBlock``) as functional ops over a plain state dict: each layer is read from
the file under its official key (the index it has in the official ``nn.Sequential``), so the key layout and the
order of the operations are both stated here, once, without importing anything from ``translate``.

The same forward builds the state dict: run on an ``OfficialState(build=True)`` it creates every tensor it reads,
with the shape the official layer has (random values, scaled so activations neither vanish nor explode), and that
dict is what the official code would save (``torch.save(net.state_dict())``).

``variant`` perturbs the reference (one padding, one layer order, one skip) so a test can show that the comparison
would notice such a mistake in our networks.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

RESNET_VARIANTS = (None, "zero_pad_in_block", "relu_before_norm")
UNET_VARIANTS = (None, "skip_concatenated_last", "upconv_before_relu")


class OfficialState(dict):
    """A state dict with the official keys; with ``build=True`` each read creates the tensor it asks for.

    Args:
        norm: ``instance`` (CycleGAN's default: ``InstanceNorm2d(affine=False)``, no keys, and convs followed by a norm
            keep their bias) or ``batch`` (pix2pix's: affine weights and running statistics, convs without bias).
        legacy: Files saved by 2018-era code also hold InstanceNorm ``running_mean`` / ``running_var``, which the
            official loader drops (``__patch_instance_norm_state_dict``); the forward never reads them.
    """

    def __init__(self, *, norm: str = "instance", build: bool = False, legacy: bool = False, seed: int = 0):
        super().__init__()
        self.norm, self.build, self.legacy = norm, build, legacy
        self.generator = torch.Generator().manual_seed(seed)

    def tensor(self, key: str, shape: tuple[int, ...], scale: float, offset: float = 0.0) -> Tensor:
        if self.build and key not in self:
            self[key] = offset + scale * torch.randn(shape, generator=self.generator)
        assert self[key].shape == shape, f"{key}: {tuple(self[key].shape)} in the file, official shape {shape}"
        return self[key]

    def conv(self, key: str, out_channels: int, in_channels: int, kernel: int, *, bias: bool) -> tuple:
        """Weight and bias of ``nn.Conv2d`` (bias None when the official layer has none)."""
        fan_in = in_channels * kernel * kernel
        weight = self.tensor(f"{key}.weight", (out_channels, in_channels, kernel, kernel), fan_in**-0.5)
        return weight, self.tensor(f"{key}.bias", (out_channels,), 0.1) if bias else None

    def conv_transpose(self, key: str, in_channels: int, out_channels: int, kernel: int, *, bias: bool) -> tuple:
        """Weight (in, out, k, k: the transposed layout) and bias of ``nn.ConvTranspose2d``."""
        fan_in = in_channels * kernel * kernel // 4  # stride 2: each output pixel sees about a quarter of the kernel
        weight = self.tensor(f"{key}.weight", (in_channels, out_channels, kernel, kernel), fan_in**-0.5)
        return weight, self.tensor(f"{key}.bias", (out_channels,), 0.1) if bias else None

    def normalize(self, key: str, x: Tensor) -> Tensor:
        """The official ``norm_layer(channels)`` at ``key`` applied to x (eval mode for batch norm)."""
        channels = x.shape[1]
        if self.norm == "instance":
            if self.legacy and self.build:
                self[f"{key}.running_mean"], self[f"{key}.running_var"] = torch.zeros(channels), torch.ones(channels)
            return F.instance_norm(x, eps=1e-5)
        mean, var = (
            self.tensor(f"{key}.running_mean", (channels,), 0.1),
            self.tensor(f"{key}.running_var", (channels,), 0.1, 1.0),
        )
        if self.build:
            self[f"{key}.num_batches_tracked"] = torch.tensor(100)
        weight, bias = self.tensor(f"{key}.weight", (channels,), 0.1, 1.0), self.tensor(f"{key}.bias", (channels,), 0.1)
        return F.batch_norm(x, mean, var, weight, bias, training=False, eps=1e-5)

    @property
    def use_bias(self) -> bool:
        return self.norm == "instance"  # official: use_bias = norm_layer.func == nn.InstanceNorm2d


def _conv(state: OfficialState, key: str, x: Tensor, out_channels: int, kernel: int, *, stride=1, padding=0, bias=None):
    weight, b = state.conv(key, out_channels, x.shape[1], kernel, bias=state.use_bias if bias is None else bias)
    return F.conv2d(x, weight, b, stride=stride, padding=padding)


def _conv_transpose(state: OfficialState, key: str, x: Tensor, out_channels: int, kernel: int, *, output_padding=0,
                    padding=1, bias=None):  # fmt: skip
    weight, b = state.conv_transpose(
        key, x.shape[1], out_channels, kernel, bias=state.use_bias if bias is None else bias
    )
    return F.conv_transpose2d(x, weight, b, stride=2, padding=padding, output_padding=output_padding)


# ResnetGenerator --------------------------------------------------------------------------------------------------


def _resnet_block(state: OfficialState, key: str, x: Tensor, *, zero_pad: bool = False) -> Tensor:
    """ResnetBlock (padding_type 'reflect', no dropout): conv_block = [pad, conv, norm, ReLU, pad, conv, norm]."""
    channels = x.shape[1]
    if zero_pad:  # the perturbation: padding_type 'zero' (the conv pads by 1 itself) in the first half
        h = _conv(state, f"{key}.conv_block.1", x, channels, 3, padding=1)
    else:
        h = _conv(state, f"{key}.conv_block.1", F.pad(x, (1, 1, 1, 1), mode="reflect"), channels, 3)  # .0: pad
    h = F.relu(state.normalize(f"{key}.conv_block.2", h))  # .3: ReLU
    h = _conv(state, f"{key}.conv_block.5", F.pad(h, (1, 1, 1, 1), mode="reflect"), channels, 3)  # .4: pad
    return x + state.normalize(f"{key}.conv_block.6", h)


def resnet_reference(state: OfficialState, x: Tensor, *, ngf: int, n_blocks: int, out_nc: int = 3,
                     variant: str | None = None) -> Tensor:  # fmt: skip
    """The official ResnetGenerator (n_downsampling 2, transposed convs) on x, layer i read from ``model.i``."""
    assert variant in RESNET_VARIANTS, variant
    h = _conv(state, "model.1", F.pad(x, (3, 3, 3, 3), mode="reflect"), ngf, 7)  # model.0: ReflectionPad2d(3)
    h = F.relu(state.normalize("model.2", h))  # model.3: ReLU
    index = 4
    for i in range(2):  # model.4-6 and model.7-9: conv 3x3 stride 2, norm, ReLU
        h = _conv(state, f"model.{index}", h, ngf * 2 ** (i + 1), 3, stride=2, padding=1)
        if variant == "relu_before_norm" and i == 0:  # the perturbation: two layers swapped
            h = state.normalize(f"model.{index + 1}", F.relu(h))
        else:
            h = F.relu(state.normalize(f"model.{index + 1}", h))
        index += 3
    for block in range(n_blocks):  # model.10 .. model.(9 + n_blocks)
        h = _resnet_block(
            state, f"model.{index}", h, zero_pad=variant == "zero_pad_in_block" and block == n_blocks // 2
        )
        index += 1
    for i in range(2):  # ConvTranspose2d(k 3, stride 2, padding 1, output_padding 1), norm, ReLU
        h = _conv_transpose(state, f"model.{index}", h, ngf * 2 ** (1 - i), 3, output_padding=1)
        h = F.relu(state.normalize(f"model.{index + 1}", h))
        index += 3
    # model.(index): ReflectionPad2d(3); the output conv always has a bias; then Tanh
    return torch.tanh(_conv(state, f"model.{index + 1}", F.pad(h, (3, 3, 3, 3), mode="reflect"), out_nc, 7, bias=True))


# UnetGenerator ----------------------------------------------------------------------------------------------------


def _unet_block(state, key, x, outer_nc, inner_nc, inner_levels, *, outermost=False, variant=None):
    """UnetSkipConnectionBlock at ``key`` (its Sequential is ``key.model``); ``inner_levels``: (outer, inner) widths of
    the blocks inside it, innermost last."""
    if outermost:  # model = [downconv, submodule, uprelu, upconv, Tanh]
        h = _conv(state, f"{key}.model.0", x, inner_nc, 4, stride=2, padding=1)
        h = _unet_block(state, f"{key}.model.1", h, *inner_levels[0], inner_levels[1:], variant=variant)
        h = _conv_transpose(state, f"{key}.model.3", F.relu(h), outer_nc, 4, bias=True)
        return torch.tanh(h)
    # Every inner block starts with nn.LeakyReLU(0.2, True): in place, so the x it concatenates as its skip is
    # LeakyReLU(x); the in-place call reproduces that aliasing. (No output depends on it: the parent's ReLU comes
    # next, and ReLU(LeakyReLU(x)) = ReLU(x).)
    x = F.leaky_relu(x, 0.2, inplace=True)
    h = _conv(state, f"{key}.model.1", x, inner_nc, 4, stride=2, padding=1)
    if not inner_levels:  # innermost: [downrelu, downconv, uprelu, upconv, upnorm], no norm after downconv
        h = _conv_transpose(state, f"{key}.model.3", F.relu(h), outer_nc, 4)
        return _skip(x, state.normalize(f"{key}.model.4", h), variant)
    # [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm] (+ Dropout, identity in eval mode)
    h = state.normalize(f"{key}.model.2", h)
    h = _unet_block(state, f"{key}.model.3", h, *inner_levels[0], inner_levels[1:], variant=variant)
    if variant == "upconv_before_relu" and len(inner_levels) == 1:  # the perturbation: two layers swapped
        h = F.relu(_conv_transpose(state, f"{key}.model.5", h, outer_nc, 4))
    else:
        h = _conv_transpose(state, f"{key}.model.5", F.relu(h), outer_nc, 4)
    return _skip(x, state.normalize(f"{key}.model.6", h), variant)


def _skip(x: Tensor, h: Tensor, variant: str | None) -> Tensor:
    """torch.cat([x, self.model(x)], 1): the skip first (the perturbation puts it last)."""
    return torch.cat([h, x] if variant == "skip_concatenated_last" else [x, h], 1)


def unet_reference(state: OfficialState, x: Tensor, *, ngf: int, num_downs: int, out_nc: int = 3,
                   variant: str | None = None) -> Tensor:  # fmt: skip
    """The official UnetGenerator on x: from the outermost level, widths (outer, inner) = (out_nc, ngf),
    (ngf, 2 ngf), (2 ngf, 4 ngf), (4 ngf, 8 ngf), then num_downs - 5 levels and the innermost at (8 ngf, 8 ngf)."""
    assert variant in UNET_VARIANTS, variant
    levels = [(ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)] + [(8 * ngf, 8 * ngf)] * (num_downs - 4)
    return _unet_block(state, "model", x, out_nc, ngf, levels, outermost=True, variant=variant)


def official_state(net_g: str, *, ngf: int, in_nc: int = 3, out_nc: int = 3, norm: str = "instance",
                   legacy: bool = False, seed: int = 0) -> OfficialState:  # fmt: skip
    """The state dict an official ``--netG net_g --ngf ngf --norm norm`` generator would save, random weights."""
    state = OfficialState(norm=norm, build=True, legacy=legacy, seed=seed)
    size = int(net_g.removeprefix("unet_")) if net_g.startswith("unet_") else 8  # the U-Net's bottleneck is 1x1
    with torch.no_grad():
        reference(net_g, state, torch.zeros(1, in_nc, size, size), ngf=ngf, out_nc=out_nc)
    state.build = False
    return state


def reference(net_g: str, state: OfficialState, x: Tensor, *, ngf: int, out_nc: int = 3, variant: str | None = None):
    """The official ``--netG net_g`` generator's output for x (no_grad: the U-Net's ReLUs work in place)."""
    with torch.no_grad():
        if net_g.startswith("resnet_"):
            n_blocks = int(net_g.removeprefix("resnet_").removesuffix("blocks"))
            return resnet_reference(state, x, ngf=ngf, n_blocks=n_blocks, out_nc=out_nc, variant=variant)
        num_downs = {"unet_128": 7, "unet_256": 8}[net_g]
        return unet_reference(state, x.clone(), ngf=ngf, num_downs=num_downs, out_nc=out_nc, variant=variant)
