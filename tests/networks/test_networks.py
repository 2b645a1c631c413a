"""Networks: official CycleGAN/pix2pix parity (parameter counts, state_dict keys), shapes, ranges, gradients, errors;
TraVeLGAN's vector networks (strided discriminator, siamese encoder) and the U-Net's self-attention.

The key lists below were derived once from junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (3 -> 3
channels, 64 base channels, instance norm); matching them means official checkpoints load with ``strict=True``.
"""

import hashlib
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from translate.networks import (
    Discriminator,
    Generator,
    PatchDiscriminator,
    ResnetGenerator,
    SelfAttention2d,
    ShiftBatchNorm2d,
    SiameseEncoder,
    StridedDiscriminator,
    UNetGenerator,
    init_weights,
)

# fmt: off
OFFICIAL_RESNET9_KEYS = [
    ("model.1.weight", (64, 3, 7, 7)),
    ("model.1.bias", (64,)),
    ("model.4.weight", (128, 64, 3, 3)),
    ("model.4.bias", (128,)),
    ("model.7.weight", (256, 128, 3, 3)),
    ("model.7.bias", (256,)),
    ("model.10.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.10.conv_block.1.bias", (256,)),
    ("model.10.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.10.conv_block.5.bias", (256,)),
    ("model.11.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.11.conv_block.1.bias", (256,)),
    ("model.11.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.11.conv_block.5.bias", (256,)),
    ("model.12.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.12.conv_block.1.bias", (256,)),
    ("model.12.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.12.conv_block.5.bias", (256,)),
    ("model.13.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.13.conv_block.1.bias", (256,)),
    ("model.13.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.13.conv_block.5.bias", (256,)),
    ("model.14.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.14.conv_block.1.bias", (256,)),
    ("model.14.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.14.conv_block.5.bias", (256,)),
    ("model.15.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.15.conv_block.1.bias", (256,)),
    ("model.15.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.15.conv_block.5.bias", (256,)),
    ("model.16.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.16.conv_block.1.bias", (256,)),
    ("model.16.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.16.conv_block.5.bias", (256,)),
    ("model.17.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.17.conv_block.1.bias", (256,)),
    ("model.17.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.17.conv_block.5.bias", (256,)),
    ("model.18.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.18.conv_block.1.bias", (256,)),
    ("model.18.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.18.conv_block.5.bias", (256,)),
    ("model.19.weight", (256, 128, 3, 3)),
    ("model.19.bias", (128,)),
    ("model.22.weight", (128, 64, 3, 3)),
    ("model.22.bias", (64,)),
    ("model.26.weight", (3, 64, 7, 7)),
    ("model.26.bias", (3,)),
]
OFFICIAL_PATCHGAN_KEYS = [
    ("model.0.weight", (64, 3, 4, 4)),
    ("model.0.bias", (64,)),
    ("model.2.weight", (128, 64, 4, 4)),
    ("model.2.bias", (128,)),
    ("model.5.weight", (256, 128, 4, 4)),
    ("model.5.bias", (256,)),
    ("model.8.weight", (512, 256, 4, 4)),
    ("model.8.bias", (512,)),
    ("model.11.weight", (1, 512, 4, 4)),
    ("model.11.bias", (1,)),
]
OFFICIAL_UNET256_KEYS = [
    ("model.model.0.weight", (64, 3, 4, 4)),
    ("model.model.0.bias", (64,)),
    ("model.model.1.model.1.weight", (128, 64, 4, 4)),
    ("model.model.1.model.1.bias", (128,)),
    ("model.model.1.model.3.model.1.weight", (256, 128, 4, 4)),
    ("model.model.1.model.3.model.1.bias", (256,)),
    ("model.model.1.model.3.model.3.model.1.weight", (512, 256, 4, 4)),
    ("model.model.1.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.3.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.3.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.5.weight", (1024, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.5.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.5.weight", (1024, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.5.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.5.weight", (1024, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.5.bias", (512,)),
    ("model.model.1.model.3.model.3.model.5.weight", (1024, 256, 4, 4)),
    ("model.model.1.model.3.model.3.model.5.bias", (256,)),
    ("model.model.1.model.3.model.5.weight", (512, 128, 4, 4)),
    ("model.model.1.model.3.model.5.bias", (128,)),
    ("model.model.1.model.5.weight", (256, 64, 4, 4)),
    ("model.model.1.model.5.bias", (64,)),
    ("model.model.3.weight", (128, 3, 4, 4)),
    ("model.model.3.bias", (3,)),
]
OFFICIAL_RESNET6_KEYS = [  # resnet_6blocks: blocks model.10-15, so the up-convolutions are model.16 and 19
    ("model.1.weight", (64, 3, 7, 7)),
    ("model.1.bias", (64,)),
    ("model.4.weight", (128, 64, 3, 3)),
    ("model.4.bias", (128,)),
    ("model.7.weight", (256, 128, 3, 3)),
    ("model.7.bias", (256,)),
    ("model.10.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.10.conv_block.1.bias", (256,)),
    ("model.10.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.10.conv_block.5.bias", (256,)),
    ("model.11.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.11.conv_block.1.bias", (256,)),
    ("model.11.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.11.conv_block.5.bias", (256,)),
    ("model.12.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.12.conv_block.1.bias", (256,)),
    ("model.12.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.12.conv_block.5.bias", (256,)),
    ("model.13.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.13.conv_block.1.bias", (256,)),
    ("model.13.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.13.conv_block.5.bias", (256,)),
    ("model.14.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.14.conv_block.1.bias", (256,)),
    ("model.14.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.14.conv_block.5.bias", (256,)),
    ("model.15.conv_block.1.weight", (256, 256, 3, 3)),
    ("model.15.conv_block.1.bias", (256,)),
    ("model.15.conv_block.5.weight", (256, 256, 3, 3)),
    ("model.15.conv_block.5.bias", (256,)),
    ("model.16.weight", (256, 128, 3, 3)),
    ("model.16.bias", (128,)),
    ("model.19.weight", (128, 64, 3, 3)),
    ("model.19.bias", (64,)),
    ("model.23.weight", (3, 64, 7, 7)),
    ("model.23.bias", (3,)),
]
OFFICIAL_UNET128_KEYS = [  # unet_128: unet_256 with one 512 -> 512 level fewer
    ("model.model.0.weight", (64, 3, 4, 4)),
    ("model.model.0.bias", (64,)),
    ("model.model.1.model.1.weight", (128, 64, 4, 4)),
    ("model.model.1.model.1.bias", (128,)),
    ("model.model.1.model.3.model.1.weight", (256, 128, 4, 4)),
    ("model.model.1.model.3.model.1.bias", (256,)),
    ("model.model.1.model.3.model.3.model.1.weight", (512, 256, 4, 4)),
    ("model.model.1.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.weight", (512, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.5.weight", (1024, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.3.model.5.bias", (512,)),
    ("model.model.1.model.3.model.3.model.3.model.5.weight", (1024, 512, 4, 4)),
    ("model.model.1.model.3.model.3.model.3.model.5.bias", (512,)),
    ("model.model.1.model.3.model.3.model.5.weight", (1024, 256, 4, 4)),
    ("model.model.1.model.3.model.3.model.5.bias", (256,)),
    ("model.model.1.model.3.model.5.weight", (512, 128, 4, 4)),
    ("model.model.1.model.3.model.5.bias", (128,)),
    ("model.model.1.model.5.weight", (256, 64, 4, 4)),
    ("model.model.1.model.5.bias", (64,)),
    ("model.model.3.weight", (128, 3, 4, 4)),
    ("model.model.3.bias", (3,)),
]
# fmt: on


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _keys_and_shapes(net: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(t.shape)) for name, t in net.state_dict().items()]


def _assert_all_grads(net: nn.Module) -> None:
    for name, p in net.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"


# Counts of the official networks (3 -> 3 channels, 64 base channels, instance norm); built on the meta device so
# the 54M-parameter U-Net costs nothing.
@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: ResnetGenerator(3, 3, num_blocks=9), 11_378_179),  # resnet_9blocks
        (lambda: ResnetGenerator(3, 3, num_blocks=6), 7_837_699),  # resnet_6blocks
        (lambda: UNetGenerator(3, 3, num_downs=7), 41_825_667),  # unet_128
        (lambda: UNetGenerator(3, 3, num_downs=8), 54_409_603),  # unet_256
        (lambda: PatchDiscriminator(3, num_layers=3), 2_764_737),  # basic
    ],
    ids=["resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256", "patchgan_3"],
)
def test_official_parameter_counts(build, expected):
    with torch.device("meta"):
        assert _count(build()) == expected


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: ResnetGenerator(3, 3), OFFICIAL_RESNET9_KEYS),
        (lambda: ResnetGenerator(3, 3, num_blocks=6), OFFICIAL_RESNET6_KEYS),
        (lambda: PatchDiscriminator(3), OFFICIAL_PATCHGAN_KEYS),
        (lambda: UNetGenerator(3, 3, num_downs=7), OFFICIAL_UNET128_KEYS),
        (lambda: UNetGenerator(3, 3, num_downs=8), OFFICIAL_UNET256_KEYS),
    ],
    ids=["resnet_9blocks", "resnet_6blocks", "patchgan_3", "unet_128", "unet_256"],
)
def test_state_dict_matches_official(build, expected):
    with torch.device("meta"):
        assert _keys_and_shapes(build()) == expected


