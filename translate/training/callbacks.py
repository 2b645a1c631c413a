"""Training callbacks: sample grids that show progress without any logging service running, reproducible steps."""

import logging
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor
from torchvision.utils import make_grid

from translate.data.image_writer import write_image
from translate.data.images import to_uint8
from translate.data.spec import described_data
from translate.models.contract import sample_source

log = logging.getLogger(__name__)


class SampleGrid(Callback):
    """Every ``every_n_epochs``, translate the same ``num_images`` un-augmented images and save a grid PNG.

    One row per image; the columns are what the model's ``sample_columns(batch)`` returns (for CycleGAN: real A,
    A -> B, back to A, real B, B -> A, back to B). The PNG goes to ``dirpath`` (default ``<default_root_dir>/samples``)
    and, when the logger is wandb or TensorBoard, to the logger too.

    Args:
        num_images: Images per domain, taken from the validation folders (or the training folders when there are none).
        every_n_epochs: Interval in epochs; the grid is also written once before training starts as a baseline.
    """

    def __init__(self, num_images: int = 4, every_n_epochs: int = 1, dirpath: str | None = None):
        if num_images < 1 or every_n_epochs < 1:
            raise ValueError(f"num_images and every_n_epochs must be >= 1, got {num_images}, {every_n_epochs}")
        self.num_images, self.every_n_epochs, self.dirpath = num_images, every_n_epochs, dirpath
        self._batch: tuple[Tensor, ...] | None = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        datamodule = described_data(trainer.datamodule)
        if datamodule is None or sample_source(pl_module) is None:
            log.warning("SampleGrid: the datamodule has no sample_batch() or the model no sample_columns(); disabled")
            return
        self._batch = tuple(datamodule.sample_batch(self.num_images))
        self._write(trainer, pl_module, name="start")

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._batch is not None and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._write(trainer, pl_module, name=f"epoch{trainer.current_epoch:04d}")

    @rank_zero_only
    def _write(self, trainer: Trainer, pl_module: LightningModule, name: str) -> None:
        was_training = pl_module.training
        pl_module.eval()  # batch norm uses running stats, dropout off: the grid shows what predict would produce
        # Under 64-true and bf16-true the weights are fp64 or bf16: the images, and the noise a noise model draws,
        # must be too (the precision's default dtype); the mixed precisions leave both, and the grid, in fp32
        precision = trainer.precision_plugin
        batch = precision.convert_input(tuple(images.to(pl_module.device) for images in self._batch))
        with precision.tensor_init_context():
            columns = [column.float() for column in pl_module.sample_columns(batch).values()]  # each (N, C, H, W)
        pl_module.train(was_training)
        grid = make_grid(to_uint8(torch.stack(columns, dim=1).flatten(0, 1)).cpu(), nrow=len(columns), padding=2)
        write_image(grid, self.folder(trainer) / f"{name}_step{trainer.global_step:08d}.png")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [grid.permute(1, 2, 0).numpy()], step=trainer.global_step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, global_step=trainer.global_step)

    def folder(self, trainer: Trainer) -> Path:
        """Where the grids go."""
        if self.dirpath is not None:
            return Path(self.dirpath)
        return Path(trainer.default_root_dir) / "samples"


