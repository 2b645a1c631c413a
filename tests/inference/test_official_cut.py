"""Official CUT / FastCUT weights: ``translate import --cut latest_net_G.pth`` writes a checkpoint whose outputs are
the official generator's.

The reference below is written from the official architecture (taesungp/contrastive-unpaired-translation
``models/networks.py``: ``ResnetGenerator`` with ``no_antialias`` and ``no_antialias_up`` off, its default, built of
``Downsample``, ``Upsample`` and ``ResnetBlock``), with instance norm and without dropout (CUT's defaults).
"""

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.cli import main
from translate.inference.loading import load_model
from translate.inference.official import cut_from_official
from translate.models import CUT
from translate.networks import AntialiasedPatchDiscriminator, ResnetGenerator


def _binomial(size: int) -> torch.Tensor:
    row = np.array({3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0]}[size])
    kernel = torch.Tensor(row[:, None] * row[None, :])
    return kernel / torch.sum(kernel)


class OfficialDownsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.register_buffer("filt", _binomial(3)[None, None].repeat(channels, 1, 1, 1))
        self.pad = nn.ReflectionPad2d([1, 1, 1, 1])

    def forward(self, x):
        return F.conv2d(self.pad(x), self.filt, stride=2, groups=x.shape[1])


class OfficialUpsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.register_buffer("filt", (_binomial(4) * 4)[None, None].repeat(channels, 1, 1, 1))
        self.pad = nn.ReplicationPad2d([1, 1, 1, 1])

    def forward(self, x):
        out = F.conv_transpose2d(self.pad(x), self.filt, stride=2, padding=2, groups=x.shape[1])[:, :, 1:, 1:]
        return out[:, :, :-1, :-1]  # an even filter


class OfficialBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        norm = nn.InstanceNorm2d
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm(dim), nn.ReLU(True),
                                        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm(dim))  # fmt: skip

    def forward(self, x):
        return x + self.conv_block(x)


class OfficialCUTGenerator(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, ngf=64, n_blocks=9):
        super().__init__()
        norm = nn.InstanceNorm2d
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), norm(ngf), nn.ReLU(True)]
        for mult in (1, 2):
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=1, padding=1), norm(ngf * mult * 2),
                      nn.ReLU(True), OfficialDownsample(ngf * mult * 2)]  # fmt: skip
        model += [OfficialBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            model += [OfficialUpsample(ngf * mult), nn.Conv2d(ngf * mult, ngf * mult // 2, 3, stride=1, padding=1),
                      norm(ngf * mult // 2), nn.ReLU(True)]  # fmt: skip
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


def randomized(net: nn.Module, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if not name.endswith("filt"):
                tensor.copy_(torch.randn_like(tensor) * 0.05)
    return net.eval()


def test_official_generator_keys_shapes_and_count_match():
    official = OfficialCUTGenerator()
    ours = CUT(partial(ResnetGenerator, antialias=True), AntialiasedPatchDiscriminator).gen
    assert {k: v.shape for k, v in official.state_dict().items()} == {k: v.shape for k, v in ours.state_dict().items()}
    assert sum(p.numel() for p in official.parameters()) == 11_378_179
    assert all(torch.equal(official.state_dict()[k], v) for k, v in ours.state_dict().items() if k.endswith("filt"))


@pytest.mark.parametrize(("ngf", "n_blocks", "channels"), [(64, 9, 3), (8, 6, 1)])
def test_imported_cut_generator_translates_like_the_official_one(ngf, n_blocks, channels, tmp_path, capsys):
    official = randomized(OfficialCUTGenerator(channels, channels, ngf, n_blocks))
    torch.save(official.state_dict(), tmp_path / "latest_net_G.pth")
    main(["import", "--cut", str(tmp_path / "latest_net_G.pth"), "--output", str(tmp_path / "cut.ckpt")])
    assert "wrote" in capsys.readouterr().out
    model = load_model(tmp_path / "cut.ckpt")
    assert isinstance(model, CUT) and model.targets == ("a2b",) and model.channels == channels
    x = torch.rand(2, channels, 36, 28) * 2 - 1
    with torch.no_grad():
        expected, actual = official(x), model.translator("a2b")(x)
    assert (expected - actual).abs().max() < 1e-5


def test_fastcut_weights_import_the_same_network(tmp_path):
    official = randomized(OfficialCUTGenerator(3, 3, 8, 2), seed=1)
    torch.save({f"module.{k}": v for k, v in official.state_dict().items()}, tmp_path / "g.pth")  # from DataParallel
    model, hparams = cut_from_official(tmp_path / "g.pth", mode="fastcut")
    assert hparams["mode"] == "fastcut" and model.objective["lambda_nce"] == 10.0
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert (official(x) - model(x)).abs().max() < 1e-5


def test_a_cyclegan_file_is_a_one_line_error(tmp_path):
    torch.save(ResnetGenerator(3, 3, base_channels=4, num_blocks=1).state_dict(), tmp_path / "cyclegan.pth")
    with pytest.raises(SystemExit, match="strided convs .*--g-ab"):
        main(["import", "--cut", str(tmp_path / "cyclegan.pth"), "--output", str(tmp_path / "x.ckpt")])
    torch.save({"other.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(SystemExit, match="not an official CUT generator"):
        main(["import", "--cut", str(tmp_path / "other.pth"), "--output", str(tmp_path / "x.ckpt")])
