"""Speed-ups keep the mathematics: each optimisation gives the same weights or outputs to float tolerance."""

from functools import partial

import pytest
import torch
from lightning.pytorch import seed_everything


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


def test_predict_in_bf16_matches_fp32_to_a_few_grey_levels(write_images, tiny_cyclegan, tmp_path):
    import numpy as np
    from PIL import Image

    from translate.inference.predict import predict_folder

    model = tiny_cyclegan().eval()
    write_images(tmp_path / "in", 2, size=(24, 20))
    outputs = {}
    for precision in ("32", "bf16"):
        predict_folder(model, tmp_path / "in", tmp_path / precision, precision=precision, progress=False)
        outputs[precision] = np.stack(
            [np.asarray(Image.open(p), dtype=np.int16) for p in sorted((tmp_path / precision).iterdir())]
        )
    difference = np.abs(outputs["32"] - outputs["bf16"])
    assert outputs["bf16"].shape == (2, 20, 24, 3)
    assert 0 < difference.mean() < 2 and difference.max() <= 16  # really bf16 (not identical), still the same image


def test_predict_rejects_an_unknown_precision(tiny_cyclegan, tmp_path):
    from translate.inference.predict import predict_folder

    with pytest.raises(ValueError, match="--precision must be one of 32, bf16, 16, got 'fp8'"):
        predict_folder(tiny_cyclegan(), tmp_path, tmp_path / "out", precision="fp8", progress=False)
