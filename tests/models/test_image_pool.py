"""The image pool: passes through while filling, then swaps about half; its state round-trips."""

import pytest
import torch

from translate.models.image_pool import ImagePool


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
