"""What ``translate fit`` prints: a short block when training starts, and, where output is not a terminal (a Docker
job, nohup, CI), a plain progress line every ``every_seconds`` instead of progress bars that rewrite themselves with a
carriage return after every batch (the quick start's log was 1.2 MB of them)."""

import logging
import time

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback, ProgressBar

from translate.data.spec import described_data
from translate.training.callbacks import SampleGrid

log = logging.getLogger(__name__)


class RunSummary(Callback):
    """Logs, once training starts: the model, each network's parameter count, the data per epoch, how long the run
    is, precision and devices, and where checkpoints, sample grids and logs go."""

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.is_global_zero:
            log.info("\n".join(summary_lines(trainer, pl_module)))


def _images_per_batch(data: object) -> str:
    """One domain's images per batch for each domain (translation), or the batch's images with their labels
    (attribute files, classes of a conditional noise model), or one folder's (an unconditional noise model)."""
    described = described_data(data)
    if described is None:
        return "as the data module makes them"
    spec = described.spec
    if not spec.domains:
        return str(spec.batch_size)
    if spec.labelled:
        return f"{spec.batch_size}, each with its label ({len(spec.domains)} labels)"
    return f"{spec.batch_size} per domain ({len(spec.domains)} domains)"


def summary_lines(trainer: Trainer, pl_module: LightningModule) -> list[str]:
    counts = [(name, sum(p.numel() for p in module.parameters())) for name, module in pl_module.named_children()]
    networks = ", ".join(f"{name} {count:,}" for name, count in counts if count)
    batches = trainer.num_training_batches
    data = trainer.datamodule
    per_batch = _images_per_batch(data)
    epochs = trainer.max_epochs if trainer.max_epochs not in (None, -1) else None
    length = f"{epochs} epochs = {epochs * batches:,} batches" if epochs is not None else "no epoch limit"
    if trainer.max_steps != -1:
        length = f"{trainer.max_steps:,} optimizer steps (max_steps), at most {length}"
    checkpoints = trainer.checkpoint_callback.dirpath if trainer.checkpoint_callback is not None else "not saved"
    processes = "1 process" if trainer.world_size == 1 else f"{trainer.world_size} processes"
    samples = next((c.folder(trainer) for c in trainer.callbacks if isinstance(c, SampleGrid)), "none")
    return [
        f"translate fit: {type(pl_module).__name__}",
        f"  networks     {networks} parameters",
        f"  data         {batches:,} batches an epoch, images per batch: {per_batch}",
        f"  length       {length}",
        f"  precision    {trainer.precision} on {trainer.strategy.root_device} ({processes})",
        f"  checkpoints  {checkpoints}",
        f"  samples      {samples}",
        f"  logs         {trainer.log_dir} ({', '.join(type(lg).__name__ for lg in trainer.loggers) or 'no logger'})",
    ]


class PlainProgress(ProgressBar):
    """A progress line every ``every_seconds`` (and at the end): epoch, batch, optimizer step, batches and images per
    second, time left, and the losses the model shows on the progress bar. One line each, no carriage returns."""

    def __init__(self, every_seconds: float = 30.0):
        super().__init__()
        self.every_seconds, self._enabled = every_seconds, True
        self._start = self._last = 0.0
        self._batches = self._images = 0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start = self._last = time.monotonic()
        self._batches = self._images = 0

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        self._batches += 1
        self._images += len(batch[0])
        now = time.monotonic()
        if self._enabled and trainer.is_global_zero and now - self._last >= self.every_seconds:
            self._last = now
            log.info(self._line(trainer, pl_module, batch_idx, now))

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._enabled and trainer.is_global_zero and self._batches:
            log.info(self._line(trainer, pl_module, trainer.fit_loop.epoch_loop.batch_idx, time.monotonic()))

    def _line(self, trainer: Trainer, pl_module: LightningModule, batch_idx: int, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self._batches / elapsed
        metrics = {k: v for k, v in self.get_metrics(trainer, pl_module).items() if k != "v_num"}
        losses = " ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
        limit = trainer.max_epochs if trainer.max_epochs not in (None, -1) else None
        epoch = trainer.current_epoch + 1 if limit is None else min(trainer.current_epoch + 1, limit)  # at the end too
        return (f"epoch {epoch}{'' if limit is None else f'/{limit}'} · batch {batch_idx + 1}/"
                f"{trainer.num_training_batches} · step {trainer.global_step:,} · {rate:.2f} batches/s · "
                f"{self._images / elapsed:.1f} img/s · {_eta(trainer, rate, self._batches)} · {losses}")  # fmt: skip


def _eta(trainer: Trainer, rate: float, batches_done: int) -> str:
    """Time left at ``rate`` batches per second, to whichever of max_epochs and max_steps comes first."""
    loop, left = trainer.fit_loop.epoch_loop, []
    if trainer.max_epochs not in (None, -1):
        left.append((trainer.max_epochs - trainer.current_epoch) * trainer.num_training_batches - loop.batch_idx - 1)
    if trainer.max_steps != -1 and batches_done:
        steps_per_batch = max(trainer.global_step, 1) / max(loop.total_batch_idx + 1, 1)
        left.append((trainer.max_steps - trainer.global_step) / steps_per_batch)
    if not left:
        return "no end set"
    seconds = max(0.0, min(left)) / max(rate, 1e-9)
    return f"ETA {int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
