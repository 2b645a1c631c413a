"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training", arXiv:2006.10738):
random, differentiable changes to every image a discriminator sees, real and fake alike, in D's step and in G's
adversarial term, so that D cannot memorise a small training set while G still learns through the changes.

A policy is a comma-separated string of words, each a group of transforms applied in order to every image of a batch
(each image draws its own amounts), with the official strengths (mit-han-lab/data-efficient-gans):

- ``color``: brightness + U[-0.5, 0.5), then saturation (the distance to the pixel's channel mean) x U[0, 2), then
  contrast (the distance to the image's mean) x U[0.5, 1.5);
- ``translation``: a shift by a whole number of pixels up to 1/8 of the height and of the width either way, the
  uncovered border zero;
- ``cutout``: a square of half the height and half the width set to zero, centred anywhere in the image (it may be
  cut by the border).

The amounts are drawn in fp32 on the CPU, from ``generator`` or torch's global generator (which
``translate.training.callbacks.StepSeed`` seeds at every step: a resumed run draws the same), then moved to the images'
device and dtype, so a CPU and a GPU run of one seed draw the same amounts and 64-true and bf16 draw as fp32 does.
"""

from collections.abc import Callable

import torch
from torch import Tensor, nn

TRANSLATION_RATIO = 1 / 8  # the largest shift, as a fraction of the side (official)
CUTOUT_RATIO = 1 / 2  # the side of the cut square, as a fraction of the image's side (official)


def _uniform(count: int, low: float, high: float, generator: torch.Generator | None) -> Tensor:
    device = generator.device if generator is not None else "cpu"
    return torch.rand(count, dtype=torch.float32, device=device, generator=generator) * (high - low) + low


def _integers(count: int, low: int, high: int, generator: torch.Generator | None) -> Tensor:
    """``count`` integers in [low, high] (both included)."""
    device = generator.device if generator is not None else "cpu"
    return torch.randint(low, high + 1, (count,), device=device, generator=generator)


def _per_image(values: Tensor, like: Tensor) -> Tensor:
    """(B,) amounts as (B, 1, 1, 1) in ``like``'s device and dtype."""
    return values.to(like.device, like.dtype).view(-1, 1, 1, 1)


def color(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Brightness, saturation, then contrast, each by a random amount per image."""
    count = len(x)
    brightness = _uniform(count, -0.5, 0.5, generator)
    saturation = _uniform(count, 0.0, 2.0, generator)
    contrast = _uniform(count, 0.5, 1.5, generator)
    x = x + _per_image(brightness, x)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _per_image(saturation, x) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_image(contrast, x) + mean


def translation(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Each image moved by up to 1/8 of its height and width (whole pixels), zeros where nothing moved in."""
    count, channels, height, width = x.shape
    reach_y, reach_x = int(height * TRANSLATION_RATIO), int(width * TRANSLATION_RATIO)
    shift_y = _integers(count, -reach_y, reach_y, generator).to(x.device)
    shift_x = _integers(count, -reach_x, reach_x, generator).to(x.device)
    padded = nn.functional.pad(x, (reach_x, reach_x, reach_y, reach_y))
    # output row i is input row i - shift_y, that is padded row i - shift_y + reach_y (always inside the padding)
    rows = torch.arange(height, device=x.device) + reach_y - shift_y[:, None]  # (B, H)
    columns = torch.arange(width, device=x.device) + reach_x - shift_x[:, None]  # (B, W)
    padded = padded.gather(2, rows[:, None, :, None].expand(count, channels, height, padded.shape[3]))
    return padded.gather(3, columns[:, None, None, :].expand(count, channels, height, width))


def cutout(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A square of half the image's height and width set to zero in each image, anywhere (the border may cut it)."""
    count, _, height, width = x.shape
    size_y, size_x = int(height * CUTOUT_RATIO), int(width * CUTOUT_RATIO)
    # centres as the official code draws them: 0 to the side (less one when the square's side is odd)
    top = (_integers(count, 0, height - size_y % 2, generator) - size_y // 2).to(x.device)
    left = (_integers(count, 0, width - size_x % 2, generator) - size_x // 2).to(x.device)
    rows, columns = torch.arange(height, device=x.device), torch.arange(width, device=x.device)
    inside_y = (rows >= top[:, None]) & (rows < top[:, None] + size_y)  # (B, H)
    inside_x = (columns >= left[:, None]) & (columns < left[:, None] + size_x)  # (B, W)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])  # (B, H, W)
    return x * keep[:, None].to(x.dtype)


POLICIES: dict[str, Callable[[Tensor, torch.Generator | None], Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """The words of a ``diffaugment`` policy, in order (none for None); one line naming the option and the allowed
    words for anything else."""
    if policy is None:
        return ()
    words = tuple(word.strip() for word in str(policy).split(","))
    unknown = [word for word in words if word not in POLICIES]
    if unknown:
        raise ValueError(
            f"diffaugment {policy!r}: unknown word {unknown[0]!r}; give comma-separated words from "
            f"{', '.join(POLICIES)} (e.g. 'color,translation,cutout'), or null for none"
        )
    return words


def diff_augment(x: Tensor, policy: str | tuple[str, ...], generator: torch.Generator | None = None) -> Tensor:
    """``x`` (B, C, H, W) through the policy's transforms in order; same shape and dtype, differentiable in ``x``."""
    for word in parse_policy(policy) if isinstance(policy, str) else policy:
        x = POLICIES[word](x, generator)
    return x


class DiffAugmented(nn.Module):
    """A discriminator that sees every image through ``diff_augment(policy)`` first. Built on the fly around a model's
    discriminator (never stored on the model: its state_dict keeps its keys); a Module, so that the penalties read
    the discriminator's weight dtype from it."""

    def __init__(self, discriminator: nn.Module, policy: tuple[str, ...]):
        super().__init__()
        self.discriminator, self.policy = discriminator, policy

    def forward(self, x: Tensor) -> Tensor:
        return self.discriminator(diff_augment(x, self.policy))


def augmented(discriminator: nn.Module, policy: tuple[str, ...]) -> nn.Module:
    """``discriminator`` itself without a policy, else it behind the policy's augmentations."""
    return DiffAugmented(discriminator, policy) if policy else discriminator
