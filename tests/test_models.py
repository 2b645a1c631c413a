"""CycleGAN as a LightningModule: every network learns, every term is logged, training lowers the cycle loss."""

from functools import partial

import pytest
import torch

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


def test_a_folder_per_domain_root_with_three_domains_is_a_clear_error(
    tiny_cyclegan, tiny_travelgan, tiny_data, fit, write_images, tmp_path
):
    for colour, domain in enumerate(["red", "green", "blue"]):  # found as three domains: CycleGAN takes two
        write_images(tmp_path / "rgb" / "train" / domain, 2, colour=colour)
    with pytest.raises(ValueError, match=r"CycleGAN translates between two domains but the data has 3: \['blue'"):
        fit(tiny_cyclegan(), tiny_data(tmp_path / "rgb"), tmp_path)
    with pytest.raises(ValueError, match="TraVeLGAN translates between two domains but the data has 3"):
        fit(tiny_travelgan(), tiny_data(tmp_path / "rgb"), tmp_path)
    fit(tiny_cyclegan(), tiny_data(tmp_path / "rgb", domains=["blue", "red"]), tmp_path, max_steps=2)  # two: fine


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


def test_ema_generators_differ_from_raw_ones_and_translate(
    tiny_cyclegan, tiny_data, fit, write_images, tiny_domains, tmp_path
):
    from translate.inference.predict import predict_folder

    model = tiny_cyclegan(ema_decay=0.5)
    trainer = fit(model, tiny_data(tiny_domains), tmp_path, max_epochs=2, limit_val_batches=0)
    raw, average = model.gen_ab.state_dict(), model.ema_ab.module.state_dict()
    assert any(not torch.equal(raw[k], average[k]) for k in raw), "EMA weights equal the raw weights"
    assert all(not p.requires_grad for p in model.ema_ab.parameters())

    trainer.save_checkpoint(tmp_path / "ema.ckpt")
    restored = CycleGAN.load_from_checkpoint(tmp_path / "ema.ckpt", weights_only=False).eval()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(restored(x), restored.ema_ab(x))
        assert not torch.equal(restored(x), restored(x, use_ema=False))

        from translate.data.images import read_image, to_tensor

    write_images(tmp_path / "in", 1)
    (output,) = predict_folder(restored, tmp_path / "in", tmp_path / "out", num_workers=0, progress=False)
    source = to_tensor(read_image(tmp_path / "in" / "img_000.png"))[None]
    with torch.no_grad():
        expected = ((restored.ema_ab(source)[0].clamp(-1, 1) + 1) * 127.5).round()
    written = to_tensor(read_image(output))  # back to [-1, 1]
    assert ((written + 1) * 127.5 - expected).abs().max() <= 1  # predict used the averaged generator


def test_ema_decay_is_checked(tiny_cyclegan):
    with pytest.raises(ValueError, match="ema_decay"):
        tiny_cyclegan(ema_decay=1.5)