def test_batch_norm_drops_conv_bias_as_official():
    keys = ResnetGenerator(3, 3, base_channels=4, num_blocks=1, norm="batch").state_dict()
    assert "model.1.bias" not in keys and "model.10.conv_block.1.bias" not in keys  # conv followed by batch norm
    assert "model.18.bias" in keys  # the output conv (index 18 with one block) keeps its bias
    assert {"model.2.weight", "model.2.bias", "model.2.running_mean", "model.2.num_batches_tracked"} <= set(keys)
    keys = PatchDiscriminator(3, base_channels=4, norm="batch").state_dict()
    assert "model.0.bias" in keys and "model.2.bias" not in keys and "model.3.running_var" in keys


def test_instance_norm_is_stateless():
    net = ResnetGenerator(3, 3, base_channels=4, num_blocks=1)
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not m.state_dict() for m in norms)


def _keys_digest(net: nn.Module) -> str:
    text = "\n".join(f"{name} {tuple(t.shape)}" for name, t in net.state_dict().items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Taken from main at ed7f3d6, before ResnetGenerator.__init__ was split into builder helpers: its parameter count,
# state_dict keys and shapes (a digest of "key shape" lines), and the count of those keys, for each layout flag.
@pytest.mark.parametrize(
    "kwargs, count, digest, num_keys",
    [
        ({}, 11_378_179, "1b88247e103af2dd", 48),
        ({"antialias": True}, 11_378_179, "461c81861b40b0d9", 52),
        ({"upsample": "resize"}, 11_378_179, "c81eee1a39971fdf", 48),
        ({"upsample": "resize", "residual": True, "long_skip": True}, 11_378_179, "c81eee1a39971fdf", 48),
        ({"norm": "batch", "dropout": 0.5, "num_blocks": 6}, 7_841_411, "82c82ed2d40411d7", 104),
    ],
    ids=["official", "antialias", "resize", "resize_residual_long_skip", "batch_dropout_6"],
)
def test_resnet_layouts_keep_their_keys_and_counts(kwargs, count, digest, num_keys):
    with torch.device("meta"):
        net = ResnetGenerator(3, 3, **kwargs)
    assert (_count(net), _keys_digest(net), len(net.state_dict())) == (count, digest, num_keys)


# The same from main at ed7f3d6 for small networks (4 base channels, 2 blocks unless given): built after
# torch.manual_seed(0), in eval mode, on a fixed input; the sum, absolute sum and squared sum of the output.
@pytest.mark.parametrize(
    "kwargs, count, digest, sums",
    [
        ({}, 13_379, "28bc037604038ff8", (-83.2321138, 236.486969, 55.0998894)),
        ({"antialias": True}, 13_379, "d8eb63c00b54c29d", (-22.0446141, 171.283357, 30.1290803)),
        ({"upsample": "resize"}, 13_379, "80aee9d030d910ef", (-74.2232009, 188.830941, 36.9943695)),
        ({"long_skip": True}, 13_379, "28bc037604038ff8", (-164.287764, 323.202477, 100.343209)),
        ({"residual": True, "long_skip": True}, 13_379, "28bc037604038ff8", (24.1559927, 615.970102, 369.53603)),
        (
            {"norm": "batch", "dropout": 0.5},
            13_483,
            "65541bb18b8e9187",
            (-0.000137286641, 0.000817463129, 7.11724534e-10),
        ),
        ({"norm": "none", "num_blocks": 0}, 4_099, "80975b2986f6ba91", (-0.000260751411, 0.00139683434, 2.1152315e-09)),
        (
            {"in_channels": 1, "antialias": True, "init_type": "xavier"},
            12_987,
            "0ce5ee614ce122b8",
            (-15.5409465, 20.31417, 0.429248712),
        ),
    ],  # fmt: skip
    ids=[
        "official",
        "antialias",
        "resize",
        "long_skip",
        "residual_long_skip",
        "batch_dropout",
        "none_0_blocks",
        "xavier_antialias_1to3",
    ],  # fmt: skip
)
def test_resnet_layouts_keep_their_outputs(kwargs, count, digest, sums):
    kwargs = {"in_channels": 3, "num_blocks": 2, **kwargs}
    torch.manual_seed(0)
    net = ResnetGenerator(kwargs.pop("in_channels"), 3, base_channels=4, **kwargs).eval()
    x = torch.randn(2, net.model[1].in_channels, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.5
    with torch.no_grad():
        y = net(x).double()
    assert (_count(net), _keys_digest(net)) == (count, digest)
    assert (y.sum().item(), y.abs().sum().item(), y.square().sum().item()) == pytest.approx(sums, rel=1e-5)


def test_dropout_layers_sit_where_official_puts_them():
    keys = ResnetGenerator(3, 3, base_channels=4, num_blocks=1, dropout=0.5).state_dict()
    assert "model.10.conv_block.6.weight" in keys  # nn.Dropout(0.5) at conv_block.4 shifts the second conv
    for num_downs, expected in [(5, 0), (7, 2), (8, 3)]:  # only the extra 8x-wide middle levels
        with torch.device("meta"):
            net = UNetGenerator(3, 3, num_downs=num_downs, dropout=0.5)
        assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == expected


GENERATORS = [
    (ResnetGenerator, {"num_blocks": 1}, 16),
    (ResnetGenerator, {"num_blocks": 1, "norm": "batch", "dropout": 0.5}, 16),
    (ResnetGenerator, {"num_blocks": 0, "norm": "none"}, 16),
    (UNetGenerator, {"num_downs": 3}, 16),
    (UNetGenerator, {"num_downs": 5, "norm": "batch", "dropout": 0.5}, 32),
    (UNetGenerator, {"num_downs": 6, "norm": "none", "dropout": 0.5}, 64),
]


@pytest.mark.parametrize("cls, kwargs, size", GENERATORS, ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_generator_keeps_shape_and_range(cls, kwargs, size):
    net = cls(3, 2, base_channels=4, **kwargs)
    assert isinstance(net, Generator) and size % net.size_multiple == 0
    x = torch.rand(2, 3, size, size) * 2 - 1
    y = net(x)
    assert y.shape == (2, 2, size, size)
    assert y.abs().max() <= 1 and torch.isfinite(y).all()
    y.square().mean().backward()
    _assert_all_grads(net)


def test_unet_skip_carries_activated_input_as_official():
    # The official block's in-place LeakyReLU rewrites x before torch.cat, so checkpoints expect LeakyReLU(x) there.
    net = UNetGenerator(3, 3, base_channels=4, num_downs=3)
    middle = net.model.model[1]  # (B, 4, 8, 8) -> (B, 8, 8, 8)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(middle(x)[:, :4], nn.functional.leaky_relu(x, 0.2))


def test_size_multiples():
    assert ResnetGenerator(3, 3, base_channels=4, num_blocks=1).size_multiple == 4
    assert UNetGenerator(3, 3, base_channels=4, num_downs=3).size_multiple == 8


def test_full_size_resnet_forward():
    net = ResnetGenerator(3, 3).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 64, 64) * 2 - 1).shape == (1, 3, 64, 64)


DISCRIMINATORS = [
    {},
    {"norm": "batch"},
    {"norm": "none", "spectral_norm": True},
    {"self_attention": True},
    {"norm": "none", "spectral_norm": True, "self_attention": True},
    {"num_layers": 1, "self_attention": True},
]


@pytest.mark.parametrize("kwargs", DISCRIMINATORS, ids=str)
def test_discriminator_shapes_and_grads(kwargs):
    kwargs = {"num_layers": 2, **kwargs}
    net = PatchDiscriminator(3, base_channels=4, **kwargs)
    assert isinstance(net, Discriminator)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():  # eval: spectral norm runs no power iteration, so both paths see the same weights
        h = net.eval().forward_features(x)
        assert h.shape[:2] == (2, net.num_features)
        assert torch.equal(net(x), net.forward_head(h))
    logits = net.train()(x)
    assert logits.shape[:2] == (2, 1) and torch.isfinite(logits).all()
    logits.square().mean().backward()
    _assert_all_grads(net)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_self_attention_sits_after_last_strided_stage(num_layers):
    net = PatchDiscriminator(3, base_channels=8, num_layers=num_layers, self_attention=True)
    (attention,) = [m for m in net.modules() if isinstance(m, SelfAttention2d)]
    seen = []
    attention.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape)))
    net(torch.rand(1, 3, 64, 64))
    assert seen == [(1, 8 * min(2 ** (num_layers - 1), 8), 64 // 2**num_layers, 64 // 2**num_layers)]


def test_spectral_norm_bounds_largest_singular_value():
    net = PatchDiscriminator(3, base_channels=4, num_layers=2, norm="none", spectral_norm=True).train()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for conv in convs:  # a large raw weight: without spectral norm its top singular value would be ~10x
            conv.parametrizations.weight.original.mul_(10)
        x = torch.rand(2, 3, 32, 32)
        for _ in range(10):  # one power iteration per training forward pass
            net(x)
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.05)


def test_self_attention_is_identity_at_zero_gamma():
    block = SelfAttention2d(16)
    x = torch.randn(2, 16, 5, 6)
    assert torch.equal(block(x), x)


def test_self_attention_mixes_positions():
    block = SelfAttention2d(16)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, 16, 6, 6)
    x_far = x.clone()
    x_far[..., 5, 5] += 3.0  # change only the far corner
    changed = (block(x_far) - block(x))[..., 0, 0]  # (1, 16) at the opposite corner
    assert changed.abs().max() > 1e-4
    block(x).sum().backward()
    _assert_all_grads(block)


