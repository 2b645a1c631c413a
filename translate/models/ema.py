"""Exponential moving average of a generator's weights (the models' optional ``ema_decay``)."""

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def moving_average(generator: nn.Module, decay: float | None) -> AveragedModel | None:
    """A frozen copy of ``generator`` that ``update_parameters(generator)`` moves towards it; None when decay is None.

    Buffers are averaged too, so batch-norm statistics follow the averaged weights. The copy is a submodule of the
    model, so checkpoints save it and resumes restore it; it takes no gradients (and no DDP reduction).
    """
    if decay is None:
        return None
    if not 0 < decay < 1:
        raise ValueError(f"ema_decay must be in (0, 1) or None, got {decay}")
    average = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    return average.requires_grad_(False)
