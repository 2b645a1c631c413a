"""Official CycleGAN generator files import through ``translate import`` and translate as the official networks do;
official StarGAN files give the official networks' outputs.

The CycleGAN check is not circular: the "official file" is written by tests/inference/official_reference.py, a
functional forward written from the official networks.py over a state dict with the official keys, and our network
after import must give its outputs; a reference with one padding or one layer order changed must not.
"""

import pytest
import torch

from tests.inference.official_reference import RESNET_VARIANTS, UNET_VARIANTS, official_state, reference
from translate.cli import main
from translate.inference.loading import load_model
from translate.inference.official import import_stargan

# (--netG, --ngf, input side): tiny widths keep it fast; a U-Net needs 2**num_downs pixels (1x1 bottleneck)
CASES = [("resnet_6blocks", 4, 32), ("resnet_9blocks", 8, 20), ("unet_128", 4, 128), ("unet_256", 8, 256)]


def _import(tmp_path, net_g: str, ngf: int, *, norm: str = "instance", legacy: bool = False):
    """Official-layout files for both directions, imported with the CLI; the model and the two reference states."""
    states = [official_state(net_g, ngf=ngf, norm=norm, legacy=legacy, seed=seed) for seed in (0, 1)]
    for state, name in zip(states, ("latest_net_G_A.pth", "latest_net_G_B.pth"), strict=True):
        torch.save(dict(state), tmp_path / name)
    main(["import", "--g-ab", str(tmp_path / "latest_net_G_A.pth"), "--g-ba", str(tmp_path / "latest_net_G_B.pth"),
          "--netG", net_g, "--norm", norm, "--output", str(tmp_path / "imported.ckpt")])  # fmt: skip
    return load_model(tmp_path / "imported.ckpt"), states


@pytest.mark.parametrize("net_g, ngf, side", CASES)
def test_imported_generator_matches_the_official_architecture(net_g, ngf, side, tmp_path):
    model, (state_ab, state_ba) = _import(tmp_path, net_g, ngf, legacy=net_g == "resnet_6blocks")
    x = torch.rand(2, 3, side, side) * 2 - 1
    with torch.no_grad():
        ours_ab, ours_ba = model(x, direction="a2b"), model(x, direction="b2a")
    expected_ab, expected_ba = reference(net_g, state_ab, x, ngf=ngf), reference(net_g, state_ba, x, ngf=ngf)
    assert ours_ab.std() > 0.05, "the reference weights should give a non-trivial output"
    assert (ours_ab - expected_ab).abs().max() < 1e-5
    assert (ours_ba - expected_ba).abs().max() < 1e-5


def test_batch_norm_unet_matches_the_official_architecture(tmp_path):
    """--norm batch: convs without bias, affine norms with running statistics (eval mode)."""
    model, (state_ab, _) = _import(tmp_path, "unet_128", 4, norm="batch")
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert (model(x, direction="a2b") - reference("unet_128", state_ab, x, ngf=4)).abs().max() < 1e-5


@pytest.mark.parametrize(
    "net_g, ngf, side, variant",
    [("resnet_6blocks", 4, 32, v) for v in RESNET_VARIANTS[1:]] + [("unet_128", 4, 128, v) for v in UNET_VARIANTS[1:]],
)
def test_the_check_notices_one_changed_layer(net_g, ngf, side, variant, tmp_path):
    """The comparison above is strict enough: one zero padding, one swapped pair of layers or the U-Net's skip
    concatenated after instead of before the inner levels' output makes the reference differ from our network."""
    model, (state_ab, _) = _import(tmp_path, net_g, ngf)
    x = torch.rand(2, 3, side, side) * 2 - 1
    with torch.no_grad():
        ours = model(x, direction="a2b")
    assert (ours - reference(net_g, state_ab, x, ngf=ngf)).abs().max() < 1e-5
    assert (ours - reference(net_g, state_ab, x, ngf=ngf, variant=variant)).abs().max() > 1e-3


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
