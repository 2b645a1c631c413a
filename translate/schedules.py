"""Learning-rate schedules shared by the models."""

import warnings

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler


class LinearDecayLR(LambdaLR):
    """Constant for ``constant_epochs``, then linear towards zero over ``decay_epochs`` (official CycleGAN 'linear').

    Stepped once per epoch. The factor in epoch ``e`` (0-based) is ``1 - max(0, e + 1 - constant_epochs) /
    (decay_epochs + 1)``, the official formula, so the last epoch still trains at ``1 / (decay_epochs + 1)`` of the
    base rate instead of wasting an epoch at zero. Official: 100 + 100 epochs.
    """

    def __init__(self, optimizer: Optimizer, constant_epochs: int = 100, decay_epochs: int = 100, last_epoch: int = -1):
        if constant_epochs < 0 or decay_epochs < 0:
            raise ValueError(f"constant_epochs and decay_epochs must be >= 0, got {constant_epochs}, {decay_epochs}")
        self.constant_epochs, self.decay_epochs = constant_epochs, decay_epochs
        super().__init__(optimizer, self._factor, last_epoch=last_epoch)

    def _factor(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 1 - self.constant_epochs) / (self.decay_epochs + 1))


def catch_up(schedulers: LRScheduler | list[LRScheduler] | None, count: int) -> None:
    """Step ``schedulers`` (what ``LightningModule.lr_schedulers()`` returns) until each has taken ``count`` steps.

    With manual optimisation the models step their schedules themselves. Catching up to a counter the trainer keeps
    (the epoch, or the batch for StarGAN) before each batch, rather than stepping at epoch ends, stays right after a
    resume from a checkpoint saved between the last batch and the end of an epoch.
    """
    for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
        while scheduler.last_epoch < count:
            with warnings.catch_warnings():
                # after a resume the restored schedule catches up before this process's first optimizer step; torch
                # warns that a first value would be skipped, which a schedule computed from last_epoch never does
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
                scheduler.step()
