"""The GPU check's speed part: CycleGAN training steps per second (ours and, given a checkout, the official code's),
cuDNN benchmark and channels_last on and off, predict throughput, peak GPU memory (run by benchmarks/gpu_check.py).

A case times ``--steps`` batches after ``--warmup`` through Lightning's own loop, data loading included, with the
device synchronised at both ends only (a synchronisation per step would hide the host's lead over the GPU).
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from lightning.pytorch import Callback, Trainer

from benchmarks.gpu_check import failure
from benchmarks.run import _write_dataset, _write_images, build
from tests.gpu.fit_checks import PRECISIONS, set_tf32
from translate.training.gpu_speed import GpuSpeedUps

ROOT = Path(__file__).resolve().parent.parent
# The order of the timings: the issue's targets are bf16-mixed and the official code's fp32 at batch 1.
PRIORITY = ["bf16-mixed", "fp32", "16-mixed", "tf32"]
PREDICT_PRECISION = {"fp32": "32", "tf32": "32", "bf16-mixed": "bf16", "16-mixed": "16"}


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def peak_mb(device: str) -> int:
    """Peak GPU memory since the last reset, or this process's peak RSS on the CPU (MiB)."""
    if device.startswith("cuda"):
        return round(torch.cuda.max_memory_allocated(device) / 2**20)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


