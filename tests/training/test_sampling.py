"""translate/training/sampling.py: what `translate sample` calls (the command's tests: tests/commands/test_sample.py).
A noise model without the ReconstructsImages contract is refused in one line; grids are written as named."""

from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import Tensor

from translate.models.contract import GeneratesFromNoise
from translate.training.sampling import write_grids, write_reconstructions, write_samples


class Constant(GeneratesFromNoise):
    """Grey 8x8 RGB images: a noise model with no encoder."""

    channels, image_size, latent_dim = 3, 8, 2

    def generate(self, n: int, *, seed: int | None = None, class_name: str | None = None) -> Tensor:
        return torch.zeros(n, 3, 8, 8)

    def grid_columns(self, rows: int, *, seed: int = 0) -> dict[str, Tensor]:
        return {"a": torch.zeros(rows, 3, 8, 8), "b": torch.ones(rows, 3, 8, 8)}


def test_reconstructions_need_the_contract(tmp_path: Path):
    with pytest.raises(ValueError, match="a Constant has no encoder .*ReconstructsImages.*need a VAE-GAN$"):
        write_reconstructions(Constant(), tmp_path, tmp_path, "cpu")


def test_samples_and_grids_are_written(tmp_path: Path):
    write_samples(Constant(), tmp_path, 3, seed=0, class_name=None)
    assert write_grids(Constant(), tmp_path, seed=0, rows=2) == ["grid.png"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["grid.png", *(f"sample_{i:05d}.png" for i in range(3))]
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == (2 + 2 * 10, 2 + 2 * 10)  # 2 rows of 2 columns of 8 px, 2 px apart
