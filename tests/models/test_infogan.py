"""InfoGAN: the codes reach G, L_I is the cross-entropy of the categorical codes plus half the squared error of the
continuous ones, Q trains with D, and each sweep varies one code only."""

from functools import partial

import pytest
import torch
from torch import nn

from tests.commands.test_sample import REPO, fit_noise
from translate.cli import main
from translate.data.image_folder import ImageFolderDataModule
from translate.models import InfoGAN
from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator

TINY = {"generator": partial(DCGANGenerator, base_channels=4, image_size=32),
        "discriminator": partial(DCGANDiscriminator, base_channels=4, image_size=32), "latent_dim": 8}  # fmt: skip


def test_codes_reach_the_generator_and_are_drawn_as_the_paper():
    model = InfoGAN(**TINY, categorical=[3, 2], continuous=2)
    assert model.gen.main[0].in_channels == 8 + 3 + 2 + 2
    codes = model.codes(500, torch.Generator().manual_seed(0))
    assert torch.equal(codes[:, :3].sum(1), torch.ones(500)) and torch.equal(codes[:, 3:5].sum(1), torch.ones(500))
    assert codes[:, 5:].min() >= -1 and codes[:, 5:].max() <= 1 and codes[:, 5:].std() > 0.5


class FixedEstimate(nn.Module):
    def __init__(self, estimate: torch.Tensor):
        super().__init__()
        self.estimate = estimate

    def forward(self, h):
        return self.estimate[:, :, None, None]


def test_information_loss_hand_computed():
    model = InfoGAN(**TINY, categorical=[2], continuous=1, lambda_info=2.0)
    inputs = torch.cat([torch.zeros(2, 8), torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, -1.0]])], dim=1)
    model.q_head = FixedEstimate(torch.tensor([[0.0, 0.0, 0.5], [2.0, 0.0, 0.0]]))
    # CE: log 2 for the first (equal logits), log(1 + e^2) for the second (wrong category by 2); cont: (0 + 1) / 2
    expected = 2.0 * ((torch.log(torch.tensor(2.0)) + torch.log1p(torch.exp(torch.tensor(2.0)))) / 2 + 0.5 * 1 / 2)
    assert model.information_loss(inputs, torch.zeros(2, 4, 4, 4), "g").item() == pytest.approx(expected.item())


def test_q_trains_with_d_and_the_information_is_logged(tmp_path, write_images, fit):
    write_images(tmp_path / "images", 4, size=(32, 32))
    model = InfoGAN(**TINY, categorical=[2], continuous=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = ImageFolderDataModule(tmp_path / "images", load_size=32, crop_size=32, batch_size=2, num_workers=0)
    trainer = fit(model, data, tmp_path)
    assert {"train/d/info_cat0", "train/g/info_cat0", "train/g/info_cont"} <= set(trainer.callback_metrics)
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith("q_head."))


def test_a_sweep_varies_one_code_only():
    model = InfoGAN(**TINY, categorical=[3], continuous=1).eval()
    sweeps = model.sweeps(2, seed=1)
    assert list(sweeps) == ["cat0", "cont0"] and list(sweeps["cat0"]) == ["cat0=0", "cat0=1", "cat0=2"]
    assert len(sweeps["cont0"]) == 8 and model.grid_columns(2, seed=1).keys() == sweeps["cat0"].keys()
    base = model.noise(2, None, torch.Generator().manual_seed(1))
    changed = base.clone()
    changed[:, 8:11] = torch.tensor([0.0, 1.0, 0.0])
    assert torch.equal(sweeps["cat0"]["cat0=1"], model.gen(changed))
    assert not torch.equal(sweeps["cat0"]["cat0=0"], sweeps["cat0"]["cat0=1"])


def test_sample_writes_a_grid_per_code(tmp_path, write_images, capsys):
    write_images(tmp_path / "images", 4, size=(32, 32))
    config = ["--config", str(REPO / "configs" / "infogan_quickstart.yaml"), "--config", str(REPO / "configs" /
              "debug_noise.yaml")]  # fmt: skip
    ckpt = fit_noise(config, tmp_path / "images", tmp_path / "run")
    main(["sample", "--ckpt", str(ckpt), "--num", "2", "--output", str(tmp_path / "out"), "--grid"])
    assert "grid_cat0.png, grid_cont0.png, grid_cont1.png" in capsys.readouterr().out
    assert (tmp_path / "out" / "grid_cont1.png").is_file()
