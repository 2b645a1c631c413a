"""Benchmarks: training step time, predict throughput, data-loading throughput, peak memory and FLOP/s.

    python -m benchmarks.run                       # CycleGAN, official networks, 128 and 256 px
    python -m benchmarks.run --sizes 128 --steps 3 --json out.json

Each case runs in its own process (spawned), so its peak RSS is its own. Warm-up steps are excluded and medians of
``--steps`` measurements are reported. Benchmark on a quiet machine: another job on the same cores slows runs 2-10x.
"""

import argparse
import json
import multiprocessing as mp
import platform
import resource
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def _loader_workers_fork() -> None:
    # A spawned process defaults to spawning its DataLoader workers too, which re-imports torch per worker (~5 s
    # measured per predict call); users' processes fork them on Linux, so the cases do the same.
    if platform.system() == "Linux":
        mp.set_start_method("fork", force=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def matmul_ceiling(size: int = 2048, repeats: int = 5) -> float:
    """Measured fp32 matrix-multiply GFLOP/s on this machine (the ceiling the FLOP/s figures are compared to)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def _write_images(folder: Path, count: int, size: int, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:05d}.jpg", quality=90)


def _cyclegan():
    from translate.models import CycleGAN
    from translate.networks import PatchDiscriminator, ResnetGenerator

    return CycleGAN(partial(ResnetGenerator, num_blocks=9), partial(PatchDiscriminator, num_layers=3))


def _train_case(size: int, batch: int, steps: int, warmup: int, threads: int | None, queue) -> None:
    _loader_workers_fork()
    from lightning.pytorch import Callback, Trainer
    from torch.utils.flop_counter import FlopCounterMode

    from translate.data import UnpairedDataModule

    if threads:
        torch.set_num_threads(threads)
    root = Path(tempfile.mkdtemp())
    for domain in "AB":
        _write_images(root / f"train{domain}", batch * (steps + warmup), int(size * 286 / 256), seed=ord(domain))

    class Timer(Callback):
        def __init__(self):
            self.times, self.start = [], 0.0

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.times.append(time.perf_counter() - self.start)

    model, timer = _cyclegan(), Timer()
    data = UnpairedDataModule(root, load_size=int(size * 286 / 256), crop_size=size, batch_size=batch, num_workers=1)
    trainer = Trainer(accelerator="auto", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, callbacks=[timer])  # fmt: skip
    trainer.fit(model, datamodule=data)
    step = statistics.median(timer.times[warmup:])
    x = torch.randn(batch, 3, size, size, device=model.device)
    with FlopCounterMode(display=False) as counter:  # one step's arithmetic: 2 G fwd/bwd chains + 2 D, as trained
        fake_b, fake_a = model.gen_ab(x), model.gen_ba(x)
        loss = (model.gen_ba(fake_b) + model.gen_ab(fake_a) + model.gen_ab(x) + model.gen_ba(x)).mean()
        loss = loss + model.disc_b(fake_b).mean() + model.disc_a(fake_a).mean()
        loss.backward()
        (model.disc_a(x).mean() + model.disc_a(fake_a.detach()).mean()).backward()
        (model.disc_b(x).mean() + model.disc_b(fake_b.detach()).mean()).backward()
    flops = counter.get_total_flops()
    result = {"case": f"train {size}px batch {batch}", "seconds_per_step": step, "images_per_sec": batch / step,
              "gflop_per_step": flops / 1e9, "gflops": flops / step / 1e9, "peak_rss_mb": _peak_rss_mb()}  # fmt: skip
    if torch.cuda.is_available():
        result["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    queue.put(result)


def _predict_case(size: int, count: int, batch: int, threads: int | None, queue) -> None:
    _loader_workers_fork()
    from translate.predict import predict_folder

    if threads:
        torch.set_num_threads(threads)
    root = Path(tempfile.mkdtemp())
    _write_images(root / "in", count, size)
    model = _cyclegan().eval()
    if torch.cuda.is_available():
        model = model.cuda()
    predict_folder(model, root / "in", root / "warm", batch_size=batch, progress=False)  # warm-up pass
    times = []
    for repeat in range(3):
        start = time.perf_counter()
        predict_folder(model, root / "in", root / f"out{repeat}", batch_size=batch, num_workers=1, progress=False)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    queue.put({"case": f"predict {size}px batch {batch}", "images_per_sec": count / seconds,
               "seconds_per_image": seconds / count, "peak_rss_mb": _peak_rss_mb()})  # fmt: skip


def _data_case(size: int, count: int, workers: int, queue) -> None:
    _loader_workers_fork()
    from translate.data import UnpairedDataModule

    root = Path(tempfile.mkdtemp())
    for domain in "AB":
        _write_images(root / f"train{domain}", count, int(size * 286 / 256), seed=ord(domain))
    data = UnpairedDataModule(root, load_size=int(size * 286 / 256), crop_size=size, batch_size=1, num_workers=workers)
    data.setup("fit")
    loader = data.train_dataloader()
    for _ in loader:  # warm-up epoch: workers start, page cache fills
        pass
    start = time.perf_counter()
    for _ in loader:
        pass
    seconds = time.perf_counter() - start
    queue.put({"case": f"data {size}px workers {workers}", "images_per_sec": 2 * count / seconds,
               "peak_rss_mb": _peak_rss_mb()})  # fmt: skip


def _run(target, *args) -> dict:
    context = mp.get_context("spawn")  # a fresh process per case: its own peak RSS, no state from earlier cases
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--steps", type=int, default=5, help="measured training steps per case (after warm-up)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--predict-images", type=int, default=16)
    parser.add_argument("--predict-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args(argv)

    machine = {"platform": platform.platform(), "processor": platform.processor(), "cpus": mp.cpu_count(),
               "torch": torch.__version__, "threads": args.threads or torch.get_num_threads(),
               "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}  # fmt: skip
    ceiling = matmul_ceiling()
    rows = [_run(_data_case, size, 64, workers) for size in args.sizes for workers in (0, 2)]
    rows += [_run(_train_case, size, batch, args.steps, args.warmup, args.threads)
             for size in args.sizes for batch in args.batches]  # fmt: skip
    rows += [_run(_predict_case, size, args.predict_images, 1, args.threads) for size in args.predict_sizes]
    for row in rows:
        if "gflops" in row:
            row["fraction_of_matmul_ceiling"] = row["gflops"] / ceiling
    print(f"machine: {machine}\nfp32 matmul ceiling: {ceiling:.1f} GFLOP/s")
    print(f"{'case':<28}{'s/step':>9}{'img/s':>9}{'GFLOP/s':>9}{'of peak':>9}{'RSS MB':>9}")
    for row in rows:
        step, flops = row.get("seconds_per_step"), row.get("gflops")
        nan = float("nan")
        share = row.get("fraction_of_matmul_ceiling", nan)
        print(
            f"{row['case']:<28}{step or nan:>9.3f}{row['images_per_sec']:>9.2f}{flops or nan:>9.1f}{share:>9.0%}"
            f"{row['peak_rss_mb']:>9.0f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "matmul_gflops": ceiling, "results": rows}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
