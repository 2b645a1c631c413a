"""CycleGAN's ``diffaugment`` (#28): every image D sees is augmented (real, pooled fake and G's fake, in D's step, its
penalties and G's adversarial term), what the cycle and identity terms see is not; the option adds no parameter,
changes nothing when None, is refused in one line when a word is not a policy, and a run with it resumes bit-exact."""

import pytest
import torch
from lightning.pytorch import seed_everything

from tests.models.test_identity_schedule import fit_cli, model_config
from translate.networks.diffaugment import DiffAugmented

POLICY = "color,translation,cutout"


def _record_inputs(model, names: tuple[str, ...]) -> dict[str, list[torch.Tensor]]:
    """Every input the named submodules see from now on."""
    seen = {name: [] for name in names}
    for name in names:
        getattr(model, name).register_forward_pre_hook(lambda _, args, name=name: seen[name].append(args[0].detach()))
    return seen


def _cut(images: torch.Tensor) -> torch.Tensor:
    """Per image, whether cutout zeroed a patch: exact zeros, which images in [-1, 1] from uint8 and tanh lack."""
    return (images == 0).flatten(1).sum(1) >= 4 * 4 * images.shape[1]  # half of 16 px, at least a quarter inside


@pytest.mark.parametrize("extra", [{}, {"gan_mode": "wgangp"}, {"lambda_r1": 1.0}], ids=["lsgan", "wgangp", "r1"])
def test_discriminators_see_only_augmented_images_and_generators_only_plain_ones(
    extra, tiny_cyclegan, tiny_data, fit, tiny_domains, tmp_path
):
    model = tiny_cyclegan(diffaugment="cutout", pool_size=2, **extra)
    seen = _record_inputs(model, ("disc_a", "disc_b", "gen_ab", "gen_ba"))
    fit(model, tiny_data(tiny_domains), tmp_path, max_steps=4, limit_val_batches=0)
    # per batch: G's adversarial term (1), D's real and fake (2), and the penalty's pass (1) when there is one
    per_batch = 3 + bool(extra)
    for name in ("disc_a", "disc_b"):
        assert len(seen[name]) == 2 * per_batch, name
        assert all(_cut(images).all() for images in seen[name]), f"{name} saw an image that was not augmented"
    for name in ("gen_ab", "gen_ba"):  # the translations, the cycles and the identity terms: plain images
        assert seen[name] and not any(_cut(images).any() for images in seen[name]), f"{name} saw an augmented image"


def test_a_policy_adds_no_parameter_and_none_changes_nothing(tiny_cyclegan):
    seed_everything(0)
    plain = tiny_cyclegan()
    seed_everything(0)
    augmented = tiny_cyclegan(diffaugment=POLICY)
    assert list(plain.state_dict()) == list(augmented.state_dict())
    assert all(torch.equal(value, augmented.state_dict()[key]) for key, value in plain.state_dict().items())
    assert plain._judge(plain.disc_a) is plain.disc_a  # None: D itself, the same calls as before
    assert isinstance(augmented._judge(augmented.disc_a), DiffAugmented)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(plain(x), augmented(x))  # translation never augments
        assert torch.equal(plain(x, "b2a"), augmented(x, "b2a"))


def test_an_unknown_policy_is_refused_naming_the_option(tiny_cyclegan):
    with pytest.raises(ValueError, match="^diffaugment 'colour,cutout': unknown word 'colour'; give comma-separated"):
        tiny_cyclegan(diffaugment="colour,cutout")


def test_a_run_with_diffaugment_trains_and_resumes_bit_exact(tiny_domains, tmp_path):
    configs, model = ["quickstart", "debug"], {"diffaugment": POLICY}
    straight = fit_cli(tiny_domains, tmp_path / "straight", configs, model)
    plain = fit_cli(tiny_domains, tmp_path / "plain", configs, {})
    assert not torch.equal(straight["disc_a.model.0.parametrizations.weight.original"],
                           plain["disc_a.model.0.parametrizations.weight.original"])  # fmt: skip
    middle = tmp_path / "straight" / "checkpoints" / "step=8.ckpt"
    resumed = fit_cli(tiny_domains, tmp_path / "resumed", configs, model, f"--ckpt_path={middle}")
    for key, value in straight.items():
        assert torch.equal(value, resumed[key]), f"{key} differs from the uninterrupted run"


def test_the_quality_overlay_sets_the_paper_s_policy(capsys):
    assert model_config(capsys, "quickstart", "quality/diffaugment")["diffaugment"] == POLICY