def test_init_weights_follows_official_semantics():
    net = nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(256), nn.Linear(8, 8))
    init_weights(net)
    conv, bn, linear = net
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.03)
    assert conv.weight.mean().abs() < 1e-3 and not conv.bias.any() and not linear.bias.any()
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01) and not bn.bias.any()
    init_weights(conv, gain=0.1)
    assert conv.weight.std().item() == pytest.approx(0.1, rel=0.03)


@pytest.mark.parametrize("init_type", ["xavier", "kaiming", "orthogonal"])
def test_other_init_types(init_type):
    net = PatchDiscriminator(3, base_channels=4, num_layers=1, init_type=init_type)
    assert all(not m.bias.any() for m in net.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: ResnetGenerator(3, 3, norm="layer"), r"'layer'.*'instance', 'batch', 'none'"),
        (lambda: UNetGenerator(3, 3, norm="group"), r"'group'.*'instance', 'batch', 'none'"),
        (lambda: PatchDiscriminator(3, norm="spectral"), r"'spectral'.*'instance', 'batch', 'none'"),
        (lambda: ResnetGenerator(3, 3, num_blocks=-1), r"num_blocks must be >= 0, got -1"),
        (lambda: ResnetGenerator(3, 3, dropout=1.5), r"\[0, 1\), got 1.5"),
        (lambda: UNetGenerator(3, 3, num_downs=1), r"num_downs must be >= 2"),
        (lambda: PatchDiscriminator(3, num_layers=-1), r"num_layers must be >= 0"),
        (lambda: PatchDiscriminator(3, init_type="uniform"), r"'uniform'.*'normal', 'xavier', 'kaiming', 'orthogonal'"),
    ],
    ids=["norm-resnet", "norm-unet", "norm-patch", "num_blocks", "dropout", "num_downs", "num_layers", "init_type"],
)
def test_bad_arguments_raise_value_error(build, match):
    with pytest.raises(ValueError, match=match), torch.device("meta"):
        build()


