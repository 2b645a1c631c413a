"""EMA generators for every model: they move away from the raw weights, translate by default, resume with the run."""

import pytest
import torch

from translate.models import CycleGAN
from translate.models.ema import moving_average


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


@pytest.mark.parametrize("name", ["travelgan", "siamese_disc", "stargan"])
def test_ema_moves_translates_and_is_checkpointed(
    fit, tiny_travelgan, tiny_siamese_disc, tiny_stargan, rgb_data, rgb_domains, tiny_data, name, tiny_domains, tmp_path
):
    if name == "stargan":
        model, data = tiny_stargan(ema_decay=0.5), rgb_data(rgb_domains)
        raw, average = model.gen, model.ema_gen
        x, args = torch.rand(2, 3, 16, 16) * 2 - 1, (torch.tensor([0.0, 1.0, 0.0]),)
    else:
        build = tiny_travelgan if name == "travelgan" else tiny_siamese_disc
        model, data = build(ema_decay=0.5), tiny_data(tiny_domains, batch_size=3)
        raw, average = model.gen_ab, model.ema_ab
        x, args = torch.rand(2, 3, 16, 16) * 2 - 1, ("a2b",)
    trainer = fit(model, data, tmp_path, max_epochs=2, limit_val_batches=0)
    raw_state, average_state = raw.state_dict(), average.module.state_dict()
    assert any(not torch.equal(raw_state[k], average_state[k]) for k in raw_state), "EMA equals the raw weights"
    assert all(not p.requires_grad for p in average.parameters())

    trainer.save_checkpoint(tmp_path / "ema.ckpt")
    restored = type(model).load_from_checkpoint(tmp_path / "ema.ckpt", weights_only=False).eval()
    model.eval()
    with torch.no_grad():
        assert torch.equal(restored(x, *args), model(x, *args))  # the averages came back with the checkpoint
        assert not torch.equal(restored(x, *args), restored(x, *args, use_ema=False))


def test_moving_average_checks_the_decay():
    assert moving_average(torch.nn.Linear(2, 2), None) is None
    with pytest.raises(ValueError, match="ema_decay"):
        moving_average(torch.nn.Linear(2, 2), 1.0)
