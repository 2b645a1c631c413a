"""Loss terms shared by the translation models: pure functions of tensors, no modules, no state.

Reductions run in fp32 so that fp16 autocast cannot overflow a sum of squares.
"""

from collections.abc import Callable
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

GanMode = Literal["lsgan", "vanilla", "hinge", "wgangp"]


def _check_mode(mode: str) -> None:
    if mode not in get_args(GanMode):
        raise ValueError(f"unknown GAN mode {mode!r}, expected one of {get_args(GanMode)}")


def discriminator_loss(real: Tensor, fake: Tensor, mode: GanMode = "lsgan") -> Tensor:
    """Adversarial loss for D given its logits on real and (detached) fake images.

    lsgan (Mao et al. 2017) and vanilla (Goodfellow et al. 2014) are halved as in the official CycleGAN, which slows
    D relative to G; hinge (Lim & Ye 2017) and wgangp (Gulrajani et al. 2017) use their papers' sums. For wgangp add
    ``lambda_gp * gradient_penalty(...)`` on top: it needs the critic itself, not only its outputs.
    """
    _check_mode(mode)
    real, fake = real.float(), fake.float()
    if mode == "lsgan":
        return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))
    if mode == "vanilla":  # softplus(-x) = -log(sigmoid(x)): BCE with logits, stable for large |x|
        return 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())
    if mode == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return fake.mean() - real.mean()  # wgangp: the critic's Wasserstein estimate, negated


def generator_loss(fake: Tensor, mode: GanMode = "lsgan") -> Tensor:
    """Adversarial loss for G given D's logits on G's output (non-saturating for vanilla)."""
    _check_mode(mode)
    fake = fake.float()
    if mode == "lsgan":
        return F.mse_loss(fake, torch.ones_like(fake))
    if mode == "vanilla":
        return F.softplus(-fake).mean()
    return -fake.mean()  # hinge and wgangp: G raises the critic's score


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, Eq. 3): E[(||grad_x D(x)||_2 - 1)^2] on random interpolates.

    ``critic`` maps images to scores of any shape; patch scores are summed per image, so the penalty constrains the
    whole critic's slope. Uses ``create_graph=True`` so the penalty itself is differentiable w.r.t. D's weights.
    """
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.float().sum(), mixed, create_graph=True)
    return (grad.float().flatten(1).norm(2, dim=1) - 1).square().mean()


def l1(x: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error in fp32 (cycle, identity and reconstruction terms)."""
    return (x.float() - target.float()).abs().mean()
