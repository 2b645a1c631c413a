"""benchmarks/quality.py: the tasks keep the right answer and never train on the test columns, the metrics give hand
values, the harness runs end to end for a few steps; and the recipe's new options (resize-conv upsampling, the
residual generator, R1)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from translate import losses
from translate.networks import ResnetGenerator

pytest.importorskip("skimage", reason="the quality benchmark needs the bench extra: pip install -e .[bench]")
from benchmarks import quality  # noqa: E402  (after the skip: it reads scikit-image's photos and metrics)


@pytest.fixture(scope="module")
def photos():
    return quality.load_photos()


def test_photos_are_the_shipped_ones_at_the_benchmark_scale(photos):
    assert len(photos) == len(quality.PHOTOS)
    assert all(p.dtype == np.uint8 and p.shape[2] == 3 and min(p.shape[:2]) == quality.SHORT_SIDE for p in photos)


def test_tone_by_hand():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [128, 128, 128]]], dtype=np.uint8)
    # r = 255 (x/255)^0.8, g = 0.97 x, b = 0.85 * 255 (x/255)^1.25, rounded: 128 -> 146.9, 124.2, 91.6
    assert quality.tone(pixels).tolist() == [[[0, 0, 0], [255, 247, 217], [147, 124, 92]]]


def test_texture_leaves_flat_areas_and_amplifies_a_dot():
    flat = np.full((9, 9, 3), 100, dtype=np.uint8)
    assert np.array_equal(quality.texture(flat), flat)
    dot = flat.copy()
    dot[4, 4] = 150
    sharpened = quality.texture(dot)
    assert sharpened[4, 4, 0] > 150 and sharpened[3, 4, 0] < 100  # brighter centre, a dark ring around it


@pytest.mark.parametrize("task", list(quality.TASKS))
def test_task_keeps_the_answer_and_holds_out_the_test_columns(task, photos):
    data = quality.make_task(task, photos, seed=0)
    assert data.train_a.shape == data.train_b.shape == (quality.TRAIN_CROPS, quality.CROP, quality.CROP, 3)
    assert data.test_a.shape == data.test_b.shape == (15, quality.CROP, quality.CROP, 3)
    # The answer of the first test crop is the transform of the whole photo, cut where the crop was cut.
    width = photos[0].shape[1]
    assert np.array_equal(data.test_a[0], photos[0][: quality.CROP, width - quality.CROP :])
    assert np.array_equal(data.test_b[0], quality.TASKS[task](photos[0])[: quality.CROP, width - quality.CROP :])
    # No training crop reaches into the held-out columns: every crop equals a crop of the left part.
    rng = np.random.default_rng(0)
    for index, _top, left in quality._random_crops(photos, quality.TRAIN_CROPS, rng):
        assert left + quality.CROP <= photos[index].shape[1] - quality.TEST_COLUMNS
    assert not np.array_equal(data.train_a, quality.make_task(task, photos, seed=1).train_a)
    assert not any(np.array_equal(a, b) for a, b in zip(data.train_a, data.train_b, strict=True))


def test_psnr_and_ssim_by_hand():
    zeros = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    assert quality.psnr(zeros + 1, zeros) == pytest.approx(10 * np.log10(255**2))  # MSE 1: 48.13 dB
    assert quality.ssim(zeros + 7, zeros + 7) == pytest.approx(1.0)
    # Flat images: the contrast-structure term is C2 / C2 = 1; SSIM is the luminance term (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 100.0, 120.0, (0.01 * 255) ** 2
    assert quality.ssim(zeros + 100, zeros + 120) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)


def test_harness_runs_identity_and_a_few_steps_and_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    args = ["--tasks", "tone", "--variants", "identity", "resize", "--steps", "2", "--json", str(out)]
    rows = quality.main([*args, "--samples", str(tmp_path / "strips")])
    identity, trained = rows
    assert identity["variant"] == "identity" and identity["a2b_psnr"] == identity["b2a_psnr"]  # PSNR is symmetric
    assert 15 < identity["a2b_psnr"] < 40 and 0.5 < identity["a2b_ssim"] < 1
    assert trained["steps"] == 2 and trained["settings"]["upsample"] == "resize"
    assert all(np.isfinite(trained[key]) for key in ("a2b_psnr", "a2b_ssim", "b2a_psnr", "b2a_ssim"))
    written = json.loads(out.read_text())["rows"]
    assert [(r["variant"], r["a2b_psnr"]) for r in written] == [(r["variant"], r["a2b_psnr"]) for r in rows]
    strip = np.asarray(Image.open(tmp_path / "strips" / "tone_resize_2.png"))  # input, answer, output rows
    assert strip.shape == (3 * quality.CROP, len(quality.PHOTOS) * quality.CROP, 3)
    first_input = quality.load_photos()[0][: quality.CROP, -quality.CROP :]
    assert np.array_equal(strip[: quality.CROP, : quality.CROP], first_input)


def test_unknown_variant_is_one_line():
    with pytest.raises(SystemExit, match="--variants: unknown \\['fancy'\\]"):
        quality.main(["--variants", "fancy"])


def test_resize_upsampling_has_no_transposed_conv_and_the_same_parameter_count():
    official = ResnetGenerator(3, 3, base_channels=4, num_blocks=1)
    resize = ResnetGenerator(3, 3, base_channels=4, num_blocks=1, upsample="resize")
    assert any(isinstance(m, nn.ConvTranspose2d) for m in official.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in resize.modules())
    assert sum(p.numel() for p in official.parameters()) == sum(p.numel() for p in resize.parameters())
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = resize(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    y.mean().backward()
    assert all(p.grad is not None for p in resize.parameters())
    with pytest.raises(ValueError, match="upsample must be 'transposed' or 'resize'"):
        ResnetGenerator(3, 3, upsample="deconv")


def test_resize_upsampling_spreads_a_flat_map_evenly():
    # A transposed conv of stride 2 and kernel 3 sums 1, 2 or 4 kernel taps per output pixel: a flat input comes out
    # as a checkerboard. Nearest resize, then a conv, gives every interior pixel the same value.
    flat = torch.ones(1, 4, 6, 6)
    transposed = nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1, bias=False)
    nn.init.constant_(transposed.weight, 1.0)
    resized = nn.Conv2d(4, 1, 3, padding=1, bias=False)
    nn.init.constant_(resized.weight, 1.0)
    with torch.no_grad():
        checker = transposed(flat)[0, 0, 2:-2, 2:-2]
        even = resized(nn.Upsample(scale_factor=2, mode="nearest")(flat))[0, 0, 2:-2, 2:-2]
    assert checker.unique().numel() > 1 and even.unique().numel() == 1


def test_r1_penalty_by_hand():
    real = torch.rand(2, 3, 4, 4)
    # D(x) = 3 * sum(x): its input gradient is 3 everywhere, so ||grad||^2 = 9 * 48 for each image.
    assert losses.r1_penalty(lambda x: 3 * x.sum(dim=(1, 2, 3)), real).item() == pytest.approx(9 * 48)
    weight = torch.tensor(2.0, requires_grad=True)
    penalty = losses.r1_penalty(lambda x: weight * x.sum(dim=(1, 2, 3)), real)
    penalty.backward()  # differentiable in D's weights: d(48 w^2)/dw = 96 w
    assert weight.grad.item() == pytest.approx(96 * 2.0)


def test_cyclegan_with_r1_trains_and_logs_it(tiny_cyclegan, tiny_data, tiny_domains, fit, tmp_path):
    model = tiny_cyclegan(lambda_r1=1.0)
    disc_before = [p.detach().clone() for p in model.disc_a.parameters()]
    trainer = fit(model, tiny_data(tiny_domains), tmp_path, max_steps=4)
    assert trainer.callback_metrics["train/d/r1_a"] > 0 and torch.isfinite(trainer.callback_metrics["train/d/a"])
    assert any(not torch.equal(a, b) for a, b in zip(disc_before, model.disc_a.parameters(), strict=True))


def test_residual_generator_starts_as_the_identity_and_learns_a_change():
    generator = ResnetGenerator(3, 3, base_channels=4, num_blocks=1, residual=True)
    official = ResnetGenerator(3, 3, base_channels=4, num_blocks=1)
    assert list(generator.state_dict()) == list(official.state_dict())  # no new keys or parameters
    x = torch.rand(2, 3, 16, 16) * 1.6 - 0.8
    assert torch.equal(generator(x), x)
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-2)
    for _ in range(3):  # towards a darker image: the output moves away from the input, within [-1, 1]
        optimizer.zero_grad()
        (generator(x) - (x - 0.2)).abs().mean().backward()
        optimizer.step()
    y = generator(x)
    assert (y - x).mean() < -0.01 and y.abs().max() <= 1
    with pytest.raises(ValueError, match="residual=True needs out_channels == in_channels"):
        ResnetGenerator(5, 3, residual=True)


def _sharpening_error_after_training(long_skip: bool) -> float:
    """L1 to an unsharp-masked target after 60 Adam steps of a tiny residual generator (seeded)."""
    torch.manual_seed(0)
    generator = ResnetGenerator(3, 3, base_channels=8, num_blocks=1, residual=True, long_skip=long_skip)
    x = torch.rand(4, 3, 32, 32) * 1.2 - 0.6
    blurred = nn.functional.avg_pool2d(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), 3, stride=1)
    target = (x + 1.5 * (x - blurred)).clamp(-1, 1)
    optimizer = torch.optim.Adam(generator.parameters(), lr=2e-3)
    for _ in range(60):
        optimizer.zero_grad()
        (generator(x) - target).abs().mean().backward()
        optimizer.step()
    with torch.no_grad():
        return (generator(x) - target).abs().mean().item()


def test_long_skip_keeps_the_keys_and_lets_a_residual_generator_learn_fine_detail():
    skip = ResnetGenerator(3, 3, base_channels=4, num_blocks=1, residual=True, long_skip=True)
    official = ResnetGenerator(3, 3, base_channels=4, num_blocks=1)
    assert [(k, v.shape) for k, v in skip.state_dict().items()] == [
        (k, v.shape) for k, v in official.state_dict().items()
    ]
    x = torch.rand(2, 3, 16, 16) * 1.6 - 0.8
    assert torch.equal(skip(x), x)  # still starts as the identity
    # Sharpening needs the input's pixel-level detail at the output conv: through the H/4 bottleneck alone the
    # generator has to re-learn it; the summed full-resolution features hand it over.
    assert _sharpening_error_after_training(True) < 0.8 * _sharpening_error_after_training(False)
