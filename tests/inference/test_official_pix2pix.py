"""Official pix2pix networks: Pix2Pix's U-Net and conditional PatchGAN have the official keys and shapes, and an
official generator file imports to a checkpoint that translates (eval mode) like the official network.

The reference below is written from the official architecture (pytorch-CycleGAN-and-pix2pix ``networks.py``:
``UnetGenerator`` / ``UnetSkipConnectionBlock`` with batch norm and dropout, ``NLayerDiscriminator``).
"""

from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from translate.cli import main
from translate.inference.loading import load_model
from translate.models import Pix2Pix
from translate.networks import PatchDiscriminator, UNetGenerator


class OfficialUNetBlock(nn.Module):
    """One level: [LeakyReLU, down conv, BN] + inner levels + [ReLU, up conv, BN, Dropout], skip concatenated."""

    def __init__(self, outer, inner, *, in_channels=None, inner_block=None, outermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        down = nn.Conv2d(in_channels or outer, inner, 4, 2, 1, bias=False)  # batch norm follows: no bias
        if outermost:
            layers = [down, inner_block, nn.ReLU(True), nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1), nn.Tanh()]
        elif inner_block is None:  # innermost
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
        else:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), inner_block, nn.ReLU(True), up]
            layers += [nn.BatchNorm2d(outer), *([nn.Dropout(0.5)] if dropout else [])]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        # the in-place LeakyReLU turns x into LeakyReLU(x) before it is concatenated, as in the official block
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class OfficialUNet(nn.Module):
    def __init__(self, channels: int, num_downs: int, ngf: int):
        super().__init__()
        block = OfficialUNetBlock(ngf * 8, ngf * 8)
        for _ in range(num_downs - 5):
            block = OfficialUNetBlock(ngf * 8, ngf * 8, inner_block=block, dropout=True)
        for outer, inner in [(ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)]:
            block = OfficialUNetBlock(outer, inner, inner_block=block)
        self.model = OfficialUNetBlock(channels, ngf, in_channels=channels, inner_block=block, outermost=True)

    def forward(self, x):
        return self.model(x)


def official_patch_discriminator(in_channels: int, ndf: int = 64, n_layers: int = 3) -> nn.Module:
    layers, width = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)], ndf
    for n in range(1, n_layers + 1):
        stride, out = (2 if n < n_layers else 1), ndf * min(2**n, 8)
        layers += [nn.Conv2d(width, out, 4, stride, 1, bias=False), nn.BatchNorm2d(out), nn.LeakyReLU(0.2, True)]
        width = out
    net = nn.Module()
    net.model = nn.Sequential(*layers, nn.Conv2d(width, 1, 4, 1, 1))
    return net


def shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def randomized(net: nn.Module) -> nn.Module:
    """Random weights and batch-norm statistics, so that every tensor of the file matters."""
    torch.manual_seed(0)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.num_batches_tracked.fill_(1000)
            elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                module.weight.normal_(0, 0.05)
    return net.eval()


def test_official_settings_have_the_official_keys_and_shapes():
    model = Pix2Pix(partial(UNetGenerator, base_channels=64, num_downs=8, norm="batch", dropout=0.5),
                    partial(PatchDiscriminator, norm="batch"))  # fmt: skip
    assert shapes(model.gen) == shapes(OfficialUNet(3, 8, 64))  # unet_256: keys, order and shapes
    assert shapes(model.disc) == shapes(official_patch_discriminator(6))  # basic D on (input, output) pairs
    assert model.disc.model[0].weight.shape == (64, 6, 4, 4)
    assert sum(p.numel() for p in model.gen.parameters()) == 54_413_955
    assert sum(p.numel() for p in model.disc.parameters()) == 2_768_705
    dropouts = [m for m in model.gen.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 3 and all(m.p == 0.5 for m in dropouts)  # the three extra 8x-wide levels, as official


@pytest.fixture
def official_file(tmp_path):
    """An official unet_128 generator file (narrow: --ngf 8) with random weights and statistics."""
    reference = randomized(OfficialUNet(3, 7, 8))
    path = tmp_path / "latest_net_G.pth"
    torch.save(reference.state_dict(), path)
    return reference, path


def test_imported_generator_translates_like_the_official_one_in_eval_mode(official_file, tmp_path):
    reference, path = official_file
    main(["import", "--pix2pix", str(path), "--netG", "unet_128", "--output", str(tmp_path / "pix2pix.ckpt")])
    model = load_model(tmp_path / "pix2pix.ckpt")
    assert isinstance(model, Pix2Pix) and not model.training
    assert model.gen.model.model[0].out_channels == 8 and model.size_multiple == 128
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert (model(x) - reference(x)).abs().max() < 1e-5

    # translate predict writes the same pixels (at 130 px: predict refuses sides <= size_multiple and pads to 256)
    inputs = tmp_path / "in"
    inputs.mkdir()
    pixels = (torch.rand(130, 130, 3) * 255).to(torch.uint8)
    Image.fromarray(pixels.numpy()).save(inputs / "label.png")
    main(["predict", "--ckpt", str(tmp_path / "pix2pix.ckpt"), "--input", str(inputs), "--output",
          str(tmp_path / "out"), "--num-workers", "0", "--device", "cpu"])  # fmt: skip
    with torch.no_grad():
        padded = nn.functional.pad(pixels.permute(2, 0, 1)[None].float() / 127.5 - 1, (0, 126, 0, 126), mode="reflect")
        expected = reference(padded)[..., :130, :130]
    expected = ((expected[0].clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).numpy()
    written = np.asarray(Image.open(tmp_path / "out" / "label.png"), dtype=np.float64)
    assert np.abs(written - expected).max() <= 1.0


def test_wrong_netg_is_named(official_file, tmp_path):
    _, path = official_file
    with pytest.raises(SystemExit, match="does not match this generator.*--netG"):
        main(["import", "--pix2pix", str(path), "--output", str(tmp_path / "x.ckpt")])  # default unet_256
    torch.save({"main.0.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(SystemExit, match="not an official U-Net generator"):
        main(["import", "--pix2pix", str(tmp_path / "other.pth"), "--output", str(tmp_path / "x.ckpt")])
