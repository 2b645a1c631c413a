"""CUT's networks: the anti-aliased ResNet generator and PatchGAN have the official keys, shapes and counts, the blur
layers equal the official ones, the plain ResNet (CycleGAN) is unchanged, and PatchNCE equals a slow reference.

The references below are written from taesungp/contrastive-unpaired-translation ``models/networks.py``
(``Downsample``, ``Upsample``, ``ResnetGenerator`` and ``NLayerDiscriminator`` with anti-aliasing on, their default)
and ``models/patchnce.py``.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.networks import AntialiasedPatchDiscriminator, ResnetGenerator
from translate.networks.antialias import BlurDownsample, BlurUpsample
from translate.networks.patchnce import PatchSampleHeads, patchnce_loss

CUT_NCE_CHANNELS = [3, 128, 256, 256, 256]  # the padded image, two down-sampling convs, blocks 1 and 5


def official_filter(size: int) -> torch.Tensor:
    row = np.array({3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0]}[size])
    kernel = torch.Tensor(row[:, None] * row[None, :])
    return kernel / kernel.sum()


def official_downsample(x: torch.Tensor) -> torch.Tensor:  # Downsample(C): reflect pad 1, 3x3 filter, stride 2
    weight = official_filter(3)[None, None].repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, [1, 1, 1, 1], mode="reflect"), weight, stride=2, groups=x.shape[1])


def official_upsample(x: torch.Tensor) -> torch.Tensor:  # Upsample(C): replicate pad 1, 4x4 filter * 4, stride 2
    weight = (official_filter(4) * 4)[None, None].repeat(x.shape[1], 1, 1, 1)
    out = F.conv_transpose2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), weight, stride=2, padding=2, groups=x.shape[1])
    return out[:, :, 1:, 1:][:, :, :-1, :-1]


def official_cut_generator_keys(ngf: int = 64, n_blocks: int = 9, channels: int = 3) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes of the official ResnetGenerator(no_antialias=False, no_antialias_up=False)."""
    keys = {"model.1.weight": (ngf, channels, 7, 7), "model.1.bias": (ngf,)}
    keys |= {"model.4.weight": (2 * ngf, ngf, 3, 3), "model.4.bias": (2 * ngf,), "model.7.filt": (2 * ngf, 1, 3, 3)}
    keys |= {"model.8.weight": (4 * ngf, 2 * ngf, 3, 3), "model.8.bias": (4 * ngf,)}
    keys["model.11.filt"] = (4 * ngf, 1, 3, 3)
    for block in range(12, 12 + n_blocks):
        for conv in (1, 5):
            keys[f"model.{block}.conv_block.{conv}.weight"] = (4 * ngf, 4 * ngf, 3, 3)
            keys[f"model.{block}.conv_block.{conv}.bias"] = (4 * ngf,)
    up = 12 + n_blocks  # Upsample, conv, norm, ReLU, twice
    keys |= {f"model.{up}.filt": (4 * ngf, 1, 4, 4), f"model.{up + 1}.weight": (2 * ngf, 4 * ngf, 3, 3)}
    keys |= {f"model.{up + 1}.bias": (2 * ngf,), f"model.{up + 4}.filt": (2 * ngf, 1, 4, 4)}
    keys |= {f"model.{up + 5}.weight": (ngf, 2 * ngf, 3, 3), f"model.{up + 5}.bias": (ngf,)}
    keys |= {f"model.{up + 9}.weight": (channels, ngf, 7, 7), f"model.{up + 9}.bias": (channels,)}
    return keys


def shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def test_antialiased_generator_has_the_official_cut_keys_shapes_and_count():
    net = ResnetGenerator(3, 3, antialias=True, init_type="xavier")
    assert shapes(net) == official_cut_generator_keys()
    assert sum(p.numel() for p in net.parameters()) == 11_378_179  # the same count as CycleGAN's, another layout
    assert sum(p.numel() for p in ResnetGenerator(3, 3).parameters()) == 11_378_179


def test_plain_resnet_generator_keeps_cyclegans_layout_and_outputs():
    torch.manual_seed(0)
    plain = ResnetGenerator(3, 3, base_channels=8, num_blocks=2)
    assert [k for k in plain.state_dict() if "filt" in k] == []
    assert {k.split(".")[1] for k in plain.state_dict()} == {"1", "4", "7", "10", "11", "12", "15", "19"}
    # antialias=False is the default: the same layers drawn in the same order (test_official.py: CycleGAN's outputs)
    torch.manual_seed(0)
    again = ResnetGenerator(3, 3, base_channels=8, num_blocks=2, antialias=False)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.equal(plain(x), again(x))
    assert all(isinstance(layer, nn.Conv2d | nn.ConvTranspose2d) for layer in (plain.model[4], plain.model[12]))


@pytest.mark.parametrize("size", [8, 9, 16])
def test_blur_layers_equal_the_official_ones(size):
    x = torch.randn(2, 5, size, size + 2)
    assert torch.allclose(BlurDownsample(5)(x), official_downsample(x), atol=1e-6)
    assert BlurDownsample(5)(x).shape[-2:] == (math.ceil(size / 2), math.ceil((size + 2) / 2))
    assert torch.allclose(BlurUpsample(5)(x), official_upsample(x), atol=1e-6)
    assert BlurUpsample(5)(x).shape[-2:] == (2 * size, 2 * (size + 2))
    flat = torch.full((1, 2, size, size), 0.3)  # a blur keeps a constant image constant
    assert torch.allclose(BlurUpsample(2)(flat), torch.full((1, 2, 2 * size, 2 * size), 0.3), atol=1e-6)


