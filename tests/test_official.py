"""Official CycleGAN generator files import 1:1 (legacy InstanceNorm keys dropped) and translate like the source."""

import pytest
import torch
from torch import nn

from translate.cli import main
from translate.networks import ResnetGenerator, UNetGenerator
from translate.official import import_cyclegan
from translate.predict import load_model


def _official_file(net: nn.Module, path, legacy: bool = False):
    """An official-style state dict: our keys are the official ones; 2018 files also had InstanceNorm statistics."""
    state = dict(net.state_dict())
    if legacy:
        state["model.2.running_mean"] = torch.zeros(net.model[1].out_channels)
        state["model.2.running_var"] = torch.ones(net.model[1].out_channels)
    torch.save(state, path)


@pytest.mark.parametrize("net_g, build", [("resnet_6blocks", lambda: ResnetGenerator(3, 3, num_blocks=6)),
                                          ("unet_128", lambda: UNetGenerator(3, 3, num_downs=7))])  # fmt: skip
def test_imported_generator_translates_like_the_source(net_g, build, tmp_path):
    torch.manual_seed(0)
    source_ab, source_ba = build().eval(), build().eval()
    _official_file(source_ab, tmp_path / "latest_net_G_A.pth", legacy=net_g.startswith("resnet"))
    _official_file(source_ba, tmp_path / "latest_net_G_B.pth")
    ckpt = import_cyclegan(tmp_path / "latest_net_G_A.pth", tmp_path / "imported.ckpt",
                           g_ba=tmp_path / "latest_net_G_B.pth", netG=net_g)  # fmt: skip
    model = load_model(ckpt)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x, direction="a2b"), source_ab(x))
        assert torch.equal(model(x, direction="b2a"), source_ba(x))


def test_wrong_architecture_is_named(tmp_path, capsys):
    _official_file(ResnetGenerator(3, 3, num_blocks=6), tmp_path / "g.pth")
    with pytest.raises(SystemExit, match="does not match this generator.*--netG"):
        main(["import", "--g-ab", str(tmp_path / "g.pth"), "--netG", "resnet_9blocks", "--output", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="not found"):
        main(["import", "--g-ab", str(tmp_path / "nope.pth"), "--output", str(tmp_path / "x.ckpt")])
