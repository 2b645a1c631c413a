"""Official CycleGAN generator files import 1:1 (legacy InstanceNorm keys dropped) and translate like the source."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from translate.cli import main
from translate.inference.loading import load_model
from translate.inference.official import import_cyclegan, import_stargan
from translate.networks import ResnetGenerator, UNetGenerator


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


# StarGAN (yunjey/stargan) ----------------------------------------------------------------------------------------


def _official_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)


class _OfficialStarGANBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _official_norm(channels),
                                  nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  _official_norm(channels))  # fmt: skip

    def forward(self, x):
        return x + self.main(x)


class OfficialStarGANGenerator(nn.Module):
    """Reference written from the paper's appendix and yunjey/stargan model.py's layer list: conv 7x7 on 3 + c_dim
    channels, norm, ReLU; two 4x4 stride-2 convs; residual blocks; two 4x4 stride-2 transposed convs; conv 7x7, tanh.
    No conv has a bias; every norm is InstanceNorm2d(affine=True, track_running_stats=True), used in training mode as
    the official test() does (it never calls G.eval())."""

    def __init__(self, conv_dim: int, c_dim: int, repeat_num: int):
        super().__init__()
        d = conv_dim
        layers = [nn.Conv2d(3 + c_dim, d, 7, 1, 3, bias=False), _official_norm(d), nn.ReLU()]
        for _ in range(2):
            layers += [nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), _official_norm(2 * d), nn.ReLU()]
            d *= 2
        layers += [_OfficialStarGANBlock(d) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(d, d // 2, 4, 2, 1, bias=False), _official_norm(d // 2), nn.ReLU()]
            d //= 2
        layers += [nn.Conv2d(d, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):  # label (B, c_dim) tiled over H x W and concatenated to the image
        return self.main(torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[-2:])], dim=1))


class OfficialStarGANDiscriminator(nn.Module):
    """Reference: ``repeat_num`` 4x4 stride-2 convs with bias and LeakyReLU(0.01), widths doubling; ``conv1`` 3x3
    critic head, ``conv2`` classifier with kernel image_size / 2**repeat_num; no bias on either head."""

    def __init__(self, image_size: int, conv_dim: int, c_dim: int, repeat_num: int):
        super().__init__()
        layers, d_in, d = [], 3, conv_dim
        for _ in range(repeat_num):
            layers += [nn.Conv2d(d_in, d, 4, 2, 1), nn.LeakyReLU(0.01)]
            d_in, d = d, 2 * d
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(d_in, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(d_in, c_dim, image_size // 2**repeat_num, bias=False)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def _randomized(net: nn.Module) -> nn.Module:
    """Random values in every parameter and statistic, so that a wrong mapping cannot pass by symmetry."""
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if not name.endswith("num_batches_tracked"):
                tensor.copy_(
                    torch.rand_like(tensor) * 0.4 + 0.8 if "running_var" in name else torch.randn_like(tensor) * 0.2
                )
    return net


def _official_stargan_files(folder, *, legacy: bool = False, with_d: bool = True):
    """200000-G.ckpt (and -D.ckpt) as the official solver saves them: torch.save(net.state_dict(), path)."""
    torch.manual_seed(0)
    g, d = _randomized(OfficialStarGANGenerator(8, 5, 2)), _randomized(OfficialStarGANDiscriminator(32, 4, 5, 3))
    state = g.state_dict()
    if legacy:  # PyTorch 0.4.0 files have no num_batches_tracked
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(state, folder / "200000-G.ckpt")
    if with_d:
        torch.save(d.state_dict(), folder / "200000-D.ckpt")
    return g, d


@pytest.mark.parametrize("legacy", [False, True])
def test_imported_stargan_matches_the_official_networks(legacy, tmp_path):
    official_g, official_d = _official_stargan_files(tmp_path, legacy=legacy)
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


def test_stargan_import_then_predict(tmp_path):
    official_g, _ = _official_stargan_files(tmp_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    pixels = (torch.rand(32, 32, 3) * 255).to(torch.uint8)
    Image.fromarray(pixels.numpy()).save(photos / "face.png")
    attrs = "Black_Hair=0,Blond_Hair=1,Brown_Hair=0,Male=1,Young=0"  # every attribute: independent of the classifier
    main(["import", "--stargan", str(tmp_path / "200000-G.ckpt"), "--output", str(tmp_path / "stargan.ckpt")])
    for ckpt, out in [("stargan.ckpt", "from_import"), ("200000-G.ckpt", "from_official_file")]:
        main(["predict", "--ckpt", str(tmp_path / ckpt), "--input", str(photos), "--output", str(tmp_path / out),
              "--attrs", attrs, "--num-workers", "0", "--device", "cpu"])  # fmt: skip
    x = pixels.permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        expected = official_g.train()(x, torch.tensor([[0.0, 1, 0, 1, 0]]))
    expected = ((expected[0].clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).numpy()
    for out in ("from_import", "from_official_file"):
        written = np.asarray(Image.open(tmp_path / out / "face.png"), dtype=np.float64)
        assert np.abs(written - expected).max() <= 1.0


def test_stargan_import_errors_name_the_fix(tmp_path, caplog):
    _official_stargan_files(tmp_path, with_d=False)
    with pytest.raises(SystemExit, match="translates between 5 domains|--domains names 3"):
        main(["import", "--stargan", str(tmp_path / "200000-G.ckpt"), "--domains", "a", "b", "c",
              "--output", str(tmp_path / "x.ckpt")])  # fmt: skip
    model = load_model(tmp_path / "200000-G.ckpt")  # no D: attributes taken as all off, and a warning says so
    assert "no StarGAN discriminator file" in caplog.text
    assert torch.equal(model.estimate_labels(torch.zeros(1, 3, 32, 32)), torch.zeros(1, 5))
    with pytest.raises(SystemExit, match="200000-G.ckpt is not an official StarGAN discriminator"):
        main(["import", "--stargan", str(tmp_path / "200000-G.ckpt"), "--stargan-d", str(tmp_path / "200000-G.ckpt"),
              "--output", str(tmp_path / "x.ckpt")])  # fmt: skip
    _official_file(ResnetGenerator(3, 3, num_blocks=1), tmp_path / "latest_net_G_A.pth")
    with pytest.raises(SystemExit, match="not an official StarGAN generator"):
        main(["import", "--stargan", str(tmp_path / "latest_net_G_A.pth"), "--output", str(tmp_path / "x.ckpt")])
