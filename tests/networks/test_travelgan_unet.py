"""The official TraVeLGAN U-Net (KrishnaswamyLab/travelgan ``Generator``): size, layers, forward graph, errors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.networks import Generator, ShiftBatchNorm2d, TraVeLGANGenerator


def test_official_parameter_count():
    # TF's trainable variables at the official settings (128 px, nfilt 64, so 4 levels down to 8x8): kernels, biases
    # and batch-norm betas. TF's moving averages are not trainable, as PyTorch's running statistics are buffers.
    net = TraVeLGANGenerator(3, 3)
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 4_074_691
    assert net.size_multiple == 16


@pytest.mark.parametrize(
    "num_downs, base_channels, size",
    [(1, 2, 16), (2, 4, 16), (3, 4, 32), (4, 2, 64), (3, 2, 64)],
)
def test_shape_range_and_gradients(num_downs, base_channels, size):
    net = TraVeLGANGenerator(3, 2, base_channels=base_channels, num_downs=num_downs)
    assert isinstance(net, Generator) and size % net.size_multiple == 0
    x = torch.rand(2, 3, size, size) * 2 - 1
    y = net(x)
    assert y.shape == (2, 2, size, size) and y.abs().max() <= 1
    (y * torch.randn_like(y)).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, f"No gradient for {name}"
    net.eval()
    assert net(x).shape == (2, 2, size, size)  # eval mode: the moving averages, as the official is_training=False


@pytest.mark.parametrize("num_downs, size, multiple", [(3, 20, 8), (4, 24, 16), (2, 18, 4)])
def test_bad_size_raises_one_line(num_downs, size, multiple):
    net = TraVeLGANGenerator(3, 3, base_channels=2, num_downs=num_downs)
    with pytest.raises(ValueError, match=f"multiple of {multiple}") as info:
        net(torch.zeros(1, 3, size, size))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_downs": 0}, "num_downs must be >= 1"), ({"base_channels": 0}, "base_channels must be"),
     ({"num_downs": 3, "skip_levels": 3}, "skip_levels must be between 0 and num_downs - 1 = 2"),
     ({"residual": True, "out_channels": 1}, "residual=True needs out_channels == in_channels, got 3 -> 1")],
)  # fmt: skip
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TraVeLGANGenerator(3, kwargs.pop("out_channels", 3), **kwargs)


def test_residual_starts_as_the_identity_and_learns_a_change():
    torch.manual_seed(0)
    plain, residual = TraVeLGANGenerator(3, 3, base_channels=4, num_downs=3), None
    residual = TraVeLGANGenerator(3, 3, base_channels=4, num_downs=3, residual=True)
    # The same parameters and keys as the official network: official weights load into either.
    assert [(k, v.shape) for k, v in plain.state_dict().items()] == [
        (k, v.shape) for k, v in residual.state_dict().items()
    ]
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(residual(x), x)  # the output layer starts at zero: the input comes back
    target = (x + 0.3).clamp(-1, 1)
    optimizer = torch.optim.Adam(residual.parameters(), lr=1e-2)
    first = F.l1_loss(residual(x), target).item()
    for _ in range(30):
        optimizer.zero_grad()
        F.l1_loss(residual(x), target).backward()
        optimizer.step()
    assert F.l1_loss(residual(x), target).item() < 0.5 * first  # gradients reach the whole network
    y = residual(x)
    assert y.abs().max() <= 1  # clipped to the image range


def test_official_layers():
    net = TraVeLGANGenerator(3, 3, base_channels=2, num_downs=5)
    convs = [block[0] for block in net.down]
    assert [c.out_channels for c in convs] == [2, 4, 8, 8, 8]  # widths capped at 4x (pix2pix caps at 8x)
    assert [c.out_channels for c in (block[0] for block in net.up)] == [8, 8, 4, 2]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.bias is not None for c in convs)
    assert isinstance(net.down[0][1], nn.Identity)  # no norm on the first conv
    norms = [block[1] for block in [*net.down[1:], *net.up]]
    assert all(isinstance(n, ShiftBatchNorm2d) for n in norms)  # the bottleneck too
    for block in net.down:
        assert isinstance(block[2], nn.LeakyReLU) and block[2].negative_slope == 0.2
    assert all(isinstance(block[2], nn.ReLU) for block in net.up)
    assert isinstance(net.out[0], nn.ConvTranspose2d) and isinstance(net.out[1], nn.Tanh) and len(net.out) == 2


def test_shift_only_batch_norm():
    norm = ShiftBatchNorm2d(3)
    assert [name for name, _ in norm.named_parameters()] == ["bias"]  # beta only: TF's scale=False has no gamma
    assert norm.norm.eps == 1e-3 and norm.norm.momentum == 0.1  # TF epsilon 0.001; decay 0.9
    x = torch.randn(4, 3, 5, 5) * 3 + 2
    with torch.no_grad():
        norm.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    y = norm(x)
    expected = (x - x.mean((0, 2, 3), keepdim=True)) / (x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-3).sqrt()
    torch.testing.assert_close(y, expected + norm.bias.view(1, -1, 1, 1))
    torch.testing.assert_close(norm.norm.running_mean, 0.1 * x.mean((0, 2, 3)))  # TF: 0.9 * moving + 0.1 * batch


def test_sync_batch_norm_conversion_keeps_the_shift():
    net = TraVeLGANGenerator(3, 3, base_channels=2, num_downs=3)
    count = sum(p.numel() for p in net.parameters())
    net = nn.SyncBatchNorm.convert_sync_batchnorm(net)  # what --trainer.sync_batchnorm does
    assert sum(p.numel() for p in net.parameters()) == count
    assert isinstance(net.down[1][1].norm, nn.SyncBatchNorm) and not net.down[1][1].norm.affine


def test_skip_keeps_negative_values():
    # The official network applies ReLU to the decoded half only, then concatenates the encoder's LeakyReLU output:
    # the next transposed conv sees negative skip values (pix2pix's U-Net applies ReLU to the concatenation).
    net = TraVeLGANGenerator(3, 3, base_channels=4, num_downs=2)
    seen = {}
    net.out[0].register_forward_pre_hook(lambda module, args: seen.setdefault("x", args[0]))
    net(torch.randn(2, 3, 16, 16))
    decoded, skip = seen["x"].split(4, dim=1)  # decoded first, as the official tf.concat([x, encoderx], 3)
    assert decoded.min() >= 0 and skip.min() < 0


@pytest.mark.parametrize("skip_levels", [0, 1, 2])
def test_skip_levels_keep_the_inner_skips_and_drop_the_outer_ones(skip_levels):
    net = TraVeLGANGenerator(3, 3, base_channels=4, num_downs=3, skip_levels=skip_levels)  # widths 4, 8, 16
    assert net.up[1][0].in_channels == (16 if skip_levels >= 1 else 8)  # decoded H/4 (+ the encoder's H/4 skip)
    assert net.out[0].in_channels == (8 if skip_levels >= 2 else 4)  # decoded H/2 (+ the encoder's H/2 skip)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 3, 16, 16)
    official = TraVeLGANGenerator(3, 3, base_channels=4, num_downs=3)
    assert official.skip_levels == 2 and official.state_dict().keys() == net.state_dict().keys()


def test_forward_is_the_official_graph():
    # The official Generator written out with functional ops at two levels (e1, e2 = bottleneck, d1, out), on this
    # network's weights: a change of activation, norm, concatenation order or padding breaks the match.
    torch.manual_seed(0)
    net = TraVeLGANGenerator(3, 3, base_channels=4, num_downs=2)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)

    def bn(x, norm):  # batch statistics, eps 1e-3, shift only
        return F.batch_norm(x, None, None, None, norm.bias, training=True, eps=1e-3)

    (conv1, _, _), (conv2, norm2, _) = net.down
    (up1, norm_up1, _), out = net.up[0], net.out[0]
    x = torch.randn(3, 3, 16, 16)
    e1 = F.leaky_relu(F.conv2d(x, conv1.weight, conv1.bias, stride=2, padding=1), 0.2)
    e2 = F.leaky_relu(bn(F.conv2d(e1, conv2.weight, conv2.bias, stride=2, padding=1), norm2), 0.2)
    d1 = F.relu(bn(F.conv_transpose2d(e2, up1.weight, up1.bias, stride=2, padding=1), norm_up1))
    expected = torch.tanh(F.conv_transpose2d(torch.cat([d1, e1], 1), out.weight, out.bias, stride=2, padding=1))
    torch.testing.assert_close(net(x), expected)


def test_official_initialisation():
    torch.manual_seed(0)
    net = TraVeLGANGenerator(3, 3, base_channels=16, num_downs=3)
    conv = net.down[1][0].weight
    assert conv.abs().max() <= 0.04 and 0.012 < conv.std() < 0.02  # truncated N(0, 0.02): cut at 2 std
    up = net.up[0][0].weight
    assert 0.018 < up.std() < 0.022 and up.abs().max() > 0.04  # plain N(0, 0.02)
    assert all((p == 0).all() for name, p in net.named_parameters() if name.endswith("bias"))