class StepSeed(Callback):
    """Seed torch's generators at every training batch from (seed, global step, rank).

    The random draws inside a step (image pool swaps, gradient-penalty mixing, dropout) then depend on the step alone,
    not on what ran before it (validation, loader start-up, a restart), which makes a resumed run continue bit-exact.
    Ranks get different streams. ``seed`` defaults to the one ``seed_everything`` set (0 when none).
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, batch_idx: int) -> None:
        base = self.seed if self.seed is not None else int(os.environ.get("PL_GLOBAL_SEED", 0))
        torch.manual_seed(((base * 1_000_003 + trainer.global_step) * 1_009 + trainer.global_rank) % 2**63)


def checkpoint_dir(trainer: Trainer) -> Path:
    """Where the run's ModelCheckpoint writes (Lightning's default when there is none)."""
    callback = next((c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)), None)
    if callback is not None and callback.dirpath is not None:
        return Path(callback.dirpath)
    return Path(trainer.default_root_dir) / "checkpoints"


class SaveOnInterrupt(Callback):
    """On SIGTERM (a preempted or cancelled job) or a first Ctrl+C, finish the batch, write ``last.ckpt``, stop.

    Lightning turns SIGTERM into ``SIGTERMException`` after the current batch; a first Ctrl+C is routed the same way
    (a second one stops at once). ``translate fit ... --ckpt_path <that last.ckpt>`` then continues bit-exact.
    ``translate fit`` writes checkpoints atomically (translate.training.checkpoint_io): a kill mid-write keeps the
    previous one.
    """

    def __init__(self):
        self._installed, self._previous_sigint = False, None

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Not on_fit_start: Lightning snapshots every handler after it and restores that snapshot at teardown.
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return  # started with Ctrl+C ignored (nohup, a background job): keep it that way

        def first_ctrl_c(signum, frame) -> None:
            rank_zero_info("\nCtrl+C: finishing this batch and saving last.ckpt (press Ctrl+C again to stop now)")
            trainer._signal_connector.received_sigterm = True  # Lightning's own graceful-stop flag
            signal.signal(signal.SIGINT, signal.default_int_handler)

        self._previous_sigint = signal.signal(signal.SIGINT, first_ctrl_c)
        self._installed = True

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._restore()

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self._restore()
        if isinstance(exception, SIGTERMException) and not trainer.sanity_checking:
            path = checkpoint_dir(trainer) / "last.ckpt"
            trainer.save_checkpoint(path)
            rank_zero_info(f"interrupted at step {trainer.global_step}: saved {path}; resume with --ckpt_path {path}")

    def _restore(self) -> None:
        if self._installed:  # the previous handler may be None (installed outside Python): restore it anyway
            signal.signal(signal.SIGINT, self._previous_sigint or signal.SIG_DFL)
            self._installed = False


class StopOnNonFinite(Callback):
    """Stop training at the first NaN or infinite logged training loss, naming the term and the step.

    The checkpoints written so far stay as they are (nothing is saved after the bad step). Checks every
    ``every_n_steps`` batches. On a GPU the check does not wait for the device: the verdict is copied to the host in
    the background and read at a later batch once the GPU has got there, and always before a checkpoint is written
    and when training ends, so a bad step still never reaches a checkpoint.
    """

    def __init__(self, every_n_steps: int = 1):
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self._pending: list[tuple[Tensor, Tensor, Any, list[str], str]] = []  # values, finite, event, names, where

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if batch_idx % self.every_n_steps == 0:
            terms = _logged_training_values(trainer)
            if terms:
                values = torch.stack([v.detach().float().reshape(()) for v in terms.values()])
                finite, event = torch.isfinite(values).all(), None
                if values.is_cuda:  # a pinned copy in the background, and an event that says when it has landed
                    finite = finite.to("cpu", non_blocking=True)
                    event = torch.cuda.Event()
                    event.record()
                where = f"step {trainer.global_step} (epoch {trainer.current_epoch}, batch {batch_idx})"
                self._pending.append((values, finite, event, list(terms), where))
        self._check(trainer, wait=False)

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        self._check(trainer, wait=True)  # raising here keeps the bad step's weights out of the file

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._check(trainer, wait=True)

    def _check(self, trainer: Trainer, wait: bool) -> None:
        while self._pending:
            values, finite, event, names, where = self._pending[0]
            if event is not None and not wait and not event.query():
                return  # the GPU has not reached that step yet: look again at the next batch
            if event is not None:
                event.synchronize()
            self._pending.pop(0)
            if bool(finite):
                continue
            self._pending.clear()
            name, value = next((n, v) for n, v in zip(names, values.tolist(), strict=True) if not math.isfinite(v))
            raise FloatingPointError(
                f"{name} = {value} at {where}; training stopped, the checkpoints in {checkpoint_dir(trainer)} are "
                "from before it. Try a lower learning rate, 32-true precision, or gradient clipping"
            )


def _logged_training_values(trainer: Trainer) -> dict[str, Tensor]:
    """This batch's logged ``train/`` tensors, as they are on the device.

    ``trainer.callback_metrics`` would do, but it also turns the progress-bar values into Python floats, which waits
    for the GPU every batch; Lightning's result collection behind it (private, hence the fallback) holds the tensors.
    """
    results = getattr(trainer, "_results", None)
    if results is None or not hasattr(results, "valid_items"):
        metrics = trainer.callback_metrics
        return {k: v for k, v in metrics.items() if k.startswith("train/") and torch.is_tensor(v)}
    values = {}
    for _, metric in results.valid_items():
        value = getattr(metric, "_forward_cache", None)
        if metric.meta.name.startswith("train/") and metric.meta.on_step and torch.is_tensor(value):
            values[metric.meta.name] = value
    return values


class ImagesPerSecond(Callback):
    """Log training throughput, ``train/images_per_sec`` (images of one domain per second, this process), every
    ``every_n_batches`` batches; the first window of each epoch (loader start-up) is left out."""

    def __init__(self, every_n_batches: int = 50):
        if every_n_batches < 1:
            raise ValueError(f"every_n_batches must be >= 1, got {every_n_batches}")
        self.every_n_batches = every_n_batches
        self._start: float | None = None
        self._images = 0

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start, self._images = None, 0

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self._start is None:  # time from the end of the first batch: excludes start-up and warm-up
            self._start, self._images = time.perf_counter(), 0
            return
        self._images += len(batch[0])
        if self._images and batch_idx % self.every_n_batches == 0:
            rate = self._images / (time.perf_counter() - self._start)
            pl_module.log("train/images_per_sec", rate, on_step=True, on_epoch=False, batch_size=1)