class WindowTimer(Callback):
    """Seconds from the start of batch ``first`` to the end of batch ``last``, the device synchronised at both."""

    def __init__(self, device: str, first: int, last: int):
        self.device, self.first, self.last = device, first, last
        self.start = self.seconds = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if batch_idx == self.first:
            synchronize(self.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if batch_idx == self.last:
            synchronize(self.device)
            self.seconds = time.perf_counter() - self.start


def time_training(args, precision: str, batch: int, root: Path, *, benchmark: bool = True, channels_last=False):
    """Steps/s of our CycleGAN (configs/apple2orange.yaml; --tiny: configs/quickstart_official.yaml) at
    ``args.size``."""
    lightning_precision, tf32 = PRECISIONS[precision]
    set_tf32(tf32)
    torch.backends.cudnn.benchmark = False  # GpuSpeedUps turns it on when asked; a previous case may have
    size, workers = args.size, 0 if args.tiny else 6
    overrides = [f"--data.crop_size={size}", f"--data.load_size={round(size * 286 / 256)}",
                 f"--data.batch_size={batch}", f"--data.num_workers={workers}"]  # fmt: skip
    model, data = build("cyclegan", args.tiny, root, overrides)
    batches = args.warmup + args.steps
    _write_dataset(data, root, batch * batches)
    timer = WindowTimer(args.device, args.warmup, batches - 1)
    speed_ups = GpuSpeedUps(cudnn_benchmark=benchmark, channels_last=channels_last)
    accelerator, _, index = args.device.partition(":")
    trainer = Trainer(
        accelerator=accelerator, devices=[int(index or 0)] if accelerator == "cuda" else 1,
        precision=lightning_precision, max_epochs=1, limit_train_batches=batches, limit_val_batches=0,
        num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[speed_ups, timer],
    )  # fmt: skip
    reset_peak(args.device)
    trainer.fit(model, datamodule=data)
    steps_per_s = args.steps / timer.seconds
    return {"steps_per_s": steps_per_s, "pairs_per_s": steps_per_s * batch, "peak_mb": peak_mb(args.device)}


def time_official(args, precision: str, batch: int) -> dict:
    """The official code's step (set_input + optimize_parameters) in its own process: benchmarks/gpu_official.py."""
    command = [sys.executable, "-m", "benchmarks.gpu_official", str(args.official), "--device", args.device,
               "--size", str(args.size), "--batch", str(batch), "--steps", str(args.steps), "--warmup",
               str(args.warmup), "--tf32" if PRECISIONS[precision][1] else "--no-tf32"]  # fmt: skip
    if args.tiny:
        command.append("--tiny")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_predict(args, precision: str, batch: int, root: Path) -> dict:
    """Images/s of ``predict_folder`` (decode, translate, encode) with the trained model's architecture."""
    from translate.inference.predict import predict_folder

    set_tf32(PRECISIONS[precision][1])
    model, _ = build("cyclegan", args.tiny, root, [])
    model.eval().to(args.device)
    _write_images(root / "in", args.predict_images, args.size)
    _write_images(root / "warm", batch, args.size)
    options = {"batch_size": batch, "num_workers": 0 if args.tiny else 4, "progress": False,
               "precision": PREDICT_PRECISION[precision]}  # fmt: skip
    predict_folder(model, root / "warm", root / "warm_out", **options)  # cuDNN and allocator warm-up
    reset_peak(args.device)
    synchronize(args.device)
    start = time.perf_counter()
    predict_folder(model, root / "in", root / "out", **options)
    synchronize(args.device)
    return {"images_per_s": args.predict_images / (time.perf_counter() - start), "peak_mb": peak_mb(args.device)}


def _measure_case(rows: list[dict], case: str, measure, deadline: float | None = None, **fields) -> None:
    row = {"case": case, "part": "speed", **fields}
    if deadline is not None and time.perf_counter() > deadline:
        rows.append({**row, "skipped": "time budget spent (--budget-s)"})
        return
    try:
        row.update(measure())
    except Exception as error:  # a case that cannot run (memory, a missing package) is reported; the rest go on
        row["error"] = failure(error)
    print(f"{case}: {row}", flush=True)
    rows.append(row)


def run(args, work: Path, deadline: float | None = None) -> list[dict]:
    """Every timing case; one that would start after ``deadline`` (a ``time.perf_counter()`` value) is skipped."""
    rows: list[dict] = []
    _case = partial(_measure_case, deadline=deadline)
    work.mkdir(parents=True, exist_ok=True)
    px = f"{args.size} px"
    precisions = sorted(args.precisions, key=PRIORITY.index)  # the issue's targets first, should the budget run out
    for precision in precisions:
        for batch in args.batches:
            fields = {"precision": precision, "batch": batch, "size": args.size}
            root = Path(tempfile.mkdtemp(dir=work))
            _case(rows, f"cyclegan train {px} batch {batch} {precision}",
                  partial(time_training, args, precision, batch, root), code="ours", **fields)  # fmt: skip
            if args.official is not None and PRECISIONS[precision][0] == "32-true":  # no mixed precision there
                _case(rows, f"official train {px} batch {batch} {precision}",
                      partial(time_official, args, precision, batch), code="official", **fields)  # fmt: skip
    # The speed options against the defaults (cuDNN benchmark on, channels_last off: the grid above), at the
    # largest batch in the first precision (bf16-mixed by default).
    precision, batch = precisions[0], max(args.batches)
    for benchmark, channels_last in ((False, False), (True, True)):
        name = f"cudnn.benchmark {'on' if benchmark else 'off'}, channels_last {'on' if channels_last else 'off'}"
        measure = partial(time_training, args, precision, batch, Path(tempfile.mkdtemp(dir=work)),
                          benchmark=benchmark, channels_last=channels_last)  # fmt: skip
        _case(rows, f"cyclegan train {px} batch {batch} {precision}, {name}", measure, code="ours",
              precision=precision, batch=batch, size=args.size, cudnn_benchmark=benchmark,
              channels_last=channels_last)  # fmt: skip
    for precision in precisions:
        for batch in sorted({1, max(args.batches)}):
            _case(rows, f"cyclegan predict {px} batch {batch} {precision}",
                  partial(time_predict, args, precision, batch, Path(tempfile.mkdtemp(dir=work))), code="ours",
                  precision=precision, batch=batch, size=args.size)  # fmt: skip
    set_tf32(False)
    return rows
