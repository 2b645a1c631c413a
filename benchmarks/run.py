"""Benchmarks: training step time, predict throughput, data-loading throughput, peak memory and FLOP/s.

    python -m benchmarks.run                                  # every model at its official configuration
    python -m benchmarks.run --models cyclegan --sizes 128 --steps 3 --json out.json
    python -m benchmarks.run --tiny --no-spawn ...            # quick-start networks in one process (smoke test)
    python -m benchmarks.run --models cyclegan cut fastcut --sizes 256 --batches 1   # CUT's step against CycleGAN's

Each model is built from its shipped config (CycleGAN configs/apple2orange.yaml, StarGAN configs/stargan_celeba.yaml,
TraVeLGAN configs/travelgan.yaml, the Siamese-discriminator TraVeLGAN configs/travelgan_siamese.yaml, CUT and FastCUT
configs/horse2zebra_cut.yaml and horse2zebra_fastcut.yaml; with ``--tiny`` the quick-start configs), trained through
Lightning's real loop on generated images. CycleGAN, CUT and FastCUT run at every ``--sizes`` x ``--batches``; the
others at their configs' crop and batch sizes (128 px, batch 16) unless ``--tiny``.
A StarGAN "step" is one batch averaged over a whole critic cycle (``n_critic`` batches, one of which also trains G),
as the official code reports an iteration.

Each case runs in its own process (spawned), so its peak RSS is its own. Warm-up steps are excluded and medians of
``--steps`` measurements are reported. Benchmark on a quiet machine: another job on the same cores slows runs 2-10x.
"""

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import platform
import queue as queue_module
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {  # model -> (official configuration, quick-start size for --tiny)
    "cyclegan": ("apple2orange.yaml", "quickstart_official.yaml"),
    "stargan": ("stargan_celeba.yaml", "stargan_quickstart.yaml"),
    "travelgan": ("travelgan.yaml", "travelgan_quickstart.yaml"),
    "travelgan_siamese": ("travelgan_siamese.yaml", "travelgan_siamese_quickstart.yaml"),
    "cut": ("horse2zebra_cut.yaml", "cut_quickstart.yaml"),
    "fastcut": ("horse2zebra_fastcut.yaml", "cut_quickstart.yaml"),
}
OVERRIDES = {"fastcut": ["--model.init_args.mode=fastcut"]}  # its quick-start size: the CUT quick start in FastCUT mode
# Models measured at every --sizes x --batches (one ResNet generator family: the same settings compare them); the
# others at their configs' own crop and batch size unless --tiny.
SWEPT = {"cyclegan", "cut", "fastcut"}
# The Siamese-discriminator TraVeLGAN's U-Net attends over all (H/4)^2 positions: its (H/4)^4 attention matrix is
# 17 GB at 1024 px, so predict is measured up to this size only.
MAX_PREDICT_SIZE = {"travelgan_siamese": 512}


CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_fp16")


def machine_info(threads: int | None = None) -> dict:
    """What a results file records about the machine: the CPU model and the flags that decide fp32 and bf16 speed
    (from /proc/cpuinfo), CPUs, torch threads and version, the GPU if any, and the load average (1, 5, 15 min)."""
    model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return {"cpu": model, "cpus": os.cpu_count(), "flags": {flag: flag in flags for flag in CPU_FLAGS},
            "threads": threads or torch.get_num_threads(), "torch": torch.__version__, "platform": platform.platform(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "load_average": os.getloadavg()}  # fmt: skip


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


def _write_images(folder: Path, count: int, size: int | tuple[int, int], seed: int = 0) -> list[str]:
    width, height = (size, size) if isinstance(size, int) else size
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(count):
        names.append(f"{i:05d}.jpg")
        pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / names[-1], quality=90)
    return names


class FlopCount(TorchDispatchMode):
    """Counts the FLOPs of every op that torch's flop registry knows (convolutions, matmuls), forward and backward.

    Not torch's FlopCounterMode: its per-module tracking hooks fail inside WGAN-GP's ``autograd.grad``.
    """

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += count(*args, **kwargs, out_val=out)
        return out


