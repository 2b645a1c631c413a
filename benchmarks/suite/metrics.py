"""Scores of translated images against the right answers, file by file (the same names), means over a split.

- ``psnr``: 10 log10(1 / MSE) in dB on RGB in [0, 1], per image, capped at 100 dB (an exact answer), as
  benchmarks/shapes.py scores its twins.
- ``ssim``: SSIM (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03; scikit-image), channels averaged.
- ``background_error``: where a mask says where the objects are (white), the mean |output - answer| over RGB in
  [0, 1] outside them: how well the background was kept (the input and its answer are equal there).
"""

from pathlib import Path

import numpy as np
from PIL import Image


def read_folder(folder: Path) -> dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8 for the PNG files of ``folder``."""
    return {p.name: np.asarray(Image.open(p).convert("RGB")) for p in sorted(Path(folder).glob("*.png"))}


def psnr(output: np.ndarray, answer: np.ndarray) -> float:
    mse = np.mean((output.astype(float) / 255 - answer.astype(float) / 255) ** 2)
    return float(10 * np.log10(1 / max(mse, 1e-10)))


def ssim(output: np.ndarray, answer: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(answer, output, data_range=255, channel_axis=-1, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))  # fmt: skip


def background_error(output: np.ndarray, answer: np.ndarray, objects: np.ndarray) -> float:
    outside = ~objects
    return float(np.abs(output[outside].astype(float) - answer[outside].astype(float)).mean() / 255)


def score_folder(outputs: Path, answers: Path, masks: Path | None = None) -> dict[str, float]:
    """Mean PSNR and SSIM of every answer's namesake in ``outputs`` (and the background error, given ``masks``)."""
    truth, found = read_folder(answers), read_folder(outputs)
    missing = sorted(set(truth) - set(found))
    if missing:
        raise FileNotFoundError(f"{outputs} lacks {len(missing)} of the {len(truth)} answers' names, e.g. {missing[0]}")
    figures = {
        "psnr": [psnr(found[n], a) for n, a in truth.items()],
        "ssim": [ssim(found[n], a) for n, a in truth.items()],
    }
    if masks is not None:
        objects = {p.name: np.asarray(Image.open(p).convert("L")) > 127 for p in sorted(Path(masks).glob("*.png"))}
        figures["background_error"] = [background_error(found[n], a, objects[n]) for n, a in truth.items()]
    return {key: float(np.mean(values)) for key, values in figures.items()}
