"""InfoGAN (Chen et al. 2016, arXiv:1606.03657): latent codes the generator must keep recoverable, so that they come to
control interpretable factors (a digit's class, its slant), learnt without labels."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from translate.models.noise import DCGAN_ADAM, NoiseGAN, NoiseGeneratorFactory
from translate.networks import DiscriminatorFactory

SWEEP = torch.linspace(-2, 2, 8)  # continuous codes are drawn from U(-1, 1); the paper's figures go to +-2


class InfoGAN(NoiseGAN):
    """G(z ++ c), c categorical codes (one-hot) and continuous codes ~ U(-1, 1); a Q head on D's trunk estimates c
    from G's samples, and both G and D + Q minimise lambda L_I, L_I the variational lower bound on the mutual
    information I(c; G(z, c)) up to the codes' constant entropy (Eq. 4-5): the cross-entropy of the categorical codes
    plus 1/2 (c - Q_mu)^2 of the continuous ones (a factored Gaussian of fixed unit deviation, as the authors' code).

    Args:
        categorical: The number of categories of each categorical code (MNIST in the paper: one of 10).
        continuous: The number of continuous codes (the paper: 2).
        lambda_info: lambda of L_I (Eq. 5; 1 in the paper).
        q_features: Width of Q's hidden layer (the paper: a 128-unit layer with batch norm and leaky ReLU).
    """

    def __init__(
        self,
        generator: NoiseGeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = DCGAN_ADAM,
        *,
        categorical: Sequence[int] = (10,),
        continuous: int = 2,
        lambda_info: float = 1.0,
        q_features: int = 128,
        latent_dim: int = 62,
        channels: int = 3,
        **options,
    ):
        if any(k < 2 for k in categorical) or continuous < 0 or not (list(categorical) or continuous):
            raise ValueError(f"InfoGAN needs codes: categorical counts >= 2 and continuous >= 0, not both empty; got "
                             f"categorical={list(categorical)}, continuous={continuous}")  # fmt: skip
        self.categorical, self.continuous = [int(k) for k in categorical], continuous  # read by generator_features
        super().__init__(generator, discriminator, optimizer, latent_dim=latent_dim, channels=channels, **options)
        self.q_head = nn.Sequential(  # on D's (B, num_features, 4, 4) features, as the paper's FC layer on D's trunk
            nn.Conv2d(self.disc.num_features, q_features, 4, bias=False),
            nn.BatchNorm2d(q_features),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(q_features, sum(self.categorical) + continuous, 1),
        )

    def generator_features(self, latent_dim: int) -> int:
        return latent_dim + sum(self.categorical) + self.continuous

    def codes(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, sum(categorical) + continuous): uniform one-hot categories, then U(-1, 1) values, drawn on the CPU in
        fp32 (the same draws in every precision)."""
        parts = [F.one_hot(torch.randint(k, (n,), generator=generator), k).float() for k in self.categorical]
        parts.append(torch.rand(n, self.continuous, generator=generator, dtype=torch.float32) * 2 - 1)
        return torch.cat(parts, dim=1).to(self.device)

    def noise(self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        z = super().noise(n, None, generator)  # in the weights' dtype: bf16 or fp64 under bf16-true or 64-true
        return torch.cat([z, self.codes(n, generator).to(z)], dim=1)

    def information_loss(self, inputs: Tensor, h_fake: Tensor, net: str) -> Tensor:
        """lambda L_I of the codes in ``inputs`` estimated from D's features of the samples they made."""
        estimate = self.q_head(h_fake).flatten(1).float()  # (B, sum(categorical) + continuous)
        codes, start, terms = inputs[:, self.latent_dim :].float(), 0, {}
        for i, k in enumerate(self.categorical):
            terms[f"cat{i}"] = F.cross_entropy(estimate[:, start : start + k], codes[:, start : start + k].argmax(1))
            start += k
        if self.continuous:
            terms["cont"] = 0.5 * (codes[:, start:] - estimate[:, start:]).square().sum(1).mean()
        info = sum(terms.values())
        self.log_dict({f"train/{net}/info_{name}": value for name, value in terms.items()})
        return self.hparams.lambda_info * info

    def disc_parameters(self) -> list[nn.Parameter]:
        return [*self.disc.parameters(), *self.q_head.parameters()]

    @torch.no_grad()
    def sweeps(self, rows: int, *, seed: int = 0) -> dict[str, dict[str, Tensor]]:
        """For each code, a grid whose columns set it to each category (or to -2 ... 2), each row keeping its own z
        and other codes: what the code controls, and nothing else."""
        base = self.noise(rows, None, torch.Generator().manual_seed(seed))  # (rows, features)
        grids, start = {}, self.latent_dim
        for i, k in enumerate(self.categorical):
            grids[f"cat{i}"] = {f"cat{i}={j}": self._with(base, start, F.one_hot(torch.tensor(j), k)) for j in range(k)}
            start += k
        for i in range(self.continuous):
            grids[f"cont{i}"] = {f"cont{i}={v:+.1f}": self._with(base, start + i, v.reshape(1)) for v in SWEEP}
        return grids

    def _with(self, inputs: Tensor, start: int, value: Tensor) -> Tensor:
        changed = inputs.clone()
        changed[:, start : start + len(value)] = value.to(changed)
        return self.sampler(changed)

    def grid_columns(self, rows: int, *, seed: int = 0) -> dict[str, Tensor]:
        """The first code's sweep (``sweeps``): one column per category, one z per row."""
        return next(iter(self.sweeps(rows, seed=seed).values()))
