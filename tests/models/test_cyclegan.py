"""CycleGAN as a LightningModule: every network learns, every term is logged, training lowers the cycle loss; fused
Adam and bf16-mixed precision keep the mathematics.
"""

from functools import partial

import pytest
import torch
from lightning.pytorch import Trainer, seed_everything

from translate.models import CycleGAN


@pytest.mark.parametrize("gan_mode", ["lsgan", "vanilla", "hinge", "wgangp"])
def test_one_epoch_updates_every_network_and_logs_every_term(
    tiny_cyclegan, tiny_data, fit, gan_mode, tiny_domains, tmp_path
):
    model = tiny_cyclegan(gan_mode=gan_mode)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = fit(model, tiny_data(tiny_domains), tmp_path, limit_val_batches=1)
    unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
    if gan_mode in ("hinge", "wgangp"):  # d/d(bias) of mean(fake) - mean(real) is exactly 0: the head bias may stay
        unchanged = [name for name in unchanged if name.split(".", 1)[1] != f"model.{len(model.disc_a.model) - 1}.bias"]
    assert not unchanged, f"parameters not updated: {unchanged[:5]}"
    logged = trainer.callback_metrics
    expected = {"train/g/adv_ab", "train/g/adv_ba", "train/g/cycle_a", "train/g/cycle_b", "train/g/idt_a"}
    expected |= {"train/g/idt_b", "train/g/total", "train/d/a", "train/d/b", "val/cycle"}
    if gan_mode == "wgangp":
        expected |= {"train/d/gp_a", "train/d/gp_b"}
    assert expected <= set(logged), expected - set(logged)
    assert all(torch.isfinite(logged[key]) for key in expected)
    assert trainer.global_step == 2 * 3  # 6 images in A, batch 2: 3 batches, one G and one D step each


def test_identity_weight_zero_skips_identity_terms(tiny_cyclegan, tiny_data, fit, tiny_domains, tmp_path):
    trainer = fit(tiny_cyclegan(lambda_identity=0.0), tiny_data(tiny_domains), tmp_path, max_steps=2)
    assert "train/g/idt_a" not in trainer.callback_metrics


def test_channel_mismatch_names_both_options(tiny_cyclegan, tiny_data, fit, tiny_domains, tmp_path):
    with pytest.raises(ValueError, match="channels=1.*data.channels=3"):
        fit(tiny_cyclegan(channels=1), tiny_data(tiny_domains), tmp_path)


def test_scheduler_steps_per_epoch(tiny_cyclegan, tiny_data, fit, tiny_domains, tmp_path):
    from translate.schedules import LinearDecayLR

    model = tiny_cyclegan(scheduler=partial(LinearDecayLR, constant_epochs=1, decay_epochs=3))
    fit(model, tiny_data(tiny_domains), tmp_path, max_epochs=3, limit_train_batches=1, limit_val_batches=0)
    rates = [optimizer.param_groups[0]["lr"] for optimizer in model.optimizers()]
    assert rates == pytest.approx([2e-4 * 0.5] * 2)  # the third epoch (e = 2) runs at 1 - (2 + 1 - 1) / 4


def test_training_lowers_the_cycle_loss(tiny_cyclegan, tiny_data, fit, tiny_domains, tmp_path):
    torch.manual_seed(0)
    model = tiny_cyclegan(lambda_identity=0.0)
    data = tiny_data(tiny_domains)
    data.setup("fit")
    real_a, real_b = data.sample_batch(2)

    def cycle() -> float:
        with torch.no_grad():
            model.eval()
            value = (model.gen_ba(model.gen_ab(real_a)) - real_a).abs().mean() + (
                model.gen_ab(model.gen_ba(real_b)) - real_b
            ).abs().mean()
            model.train()
            return value.item()

    before = cycle()
    fit(model, data, tmp_path, max_epochs=15, limit_val_batches=0)  # 45 batches of 2 at 16 px
    after = cycle()
    assert after < 0.6 * before, (before, after)


def test_pools_are_saved_and_restored(tiny_cyclegan, tiny_data, fit, tiny_domains, tmp_path):
    model = tiny_cyclegan(pool_size=3)
    trainer = fit(model, tiny_data(tiny_domains), tmp_path, max_steps=4, limit_val_batches=0)
    path = tmp_path / "pool.ckpt"
    trainer.save_checkpoint(path)
    restored = CycleGAN.load_from_checkpoint(path, weights_only=False)
    assert len(restored.pool_a.images) == 3  # 2 batches of 2 fakes fill the pool of 3
    assert all(torch.equal(a, b) for a, b in zip(restored.pool_a.images, model.pool_a.images, strict=True))


def test_forward_picks_the_direction(tiny_cyclegan):
    model = tiny_cyclegan().eval()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.equal(model(x, direction="b2a"), model.gen_ba(x))
    assert torch.equal(model(x), model.gen_ab(x))
    with pytest.raises(ValueError, match="a2b"):
        model(x, direction="ab")


def test_fused_adam_trains_to_the_same_model_as_the_per_tensor_loop(
    tiny_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path
):
    def _cyclegan(optimizer):
        seed_everything(0)
        return tiny_cyclegan(optimizer=optimizer, pool_size=2)

    trained = {}
    for name, fused in [("loop", False), ("fused", True)]:
        model = _cyclegan(partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999), fused=fused))
        seeded_trainer(tmp_path / name, max_epochs=2, enable_checkpointing=False).fit(
            model, datamodule=tiny_data(tiny_domains, load_size=20)
        )
        assert model.optimizers()[0].optimizer.defaults["fused"] is fused
        trained[name] = model.eval()
    start = _cyclegan(None).state_dict()
    assert not torch.equal(start["gen_ab.model.1.weight"], trained["fused"].state_dict()["gen_ab.model.1.weight"])
    loop, fused = trained["loop"].state_dict(), trained["fused"].state_dict()
    for key in start:
        # A conv bias right before instance norm is cancelled by the norm: its gradient is rounding noise, which
        # Adam's normalisation blows up to full-size steps, so those biases wander differently in any two
        # implementations. They change no output; every other tensor must match.
        if not key.endswith("bias"):
            torch.testing.assert_close(fused[key], loop[key], rtol=1e-5, atol=1e-6, msg=key)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        for net in ("gen_ab", "gen_ba", "disc_a", "disc_b"):
            out_fused, out_loop = getattr(trained["fused"], net)(x), getattr(trained["loop"], net)(x)
            torch.testing.assert_close(out_fused, out_loop, rtol=1e-5, atol=1e-5, msg=net)


def test_bf16_mixed_trains_with_finite_losses(tiny_cyclegan, tiny_data, tiny_domains, tmp_path):
    model = tiny_cyclegan(gan_mode="wgangp")  # the gradient penalty's double backward under autocast too
    before = model.gen_ab.model[1].weight.detach().clone()
    data = tiny_data(tiny_domains)
    trainer = Trainer(
        accelerator="cpu", precision="bf16-mixed", max_steps=4, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, default_root_dir=tmp_path, limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
    assert {"train/g/total", "train/d/gp_a"} <= set(terms)
    assert all(torch.isfinite(v) for v in terms.values()), terms
    assert not torch.equal(before, model.gen_ab.model[1].weight)
    assert model.gen_ab.model[1].weight.dtype == torch.float32  # weights stay fp32; only the compute is bf16
