"""SampleGrid writes visible progress images to disk and to the logger (the Dockerfile tests: tests/test_docker.py)."""

from functools import partial

import numpy as np
import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import WandbLogger
from PIL import Image

from translate.data import UnpairedDataModule
from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator
from translate.training.callbacks import SampleGrid


def _fit(tiny_domains, tmp_path, **trainer_kwargs) -> Trainer:
    model = CycleGAN(
        partial(ResnetGenerator, base_channels=4, num_blocks=1),
        partial(PatchDiscriminator, base_channels=4, num_layers=2),
    )
    data = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=2, num_workers=0)
    options = dict(max_epochs=2, limit_train_batches=1, limit_val_batches=0, enable_checkpointing=False, logger=False)
    trainer = Trainer(
        accelerator="cpu", default_root_dir=tmp_path, enable_progress_bar=False, **{**options, **trainer_kwargs}
    )
    trainer.fit(model, datamodule=data)
    return trainer


def test_sample_grid_writes_one_png_per_epoch_with_every_column(tiny_domains, tmp_path):
    _fit(tiny_domains, tmp_path, callbacks=[SampleGrid(num_images=2)])
    written = sorted(p.name for p in (tmp_path / "samples").glob("*.png"))
    assert written == ["epoch0000_step00000002.png", "epoch0001_step00000004.png", "start_step00000000.png"]
    grid = np.asarray(Image.open(tmp_path / "samples" / written[0]))
    # 2 rows x 6 columns (real A, A->B, A->B->A, real B, B->A, B->A->B) of 16 px tiles with 2 px padding
    assert grid.shape == (2 + 2 * 18, 2 + 6 * 18, 3)
    real_a_tile = grid[2:18, 2:18].astype(float)
    assert real_a_tile[..., 0].mean() > real_a_tile[..., 1].mean() + 50  # tiny_domains' A images are reddish


def test_sample_grid_reaches_wandb_as_visible_uint8(tiny_domains, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(project="test", save_dir=tmp_path, offline=True)
    _fit(tiny_domains, tmp_path, callbacks=[SampleGrid(num_images=2)], logger=logger, max_epochs=1)
    logger.experiment.finish()
    media = list(tmp_path.rglob("media/images/samples_*.png"))
    assert len(media) == 2  # start + epoch 0
    pixels = np.asarray(Image.open(media[0]))
    assert pixels.mean() > 40, "grid logged black: float images were cast to uint8 unscaled"


def test_sample_grid_rejects_bad_options():
    with pytest.raises(ValueError, match="num_images"):
        SampleGrid(num_images=0)


def test_images_per_second_is_logged(tiny_domains, tmp_path):
    from translate.training.callbacks import ImagesPerSecond

    trainer = _fit(tiny_domains, tmp_path, callbacks=[ImagesPerSecond(every_n_batches=1)], limit_train_batches=3)
    rate = trainer.callback_metrics["train/images_per_sec"].item()
    assert 0 < rate < 1e6