@pytest.mark.parametrize(
    "net, size, multiple",
    [
        (UNetGenerator(3, 3, base_channels=4, num_downs=3), 20, 8),
        (ResnetGenerator(3, 3, base_channels=4, num_blocks=1), 18, 4),
    ],
    ids=["unet", "resnet"],
)
def test_bad_input_size_names_size_and_multiple(net, size, multiple):
    with pytest.raises(ValueError, match=rf"{size}x{size} is not divisible by {multiple}"):
        net(torch.rand(1, 3, size, size))


# --- TraVeLGAN's networks ---------------------------------------------------------------------------------------------


def test_vector_networks_shapes_and_gradients():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    nets = [
        (
            StridedDiscriminator(
                3,
                out_features=5,
                base_channels=4,
                num_layers=3,
                spectral_norm=True,
                self_attention=True,
                norm="none",
                pool_size=1,
            ),
            (2, 5),
        ),  # fmt: skip
        (StridedDiscriminator(3, base_channels=4, num_layers=2), (2, 1)),
        (SiameseEncoder(3, embed_dim=7, base_channels=4, num_layers=3), (2, 7)),
        (UNetGenerator(3, 3, base_channels=4, num_downs=3, self_attention=True), (2, 3, 32, 32)),
    ]
    for net, shape in nets:
        y = net(x)
        assert y.shape == shape
        y.square().mean().backward()
        assert all(p.grad is not None for p in net.parameters()), f"{type(net).__name__}: a parameter got no grad"