def build(model_name: str, tiny: bool, root: Path, overrides: list[str]):
    """(model, datamodule) from the model's shipped config, its data under ``root``, with CLI-style overrides."""
    from translate.data import ImageDataModule
    from translate.training.cli import TranslateCLI

    config = ROOT / "configs" / CONFIGS[model_name][1 if tiny else 0]
    args = ["--config", str(config), f"--data.source.root={root}", "--trainer.logger=false",
            *OVERRIDES.get(model_name, []), *overrides]  # fmt: skip
    if model_name != "stargan":  # its configs name their domains; _write_dataset needs the others' names before the
        args.insert(2, "--data.source.domains=[A, B]")  # images exist (it writes them once the config gives their size)
    elif not tiny:  # CelebA's attribute file: _write_dataset writes one here, every image for training
        args[2:2] = [f"--data.source.attr_file={root / 'list_attr.txt'}", "--data.source.val_count=0"]
    argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when it sees this script's own options too
    try:
        cli = TranslateCLI(model_class=None, datamodule_class=ImageDataModule, auto_configure_optimizers=False,
                           run=False, args=args, save_config_callback=None)  # fmt: skip
    finally:
        sys.argv = argv
    return cli.model, cli.datamodule


def _write_dataset(data, root: Path, count: int) -> None:
    """Random images where ``data`` looks for them: domain folders, or a CelebA-style attribute file (``build`` has
    pointed the source at ``root/list_attr.txt``)."""
    if data.source.yields == "labels":  # multi-label StarGAN: 178x218 like aligned CelebA, random +1/-1 attributes
        names = _write_images(root / "images", count, (178, 218))
        rng = np.random.default_rng(0)
        rows = [f"{name} " + " ".join(str(v) for v in rng.choice([-1, 1], len(data.domains))) for name in names]
        (root / "list_attr.txt").write_text("\n".join([str(count), " ".join(data.domains), *rows]) + "\n")
        return
    for i, domain in enumerate(data.domains):
        _write_images(root / "train" / domain, count, data.hparams.load_size, seed=i)


