"""Speed-ups keep the mathematics: each optimisation gives the same weights or outputs to float tolerance."""

import pytest


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
