"""EMA generators for every model: they move away from the raw weights, translate by default, resume with the run."""

import pytest
import torch

from translate.models.ema import moving_average


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
