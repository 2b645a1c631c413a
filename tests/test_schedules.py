"""LinearDecayLR against the official formula; catch_up steps schedulers to a count once."""

import pytest
import torch
from torch import nn

from translate.schedules import LinearDecayLR


def test_linear_decay_schedule_matches_the_official_formula():
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule, rates = LinearDecayLR(optimizer, constant_epochs=2, decay_epochs=3), []
    for _ in range(5):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx([1.0, 1.0, 0.75, 0.5, 0.25])


def test_catch_up_steps_schedulers_to_the_count_once():
    from translate.schedules import catch_up

    optimizers = [torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0) for _ in range(2)]
    schedules = [LinearDecayLR(optimizer, constant_epochs=1, decay_epochs=3) for optimizer in optimizers]
    catch_up(schedules, 2)
    catch_up(schedules, 2)  # already there: no further step
    assert [s.last_epoch for s in schedules] == [2, 2]
    assert optimizers[0].param_groups[0]["lr"] == pytest.approx(0.5)  # epoch 2: 1 - (2 + 1 - 1) / 4
    catch_up(schedules[0], 3)  # a single scheduler, as lr_schedulers() returns for one optimizer
    assert schedules[0].last_epoch == 3
    catch_up(None, 5)  # no schedulers configured
