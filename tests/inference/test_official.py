"""Official CycleGAN generator files import 1:1 (legacy InstanceNorm keys dropped) and translate like the source;
official StarGAN files give the official networks' outputs.
"""

import pytest
import torch

from translate.inference.loading import load_model
from translate.inference.official import import_cyclegan, import_stargan
from translate.networks import ResnetGenerator, UNetGenerator


@pytest.mark.parametrize("net_g, build", [("resnet_6blocks", lambda: ResnetGenerator(3, 3, num_blocks=6)),
                                          ("unet_128", lambda: UNetGenerator(3, 3, num_downs=7))])  # fmt: skip
def test_imported_generator_translates_like_the_source(official_cyclegan_file, net_g, build, tmp_path):
    torch.manual_seed(0)
    source_ab, source_ba = build().eval(), build().eval()
    official_cyclegan_file(source_ab, tmp_path / "latest_net_G_A.pth", legacy=net_g.startswith("resnet"))
    official_cyclegan_file(source_ba, tmp_path / "latest_net_G_B.pth")
    ckpt = import_cyclegan(tmp_path / "latest_net_G_A.pth", tmp_path / "imported.ckpt",
                           g_ba=tmp_path / "latest_net_G_B.pth", netG=net_g)  # fmt: skip
    model = load_model(ckpt)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x, direction="a2b"), source_ab(x))
        assert torch.equal(model(x, direction="b2a"), source_ba(x))


@pytest.mark.parametrize("legacy", [False, True])
def test_imported_stargan_matches_the_official_networks(official_stargan_files, legacy, tmp_path):
    official_g, official_d = official_stargan_files(tmp_path, legacy=legacy)
    ckpt = import_stargan(tmp_path / "200000-G.ckpt", tmp_path / "imported.ckpt")  # finds 200000-D.ckpt itself
    model = load_model(ckpt)
    assert model.domains == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    assert model.groups == [[0, 1, 2]] and model.hparams.label_mode == "multi" and model.hparams.image_size == 32
    x = torch.rand(2, 3, 32, 48) * 2 - 1
    labels = torch.tensor([[0.0, 1, 0, 1, 0], [1, 0, 0, 0, 1]])
    with torch.no_grad():
        expected = official_g.train()(x, labels)  # training-mode norms: per-image statistics, as official test()
        assert (model(x, labels) - expected).abs().max() < 1e-5
        critic, classes = official_d(x[..., :32])
        assert (model.disc(x[..., :32]) - critic).abs().max() < 1e-5
        assert (model.classify(x[..., :32]) - classes).abs().max() < 1e-5
