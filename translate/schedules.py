"""Learning-rate schedules and loss-weight schedules shared by the models."""

import warnings
from typing import TYPE_CHECKING

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

if TYPE_CHECKING:
    from lightning.pytorch import Trainer


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


def run_length(trainer: "Trainer", needed_by: str) -> int | float:
    """The optimizer steps a run takes, as ``trainer.global_step`` counts them (each optimizer's step: two a batch for
    a GAN stepping G and D): ``max_steps``, or ``max_epochs`` epochs of every optimizer stepping once a batch,
    whichever ends first (infinite before the training data is loaded, when only ``max_epochs`` is set). A run of
    neither (both -1: a ``max_time`` or an endless run) is refused in one line naming ``needed_by``."""
    lengths = [trainer.max_steps] if trainer.max_steps != -1 else []
    if trainer.max_epochs not in (None, -1):
        lengths.append(trainer.max_epochs * trainer.num_training_batches * max(len(trainer.optimizers), 1))
    if not lengths:
        raise ValueError(f"{needed_by} changes a weight over the run, but trainer.max_steps and trainer.max_epochs "
                         f"are both -1 (no length): set one of them, or leave {needed_by} out")  # fmt: skip
    return min(lengths)


def check_weight_end(end: float | None, option: str) -> None:
    """Refuse a weight schedule's ``end`` (``option``) below zero or NaN, in one line naming it."""
    if end is not None and not end >= 0:
        raise ValueError(f"{option} must be a number >= 0 (or null: no schedule), got {end}")


def linear_weight(start: float, end: float | None, trainer: "Trainer | None", needed_by: str) -> float:
    """``start``, or with an ``end`` the weight moved linearly from ``start`` (step 0) to ``end`` (the run's last
    step, ``run_length``) at the current batch's first optimizer step (``trainer.global_step`` less the steps this
    batch has taken already: one weight for the batch whether G or D steps first): a pure function of the step, so a
    resumed run weighs each batch as the uninterrupted one did. Without a trainer (a model outside a run) ``start``."""
    if end is None or trainer is None:
        return start
    total, per_batch = run_length(trainer, needed_by), max(len(trainer.optimizers), 1)
    step = trainer.global_step - trainer.global_step % per_batch
    return start + (end - start) * min(step / total, 1.0) if total > 0 else end
