"""Training callbacks: SampleGrid writes visible progress images to disk and to the logger, ImagesPerSecond is logged,
SIGTERM / Ctrl+C save last.ckpt and the run resumes exactly (SaveOnInterrupt), a non-finite loss stops with its term
and step (StopOnNonFinite).
"""

import os
import signal
from functools import partial

import numpy as np
import pytest
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger
from PIL import Image

from translate.training.callbacks import SampleGrid, SaveOnInterrupt, StopOnNonFinite


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


# --- never lose work --------------------------------------------------------------------------------------------------


class _SignalAt(Callback):
    """Sends ``signum`` to this process at the start of batch ``batch`` (counted over the whole run)."""

    def __init__(self, signum: int, batch: int):
        self.signum, self.batch, self.seen = signum, batch, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.seen == self.batch:
            os.kill(os.getpid(), self.signum)
        self.seen += 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_saves_last_checkpoint_and_resume_is_exact(
    signum, resumable_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path
):
    # A shell starts background jobs (CI may run us as one) with Ctrl+C ignored, which SaveOnInterrupt respects:
    # give this test the interactive default so that the SIGINT case means the same everywhere.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_run(
            signum, resumable_cyclegan, seeded_trainer, partial(tiny_data, tiny_domains, load_size=20), tmp_path
        )
    finally:
        signal.signal(signal.SIGINT, outer)


def test_ignored_ctrl_c_stays_ignored(seeded_trainer, resumable_cyclegan, tiny_data, tiny_domains, tmp_path):
    outer = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        seen = []

        class _Look(Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                seen.append(signal.getsignal(signal.SIGINT))

        trainer = seeded_trainer(tmp_path / "run", max_epochs=1, callbacks=[SaveOnInterrupt(), _Look()])
        trainer.fit(resumable_cyclegan(), datamodule=tiny_data(tiny_domains, load_size=20))
        assert seen and all(handler is signal.SIG_IGN for handler in seen)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, outer)


def _signal_run(signum, build, make_trainer, data, tmp_path):
    reference = build()
    make_trainer(tmp_path / "ref", max_epochs=2, enable_checkpointing=False).fit(reference, datamodule=data())

    interrupted = build()
    callbacks = [ModelCheckpoint(dirpath=tmp_path / "ckpt"), SaveOnInterrupt(), _SignalAt(signum, batch=4)]
    trainer = make_trainer(tmp_path / "run", max_epochs=2, callbacks=callbacks)
    with pytest.raises(SystemExit):  # Lightning's SIGTERMException: a clean exit after the batch
        trainer.fit(interrupted, datamodule=data())
    assert trainer.global_step == 2 * 5  # the batch during which the signal came was finished
    last = tmp_path / "ckpt" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] == 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # our handler is gone again

    resumed = build()
    trainer = make_trainer(tmp_path / "resumed", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=data(), ckpt_path=last, weights_only=False)
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"


class _PoisonAt(Callback):
    def __init__(self, batch: int):
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == 2 * self.batch:
            with torch.no_grad():
                pl_module.gen_ab.model[1].weight.fill_(float("nan"))


def test_non_finite_loss_stops_with_the_term_and_step(
    resumable_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path
):
    model = resumable_cyclegan()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=2)
    trainer = seeded_trainer(tmp_path, max_epochs=3, callbacks=[checkpoint, StopOnNonFinite(), _PoisonAt(batch=4)])
    with pytest.raises(FloatingPointError, match=r"train/g/\w+ = nan at step 10 \(epoch 1, batch 1\)"):
        trainer.fit(model, datamodule=tiny_data(tiny_domains, load_size=20))
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 8  # written after batch 4, the last good one
    assert all(torch.isfinite(tensor).all() for tensor in saved["state_dict"].values())


def test_stop_on_non_finite_rejects_bad_interval():
    with pytest.raises(ValueError, match="every_n_steps"):
        StopOnNonFinite(every_n_steps=0)