def _norms(net: nn.Module) -> list[nn.Module]:
    """The norm layers, not counting the statistics-only BatchNorm2d inside each ShiftBatchNorm2d."""
    inner = {id(m.norm) for m in net.modules() if isinstance(m, ShiftBatchNorm2d)}
    kinds = nn.BatchNorm2d | ShiftBatchNorm2d | nn.InstanceNorm2d
    return [m for m in net.modules() if isinstance(m, kinds) and id(m) not in inner]


def test_travelgan_discriminator_has_the_official_trainable_variables():
    # KrishnaswamyLab/travelgan Discriminator at 128 px, nfilt 64 (so 128 base filters): five unet_conv layers with
    # kernel and bias (use_bias=True), TF batch norm's beta after all but the first (scale=False: no gamma), and
    # the dense "out" layer, kernel and bias. Worked out by hand: 6,272 + 524,800 + 2,098,176 + 8,390,656 +
    # 16,779,264 + 16,385.
    net = StridedDiscriminator(3, base_channels=128, num_layers=5)
    assert sum(p.numel() for p in net.parameters()) == 27_815_553
    assert len(list(net.parameters())) == 5 * 2 + 4 + 2  # one tensor per official variable: kernel, bias, beta
    convs = [m for m in net.trunk if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5 and all(conv.bias is not None for conv in convs)
    assert all(isinstance(n, ShiftBatchNorm2d) and n.norm.eps == 1e-3 for n in _norms(net)) and len(_norms(net)) == 4
    assert [name for name, _ in net.named_parameters() if "trunk.4" in name] == ["trunk.4.bias"]  # beta only


@pytest.mark.parametrize("config", ["travelgan.yaml", "travelgan_quickstart.yaml"])
def test_travelgan_configs_use_the_official_batch_norm(config):
    # The official D and S normalise with tf.contrib.layers.batch_norm's defaults: a shift, no scale, eps 1e-3.
    path = Path(__file__).resolve().parents[2] / "configs" / config
    init_args = yaml.safe_load(path.read_text())["model"]["init_args"]
    nets = [StridedDiscriminator(3, **init_args["discriminator"]["init_args"]),
            SiameseEncoder(3, **init_args["siamese"]["init_args"])]  # fmt: skip
    for net in nets:
        norms = _norms(net)
        assert norms and all(isinstance(n, ShiftBatchNorm2d) and n.norm.eps == 1e-3 for n in norms), type(net)


def test_pytorch_batch_norm_stays_available_to_the_vector_networks():
    # "batch" is still PyTorch's (a scale, eps 1e-5, no conv bias): what checkpoints before batch_shift were built with.
    net = StridedDiscriminator(3, base_channels=4, num_layers=3, norm="batch")
    assert all(isinstance(n, nn.BatchNorm2d) and n.affine and n.eps == 1e-5 for n in _norms(net))
    assert [m.bias is not None for m in net.trunk if isinstance(m, nn.Conv2d)] == [True, False, False]


def test_unet_self_attention_is_off_by_default():
    keys = UNetGenerator(3, 3, base_channels=4, num_downs=4).state_dict().keys()
    assert not any("gamma" in key for key in keys)
    assert any(
        "gamma" in key for key in UNetGenerator(3, 3, base_channels=4, num_downs=4, self_attention=True).state_dict()
    )
