"""Loss functions against hand-computed values; the image pool; the learning-rate schedule."""

import math

import pytest
import torch
from torch import nn

from translate import losses
from translate.models.image_pool import ImagePool
from translate.schedules import LinearDecayLR


@pytest.mark.parametrize(
    "mode, real, fake, expected",
    [
        ("lsgan", 1.0, 0.0, 0.0),  # perfect D
        ("lsgan", 0.0, 1.0, 1.0),  # fooled D: 0.5 * (1 + 1)
        ("lsgan", 0.5, 0.5, 0.25),
        ("vanilla", 0.0, 0.0, math.log(2)),  # 0.5 * (log 2 + log 2)
        ("vanilla", 20.0, -20.0, 0.5 * 2 * math.log1p(math.exp(-20))),
        ("hinge", 2.0, -2.0, 0.0),
        ("hinge", 0.0, 0.0, 2.0),
        ("hinge", 0.5, 0.25, 0.5 + 1.25),
        ("wgangp", 3.0, 1.0, -2.0),
    ],
)
def test_discriminator_loss_values(mode, real, fake, expected):
    value = losses.discriminator_loss(torch.full((2, 1, 3, 3), real), torch.full((2, 1, 3, 3), fake), mode)
    assert value.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "mode, fake, expected",
    [
        ("lsgan", 1.0, 0.0),
        ("lsgan", 0.0, 1.0),
        ("vanilla", 0.0, math.log(2)),
        ("hinge", 0.7, -0.7),
        ("wgangp", 2.0, -2.0),
    ],
)
def test_generator_loss_values(mode, fake, expected):
    assert losses.generator_loss(torch.full((2, 1, 3, 3), fake), mode).item() == pytest.approx(expected, abs=1e-6)


def test_sure_discriminator_beats_fooled_one():
    for mode in ("lsgan", "vanilla", "hinge", "wgangp"):
        sure = losses.discriminator_loss(torch.full((4,), 3.0), torch.full((4,), -3.0), mode)
        fooled = losses.discriminator_loss(torch.full((4,), -3.0), torch.full((4,), 3.0), mode)
        assert sure < fooled, mode


def test_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match="lsgan.*vanilla.*hinge.*wgangp"):
        losses.discriminator_loss(torch.zeros(1), torch.zeros(1), "wgan")
    with pytest.raises(ValueError, match="expected one of"):
        losses.generator_loss(torch.zeros(1), "bce")


def test_fp16_logits_do_not_overflow():
    big = torch.full((4, 1, 8, 8), 300.0, dtype=torch.float16)  # 300^2 = 90000 > fp16 max 65504
    value = losses.generator_loss(-big, "lsgan")
    assert value.dtype == torch.float32 and torch.isfinite(value) and value.item() == pytest.approx(301**2)


class _LinearCritic(nn.Module):
    """D(x) = <w, x> per image: its input gradient is w everywhere, so its slope is ||w||."""

    def __init__(self, slope: float):
        super().__init__()
        weight = torch.randn(3, 8, 8)
        self.weight = nn.Parameter(weight / weight.norm() * slope)

    def forward(self, x):
        return (x * self.weight).flatten(1).sum(1)


def test_gradient_penalty_zero_for_unit_slope_and_positive_otherwise():
    real, fake = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    assert losses.gradient_penalty(_LinearCritic(1.0), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert losses.gradient_penalty(_LinearCritic(3.0), real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_reaches_the_critic_weights():
    critic = _LinearCritic(3.0)
    losses.gradient_penalty(critic, torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: along w, magnitude 2 * 2 = 4
    assert critic.weight.grad is not None
    assert critic.weight.grad.norm().item() == pytest.approx(4.0, rel=1e-4)


def test_l1_is_fp32_mean_absolute_error():
    value = losses.l1(torch.tensor([1.0, -1.0], dtype=torch.float16), torch.tensor([0.0, 1.0]))
    assert value.dtype == torch.float32 and value.item() == pytest.approx(1.5)


def _images(start: int, count: int) -> torch.Tensor:
    return torch.arange(start, start + count, dtype=torch.float32).view(count, 1, 1, 1).expand(count, 1, 2, 2).clone()


def test_pool_passes_through_while_filling_then_swaps_about_half():
    pool = ImagePool(size=4)
    first = _images(0, 4)
    assert torch.equal(pool(first), first)  # filling: returned unchanged
    new = torch.arange(100, 500).float()
    returned = torch.cat([pool(_images(100 + 2 * i, 2)) for i in range(200)])[:, 0, 0, 0]
    swapped = returned != new
    assert 0.4 < swapped.float().mean().item() < 0.6  # p = 0.5 once full
    assert (returned[swapped] < new[swapped]).all()  # what comes back instead is an older fake
    assert len(pool.images) == 4
    assert all(image[0, 0, 0] >= 100 for image in pool.images)  # the first fakes were swapped out by now


def test_pool_size_zero_disables_it():
    pool, images = ImagePool(0), torch.randn(3, 3, 4, 4)
    assert pool(images) is images


def test_pool_state_round_trip_gives_same_future():
    pool = ImagePool(size=3)
    for i in range(5):
        pool(_images(10 * i, 2))
    state = pool.state_dict()
    torch.manual_seed(7)
    expected = pool(_images(99, 4))
    restored = ImagePool(size=1)
    restored.load_state_dict(state)
    torch.manual_seed(7)
    assert torch.equal(restored(_images(99, 4)), expected)


def test_pool_rejects_negative_size():
    with pytest.raises(ValueError, match="pool_size"):
        ImagePool(-1)


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
