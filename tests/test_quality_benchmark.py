"""benchmarks/quality.py: its variant names resolve to configs (the official or the recipe's, then overlays of
configs/quality/), the metrics give hand values, an identity run writes its JSON; and the recipe's options
(resize-conv upsampling, the residual generator, the long skip, R1). Tasks and training: tests/test_quality_suite.py.
"""

import json

import numpy as np
import pytest
import torch
from torch import nn

from translate import losses
from translate.cli import main as translate_main
from translate.networks import ResnetGenerator

pytest.importorskip("skimage", reason="the quality benchmark needs the bench extra: pip install -e .[bench]")
from benchmarks import quality  # noqa: E402  (after the skip: it reads scikit-image's photos and metrics)
from benchmarks.suite import metrics, training  # noqa: E402


def test_variant_names_are_overlays_on_the_official_config_or_the_recipe():
    official, recipe = "configs/official.yaml", "configs/recipe.yaml"
    overlays = [f"configs/quality/{name}.yaml" for name in ("skip", "resize", "ema", "idt01", "long")]
    assert quality.variant_configs("skip_resize_ema_idt01_long", official, recipe) == [official, *overlays]
    assert quality.variant_configs("skip+resize+ema+idt01+long", official, recipe) == [official, *overlays]
    assert quality.variant_configs("recipe_no_long", official, recipe) == [recipe, "configs/quality/no_long.yaml"]
    assert quality.variant_configs("r1_01", official, recipe) == [official, "configs/quality/r1_01.yaml"]  # not r1
    assert quality.variant_configs("official", official, recipe) == [official]
    with pytest.raises(SystemExit, match="unknown 'fancy'"):
        quality.variant_configs("fancy", official, recipe)


@pytest.mark.parametrize(
    "name, key, value",
    [("recipe_no_ema", "ema_decay", None), ("skip", "residual", True), ("resize", "upsample", "resize"),
     ("recipe_idt05", "lambda_identity", 0.5), ("sn", "spectral_norm", True)],
)  # fmt: skip
def test_variant_overlays_change_what_they_say(name, key, value):
    configs = quality.variant_configs(name, *training.default_variants())  # the configs under either name
    model = training.resolved(training.Variant(tuple(configs)))["model"]["init_args"]
    found = {**model, **model["generator"]["init_args"], **model["discriminator"]["init_args"]}
    assert found[key] == value


# Overlays for another model than the CycleGAN quick start, and the config they go over.
OTHER_MODELS = {"siamese_unet.yaml": "configs/travelgan_siamese_quickstart.yaml"}


def test_every_overlay_is_a_valid_config(capsys):
    overlays = sorted(str(p) for p in quality.OVERLAYS.glob("*.yaml") if p.name not in OTHER_MODELS)
    configs = [a for path in [training.default_variants()[0], *overlays] for a in ("--config", path)]
    with pytest.raises(SystemExit) as printed:  # stacked (later wins): an unknown key anywhere is an error (exit 2)
        translate_main(["fit", *configs, "--print_config"])
    assert printed.value.code in (0, None) and "upsample: transposed" in capsys.readouterr().out and len(overlays) >= 19
    for name, config in OTHER_MODELS.items():
        with pytest.raises(SystemExit) as printed:
            translate_main(["fit", "--config", config, "--config", str(quality.OVERLAYS / name), "--print_config"])
        assert printed.value.code in (0, None) and "TraVeLGANGenerator" in capsys.readouterr().out


def test_psnr_and_ssim_by_hand():
    zeros = np.zeros((16, 16, 3), dtype=np.uint8)
    assert metrics.psnr(zeros + 1, zeros) == pytest.approx(10 * np.log10(255**2))  # MSE 1 grey level: 48.13 dB
    assert metrics.psnr(zeros, zeros) == 100  # capped: an exact answer
    assert metrics.ssim(zeros + 7, zeros + 7) == pytest.approx(1.0)
    # Flat images: the contrast-structure term is C2 / C2 = 1; SSIM is the luminance term (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 100.0, 120.0, (0.01 * 255) ** 2
    assert metrics.ssim(zeros + 100, zeros + 120) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)


def test_identity_only_run_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    rows = quality.main(
        ["--tasks", "tone", "--variants", "identity", "--tiny", "--out", str(tmp_path), "--json", str(out)]
    )
    (identity,) = rows
    assert identity["variant"] == "identity" and 15 < identity["test_psnr"] < 40 and 0.5 < identity["test_ssim"] < 1
    assert identity["val_psnr"] != identity["test_psnr"]  # other photos
    assert json.loads(out.read_text())["rows"] == rows


def test_unknown_variant_is_one_line():
    with pytest.raises(SystemExit, match="--variants: unknown 'fancy'"):
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