def _train_case(
    model_name: str,
    size: int | None,
    batch: int | None,
    steps: int,
    warmup: int,
    tiny: bool,
    precision: str,
    queue,
    *,
    overrides: list[str] = (),
):
    _loader_workers_fork()
    from lightning.pytorch import Callback, Trainer

    root = Path(tempfile.mkdtemp())
    overrides = ["--data.num_workers=1", *overrides]
    if size is not None:
        overrides += [f"--data.crop_size={size}", f"--data.load_size={int(size * 286 / 256)}"]
        if model_name == "stargan":
            overrides += [f"--model.init_args.image_size={size}", "--data.transforms=null"]
    if batch is not None:
        overrides.append(f"--data.batch_size={batch}")
    model, data = build(model_name, tiny, root, overrides)
    size, batch = data.hparams.crop_size, data.batch_size
    # images per batch: StarGAN's folder layout gives every domain batch_size images; the others count pairs
    images = batch * len(data.domains) if data.source.yields == "domains" and model_name == "stargan" else batch
    cycle = model.hparams.get("n_critic", 1)  # StarGAN trains G once every n_critic batches
    batches = (warmup + steps + 1) * cycle  # the last cycle is counted for FLOPs, not timed
    _write_dataset(data, root, batch * batches)

    class Timer(Callback):
        def __init__(self):
            self.times, self.start, self.counter = [], 0.0, FlopCount()

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == (warmup + steps) * cycle:
                self.counter.__enter__()
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.times.append(time.perf_counter() - self.start)
            if batch_idx == batches - 1:
                self.counter.__exit__(None, None, None)

    timer = Timer()
    trainer = Trainer(accelerator="auto", devices=1, max_epochs=1, precision=precision, limit_train_batches=batches,
                      logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      limit_val_batches=0, num_sanity_val_steps=0, callbacks=[timer])  # fmt: skip
    trainer.fit(model, datamodule=data)
    timed = timer.times[warmup * cycle : (warmup + steps) * cycle]
    step = statistics.median(sum(timed[i : i + cycle]) / cycle for i in range(0, len(timed), cycle))
    flops = timer.counter.total / cycle
    result = {"case": f"{model_name} train {size}px batch {batch}{SUFFIX[precision]}", "seconds_per_step": step,
              "images_per_sec": images / step, "gflop_per_step": flops / 1e9, "gflops": flops / step / 1e9,
              "peak_rss_mb": _peak_rss_mb(), "step_seconds": timed}  # fmt: skip
    if torch.cuda.is_available():
        result["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    queue.put(result)


def _predict_case(
    model_name: str,
    size: int,
    count: int,
    repeats: int,
    tiny: bool,
    precision: str,
    queue,
    *,
    overrides: list[str] = (),
) -> None:
    _loader_workers_fork()
    from translate.inference.predict import predict_folder

    root = Path(tempfile.mkdtemp())
    model, _ = build(model_name, tiny, root, list(overrides))
    model.eval().to("cuda" if torch.cuda.is_available() else "cpu")
    _write_images(root / "in", count, size)
    _write_images(root / "warm", 1, size)
    targets = [model.domains[0]] if model_name == "stargan" else None
    options = {"targets": targets, "batch_size": 1, "num_workers": 1, "progress": False,
               "precision": {"32-true": "32", "bf16-mixed": "bf16", "16-mixed": "16"}[precision]}  # fmt: skip
    predict_folder(model, root / "warm", root / "warm_out", **options)  # warm-up: first-call allocations
    times = []
    for repeat in range(repeats):
        start = time.perf_counter()
        predict_folder(model, root / "in", root / f"out{repeat}", **options)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    result = {"case": f"{model_name} predict {size}px batch 1{SUFFIX[precision]}", "images_per_sec": count / seconds,
              "seconds_per_image": seconds / count, "peak_rss_mb": _peak_rss_mb()}  # fmt: skip
    if torch.cuda.is_available():
        result["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    queue.put(result)


SUFFIX = {"32-true": "", "bf16-mixed": " bf16", "16-mixed": " fp16"}


def _data_case(size: int, count: int, workers: int, queue) -> None:
    _loader_workers_fork()
    from translate.data import ImageDataModule
    from translate.data.sources import DomainFolders

    root = Path(tempfile.mkdtemp())
    for domain in "AB":
        _write_images(root / f"train{domain}", count, int(size * 286 / 256), seed=ord(domain))
    data = ImageDataModule(DomainFolders(root), load_size=int(size * 286 / 256), crop_size=size, batch_size=1,
                           num_workers=workers)  # fmt: skip
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


def _run(spawn: bool, target, *args) -> dict:
    if not spawn:  # in this process (smoke tests): quicker, but peak RSS is the process's so far
        queue = queue_module.SimpleQueue()
        target(*args, queue)
        return queue.get()
    context = mp.get_context("spawn")  # a fresh process per case: its own peak RSS, no state from earlier cases
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="CycleGAN, CUT and FastCUT crop sizes")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4], help="CycleGAN, CUT and FastCUT batch sizes")
    parser.add_argument("--steps", type=int, default=5, help="measured training steps per case (after warm-up)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--predict-images", type=int, default=16, help="images at 256 px (fewer for larger ones)")
    parser.add_argument("--predict-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--predict-repeats", type=int, default=3)
    parser.add_argument("--data-sizes", type=int, nargs="*", default=[128, 256], help="data pipeline alone")
    parser.add_argument("--precision", choices=list(SUFFIX), default="32-true", help="training and predict precision")
    parser.add_argument("--tiny", action="store_true", help="quick-start networks, all models at --sizes/--batches")
    parser.add_argument("--no-spawn", dest="spawn", action="store_false", help="run every case in this process")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args(argv)

    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by torch in every spawned case
        torch.set_num_threads(args.threads)
    machine = machine_info(args.threads)
    ceiling = matmul_ceiling()
    run = lambda target, *case: _run(args.spawn, target, *case)  # noqa: E731
    rows = [run(_data_case, size, 64, workers) for size in args.data_sizes for workers in (0, 2)]
    for name in args.models:
        if name in SWEPT or args.tiny:
            plan = [(size, batch) for size in args.sizes for batch in args.batches]
        else:
            plan = [(None, None)]  # the config's own (official) crop and batch size
        rows += [
            run(_train_case, name, size, batch, args.steps, args.warmup, args.tiny, args.precision)
            for size, batch in plan
        ]
        for size in args.predict_sizes:
            if size > MAX_PREDICT_SIZE.get(name, size):
                print(f"{name} predict {size}px skipped: above {MAX_PREDICT_SIZE[name]} px (self-attention memory)")
                continue
            count = max(2, round(args.predict_images * (256 / size) ** 2))  # about the same pixels per size
            rows.append(run(_predict_case, name, size, count, args.predict_repeats, args.tiny, args.precision))
    for row in rows:
        if "gflops" in row:
            row["fraction_of_matmul_ceiling"] = row["gflops"] / ceiling
    print(f"machine: {machine}\nfp32 matmul ceiling: {ceiling:.1f} GFLOP/s")
    print(f"{'case':<38}{'s/step':>9}{'img/s':>9}{'GFLOP/s':>9}{'of peak':>9}{'RSS MB':>9}")
    nan = float("nan")
    for row in rows:
        step, flops, share = row.get("seconds_per_step"), row.get("gflops"), row.get("fraction_of_matmul_ceiling")
        print(
            f"{row['case']:<38}{step or nan:>9.3f}{row['images_per_sec']:>9.2f}{flops or nan:>9.1f}"
            f"{share or nan:>9.0%}{row['peak_rss_mb']:>9.0f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    machine["load_average_after"] = os.getloadavg()
    args.json.write_text(json.dumps({"machine": machine, "matmul_gflops": ceiling, "results": rows}, indent=2))
    print(f"wrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
