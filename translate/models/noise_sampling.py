"""How the noise models (translate.models.noise) meet the GeneratesFromNoise contract: samples of a seed, grids."""

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from translate.models.contract import GeneratesFromNoise, ShowsSamples

GRID_COLUMNS = 8  # fresh samples per grid row of an unconditional model


class NoiseSampling(GeneratesFromNoise, ShowsSamples):
    """Samples from ``gen`` (its moving average ``ema_gen`` when kept) of the inputs ``noise(n, labels, generator)``
    makes; mixed into NoiseGAN, which provides those and ``hparams``, ``device``."""

    @property
    def channels(self) -> int:
        return self.hparams.channels

    @property
    def image_size(self) -> int:
        return self.gen.image_size

    @property
    def latent_dim(self) -> int:
        return self.hparams.latent_dim

    @property
    def sampler(self) -> nn.Module:
        """The generator samples come from: its moving average when kept."""
        return self.ema_gen if self.ema_gen is not None else self.gen

    def class_labels(self, n: int, class_name: str | None) -> Tensor | None:
        """Labels (n,) of ``class_name``, or the classes in turn; None for an unconditional model."""
        if not self.classes:
            if class_name is not None:
                raise ValueError(f"{type(self).__name__} is unconditional: it takes no class (got {class_name!r})")
            return None
        if class_name is not None and class_name not in self.classes:
            raise ValueError(f"unknown class {class_name!r}, expected one of {list(self.classes)}")
        if class_name is None:
            return torch.arange(n, device=self.device) % len(self.classes)
        return torch.full((n,), self.classes.index(class_name), device=self.device)

    @torch.no_grad()
    def generate(self, n: int, *, seed: int | None = None, class_name: str | None = None) -> Tensor:
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        labels = self.class_labels(n, class_name)
        return self.sampler(self.noise(n, labels, generator))

    @torch.no_grad()
    def grid_columns(self, rows: int, *, seed: int = 0) -> dict[str, Tensor]:
        """``GRID_COLUMNS`` columns of fresh samples (a conditional model: one column per class, one z per row)."""
        generator = torch.Generator().manual_seed(seed)
        if not self.classes:
            samples = self.sampler(self.noise(rows * GRID_COLUMNS, None, generator)).unflatten(0, (GRID_COLUMNS, rows))
            return {f"sample_{i}": column for i, column in enumerate(samples)}
        columns = {}
        for label, name in enumerate(self.classes):  # the same z in every column: only the class changes
            labels = torch.full((rows,), label, device=self.device)
            columns[name] = self.sampler(self.noise(rows, labels, torch.Generator().manual_seed(seed)))
        return columns

    @torch.no_grad()
    def sample_columns(self, batch: Sequence[Tensor]) -> dict[str, Tensor]:
        """A training image per row, then the grid columns of noise fixed by seed 0."""
        return {"real": batch[0], **self.grid_columns(len(batch[0]))}
