"""SampleGrid writes visible progress images to disk and to the logger (the Dockerfile tests: tests/test_docker.py)."""

import numpy as np
import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import WandbLogger
from PIL import Image

from translate.training.callbacks import SampleGrid


@pytest.fixture
def fit_two_epochs(fit, tiny_cyclegan, tiny_data):
    """``fit_two_epochs(root, tmp_path, **trainer_kwargs)``: a tiny CycleGAN, two epochs of one batch, no validation."""

    def run(tiny_domains, tmp_path, **trainer_kwargs) -> Trainer:
        options = dict(max_epochs=2, limit_train_batches=1, limit_val_batches=0)
        return fit(tiny_cyclegan(), tiny_data(tiny_domains), tmp_path, **{**options, **trainer_kwargs})

    return run


def test_sample_grid_writes_one_png_per_epoch_with_every_column(fit_two_epochs, tiny_domains, tmp_path):
    fit_two_epochs(tiny_domains, tmp_path, callbacks=[SampleGrid(num_images=2)])
    written = sorted(p.name for p in (tmp_path / "samples").glob("*.png"))
    assert written == ["epoch0000_step00000002.png", "epoch0001_step00000004.png", "start_step00000000.png"]
    grid = np.asarray(Image.open(tmp_path / "samples" / written[0]))
    # 2 rows x 6 columns (real A, A->B, A->B->A, real B, B->A, B->A->B) of 16 px tiles with 2 px padding
    assert grid.shape == (2 + 2 * 18, 2 + 6 * 18, 3)
    real_a_tile = grid[2:18, 2:18].astype(float)
    assert real_a_tile[..., 0].mean() > real_a_tile[..., 1].mean() + 50  # tiny_domains' A images are reddish


def test_sample_grid_reaches_wandb_as_visible_uint8(fit_two_epochs, tiny_domains, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(project="test", save_dir=tmp_path, offline=True)
    fit_two_epochs(tiny_domains, tmp_path, callbacks=[SampleGrid(num_images=2)], logger=logger, max_epochs=1)
    logger.experiment.finish()
    media = list(tmp_path.rglob("media/images/samples_*.png"))
    assert len(media) == 2  # start + epoch 0
    pixels = np.asarray(Image.open(media[0]))
    assert pixels.mean() > 40, "grid logged black: float images were cast to uint8 unscaled"


def test_sample_grid_rejects_bad_options():
    with pytest.raises(ValueError, match="num_images"):
        SampleGrid(num_images=0)


def test_images_per_second_is_logged(fit_two_epochs, tiny_domains, tmp_path):
    from translate.training.callbacks import ImagesPerSecond

    trainer = fit_two_epochs(
        tiny_domains, tmp_path, callbacks=[ImagesPerSecond(every_n_batches=1)], limit_train_batches=3
    )
    rate = trainer.callback_metrics["train/images_per_sec"].item()
    assert 0 < rate < 1e6