def test_antialiased_generator_encodes_the_nce_layers():
    net = ResnetGenerator(3, 3, base_channels=4, num_blocks=5, antialias=True)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    features = net.encode(x, [0, 4, 8, 12, 16])
    assert [tuple(f.shape) for f in features] == [(2, 3, 22, 22), (2, 8, 16, 16), (2, 16, 8, 8), (2, 16, 4, 4),
                                                   (2, 16, 4, 4)]  # fmt: skip
    h = x
    for layer in net.model[:13]:
        h = layer(h)
    assert torch.equal(features[3], h)  # layer 12's output: the first residual block's
    with pytest.raises(ValueError, match="ascending indices"):
        net.encode(x, [4, 0])


def test_antialiased_patch_discriminator_has_the_official_keys():
    net = AntialiasedPatchDiscriminator(3)
    expected = {"model.0.weight": (64, 3, 4, 4), "model.0.bias": (64,), "model.2.filt": (64, 1, 3, 3)}
    for index, (cin, cout) in zip((3, 7, 11), [(64, 128), (128, 256), (256, 512)], strict=True):
        expected |= {f"model.{index}.weight": (cout, cin, 4, 4), f"model.{index}.bias": (cout,)}
    expected |= {"model.6.filt": (128, 1, 3, 3), "model.10.filt": (256, 1, 3, 3)}
    expected |= {"model.14.weight": (1, 512, 4, 4), "model.14.bias": (1,)}
    assert shapes(net) == expected
    logits = net(torch.rand(2, 3, 32, 32))
    assert logits.shape[:2] == (2, 1) and net.forward_features(torch.rand(1, 3, 32, 32)).shape[1] == net.num_features


def test_heads_have_the_official_parameter_count_and_reuse_the_locations():
    assert sum(p.numel() for p in PatchSampleHeads(CUT_NCE_CHANNELS).parameters()) == 560_384
    heads = PatchSampleHeads([2, 2])
    # each location's features are its own index, so a sampled row tells where it came from
    where = torch.arange(2 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8).expand(2, 2, 8, 8)
    sampled, ids = heads([where, where], 10)
    assert [len(i) for i in ids] == [10, 10] and len(set(ids[0].tolist())) == 10
    again, same_ids = heads([where + 0, where * 1], 10, ids)
    assert all(torch.equal(a, b) for a, b in zip(ids, same_ids, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(sampled, again, strict=True))
    assert sampled[0].shape == (2 * 10, 256)
    rows = where.permute(0, 2, 3, 1).flatten(1, 2)[:, ids[0], :].flatten(0, 1)  # image 0's 10 places, then image 1's
    assert torch.equal(rows[:10, 0], ids[0].float()) and torch.equal(rows[10:, 0], ids[0].float() + 64)
    projected = heads.heads[0](rows)
    assert torch.allclose(sampled[0], projected / (projected.norm(dim=1, keepdim=True) + 1e-7))
    assert torch.allclose(sampled[0].norm(dim=1), torch.ones(20), atol=1e-5)
    every, _ = heads([where[:, :, :2, :2], where], 10)  # a 2x2 map has 4 locations: all of them
    assert every[0].shape == (2 * 4, 256)


def slow_patchnce(queries, keys, batch_size, temperature, negatives_from_batch=False):
    """One patch at a time: -log softmax of its positive among its image's (or the batch's) other keys."""
    n = len(queries)
    per_image = n // batch_size
    losses = []
    for i in range(n):
        group = (
            range(n) if negatives_from_batch else range(i // per_image * per_image, (i // per_image + 1) * per_image)
        )
        positive = float(queries[i] @ keys[i]) / temperature
        others = [float(queries[i] @ keys[j]) / temperature for j in group if j != i]
        terms = [positive, *others, -10.0 / temperature]  # the official masked diagonal: exp(-10 / tau)
        losses.append(-(positive - math.log(sum(math.exp(t) for t in terms))))
    return torch.tensor(losses)


@pytest.mark.parametrize("negatives_from_batch", [False, True])
def test_patchnce_equals_a_slow_reference(negatives_from_batch):
    torch.manual_seed(1)
    queries, keys = F.normalize(torch.randn(2 * 6, 8), dim=1), F.normalize(torch.randn(2 * 6, 8), dim=1)
    fast = patchnce_loss(queries.double(), keys.double(), batch_size=2, temperature=0.07,
                         negatives_from_batch=negatives_from_batch)  # fmt: skip
    slow = slow_patchnce(queries.double(), keys.double(), 2, 0.07, negatives_from_batch)
    assert torch.allclose(fast, slow.double(), atol=1e-9)


def test_patchnce_is_low_when_each_query_matches_its_own_key_and_keys_get_no_gradient():
    torch.manual_seed(2)
    keys = F.normalize(torch.randn(32, 16), dim=1)
    queries = keys.clone().requires_grad_()
    shuffled = keys[torch.randperm(32)].clone().requires_grad_()
    keys.requires_grad_()
    matched = patchnce_loss(queries, keys, batch_size=1).mean()
    assert matched < patchnce_loss(shuffled, keys, batch_size=1).mean()
    matched.backward()
    assert keys.grad is None and queries.grad is not None
