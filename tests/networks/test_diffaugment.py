"""DiffAugment (translate.networks.diffaugment): each policy changes images by the paper's amounts and keeps their
shape and dtype, is differentiable, draws from the generator it is given (or torch's seeded one), and an unknown word
is refused in one line naming the option and the words."""

import pytest
import torch

from translate.networks.diffaugment import POLICIES, augmented, diff_augment, parse_policy


def _images(count: int = 4, size: int = 16, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return (torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("policy", [*POLICIES, "color,translation,cutout"])
def test_each_policy_changes_every_image_and_keeps_shape_and_dtype(policy, dtype):
    x = _images(dtype=dtype)
    y = diff_augment(x, policy, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == dtype
    assert all(not torch.equal(a, b) for a, b in zip(x, y, strict=True)), "an image came through unchanged"


@pytest.mark.parametrize("policy", [*POLICIES, "color,translation,cutout"])
def test_the_gradient_reaches_the_input(policy):
    x = _images().requires_grad_(True)
    diff_augment(x, policy, torch.Generator().manual_seed(1)).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.isfinite(x.grad).all()


def test_the_same_seed_draws_the_same_augmentation_and_each_image_its_own():
    x = _images(1).expand(4, -1, -1, -1)  # four copies of one image
    policy = "color,translation,cutout"
    first = diff_augment(x, policy, torch.Generator().manual_seed(5))
    assert torch.equal(first, diff_augment(x, policy, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, diff_augment(x, policy, torch.Generator().manual_seed(6)))
    assert len({tuple(image.flatten().tolist()) for image in first}) == 4, "copies of one image got the same amounts"
    torch.manual_seed(7)  # without a generator: torch's global one, which StepSeed seeds at every step
    global_draw = diff_augment(x, policy)
    torch.manual_seed(7)
    assert torch.equal(global_draw, diff_augment(x, policy))


def test_color_shifts_brightness_by_at_most_a_half_and_keeps_greys_grey():
    flat = torch.full((64, 3, 8, 8), 0.25)  # one grey: saturation and contrast have nothing to scale
    out = diff_augment(flat, "color", torch.Generator().manual_seed(0))
    shift = out[:, 0, 0, 0] - 0.25
    assert torch.allclose(out, (0.25 + shift).view(-1, 1, 1, 1).expand_as(out), atol=1e-6)
    assert shift.min() >= -0.5 and shift.max() < 0.5 and shift.max() - shift.min() > 0.5
    grey = _images(64)[:, :1].expand(-1, 3, -1, -1)  # equal channels: saturation leaves them equal
    out = diff_augment(grey, "color", torch.Generator().manual_seed(0))
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 0], out[:, 2])
    spread = (out - out.mean((1, 2, 3), keepdim=True)).std((1, 2, 3)) / grey.std((1, 2, 3))
    assert spread.min() >= 0.5 - 1e-4 and spread.max() < 1.5 + 1e-4  # contrast x U[0.5, 1.5)


def test_translation_shifts_by_up_to_an_eighth_with_zeros_behind():
    x = torch.arange(1.0, 1 + 16 * 24).view(1, 1, 16, 24).expand(32, 3, -1, -1)  # no zero anywhere
    out = diff_augment(x, "translation", torch.Generator().manual_seed(0))
    seen = set()
    for image in out:
        dy, dx = next((dy, dx) for dy in range(-2, 3) for dx in range(-3, 4) if _shifted(x[0], dy, dx).equal(image))
        seen.add((dy, dx))
    assert len(seen) > 10, seen  # 5 x 7 shifts: up to 16 // 8 rows and 24 // 8 columns either way


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``image`` moved down ``dy`` rows and right ``dx`` columns, zeros where nothing moved in."""
    out = torch.zeros_like(image)
    height, width = image.shape[1:]
    out[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = image[
        :, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return out


def test_cutout_zeroes_one_rectangle_of_at_most_half_the_sides():
    x = torch.ones(64, 3, 16, 12)
    out = diff_augment(x, "cutout", torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])  # every channel alike
    whole = 0
    for mask in out[:, 0] == 0:
        rows, columns = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert 1 <= len(rows) <= 8 and 1 <= len(columns) <= 6
        assert mask.sum() == len(rows) * len(columns)  # a rectangle
        assert rows.diff().eq(1).all() and columns.diff().eq(1).all()
        whole += len(rows) == 8 and len(columns) == 6
    assert whole > 0  # centred well inside, the square is whole: half of 16 by half of 12


@pytest.mark.parametrize("policy", ["colour", "color,", "color, flip", ""])
def test_an_unknown_word_is_refused_naming_the_option_and_the_words(policy):
    with pytest.raises(ValueError, match="^diffaugment .*unknown word.*color, translation, cutout") as refused:
        parse_policy(policy)
    assert "\n" not in str(refused.value)


def test_policies_parse_with_spaces_and_none_is_no_augmentation():
    assert parse_policy(" color, translation ,cutout") == ("color", "translation", "cutout")
    assert parse_policy(None) == ()
    x = _images()
    assert diff_augment(x, ()) is x
    disc = torch.nn.Conv2d(3, 1, 3)
    assert augmented(disc, ()) is disc
    wrapped = augmented(disc, ("cutout",))
    assert list(wrapped.parameters()) == list(disc.parameters())  # the penalties read D's dtype through it
    torch.manual_seed(0)
    expected = disc(diff_augment(x, "cutout"))
    torch.manual_seed(0)
    assert torch.equal(wrapped(x), expected)
