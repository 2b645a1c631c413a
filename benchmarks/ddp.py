"""What data parallelism costs per step: StepSyncDDPStrategy, Lightning's DDP with the unused-parameter search, and one
DistributedDataParallel per network (the way mmagic trains GANs).

    python -m benchmarks.ddp                          # about 3 minutes on 2 quiet CPU cores
    python -m benchmarks.ddp --batches 40 --rounds 5 --json ddp.json

A quick-start CycleGAN (ResnetGenerator 16 base channels, 3 blocks; PatchGAN 16 channels, 3 layers; 64 px crops of
72 px images, batch 1 per process) trains for ``--batches`` batches (each one G step and one D step) in four set-ups,
each in fresh processes: one process; two gloo processes with ``StepSyncDDPStrategy`` (what ``--trainer.strategy
ddp`` gives); two gloo processes with ``ddp_find_unused_parameters_true``; two gloo processes with each network in
its own DistributedDataParallel (``PerNetworkDDPStrategy`` below: buckets all-reduced while backward runs, as DDP
does, and no graph search, since each wrapper sees only its own network). Every process runs ``--threads`` torch
threads, so two processes use twice the cores of one. The set-ups take turns for ``--rounds`` rounds, so that a change
in the machine's load hits them alike. Reported: the median over rounds of each round's median seconds between
consecutive batch ends on rank 0 after ``--warmup`` batches (data loading included; the collectives keep the ranks in
step), images/s over all ranks, the share of a 2-process batch beyond one process's time ((2-process time -
1-process time) / 2-process time: communication and waiting for the other rank, the same measure for every set-up),
and for StepSyncDDPStrategy the time its gradient averaging takes per batch (two optimizer steps; DDP hides its
communication inside backward, where it cannot be timed apart).
Benchmark on a quiet machine: another job on the same cores slows runs 2-10x; compare ratios from one run.
"""

import argparse
import itertools
import json
import os
import socket
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

SETUPS = {  # name: (processes, strategy)
    "1 process": (1, None),
    "2 processes, StepSyncDDPStrategy (ddp)": (2, "step_sync"),
    "2 processes, ddp_find_unused_parameters_true": (2, "find_unused"),
    "2 processes, one DistributedDataParallel per network": (2, "per_network"),
}


def per_network_strategy():
    """A DDPStrategy that wraps each network of the LightningModule (gen_ab, disc_a, ...) in its own
    DistributedDataParallel instead of the whole module, as mmagic's MMSeparateDistributedDataParallel does."""
    import torch
    from lightning.pytorch.strategies import DDPStrategy
    from torch.nn.parallel import DistributedDataParallel

    class DDPUnlessFrozen(DistributedDataParallel):
        # In the G step D only passes G's gradients through (its weights are frozen by toggled_optimizer): through
        # DDP, that forward would make it wait at the next step for gradients that never came. So a frozen network
        # runs as itself.
        def forward(self, *args, **kwargs):
            if torch.is_grad_enabled() and not any(p.requires_grad for p in self.module.parameters()):
                return self.module(*args, **kwargs)
            return super().forward(*args, **kwargs)

    class PerNetworkDDPStrategy(DDPStrategy):
        def configure_ddp(self) -> None:
            module = self.lightning_module
            for name, child in list(module.named_children()):
                if any(p.requires_grad for p in child.parameters()):
                    wrapped = DDPUnlessFrozen(child, device_ids=self.determine_ddp_device_ids(), **self._ddp_kwargs)
                    setattr(module, name, wrapped)

    return PerNetworkDDPStrategy()


def _write_images(root: Path, count: int = 8, size: int = 72) -> None:
    rng = np.random.default_rng(0)
    for domain in ("trainA", "trainB"):
        (root / domain).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / domain / f"{i:03d}.png")


def _worker(rank: int, processes: int, strategy_name: str | None, port: int, args: argparse.Namespace) -> None:
    """One process of a set-up: train, and on rank 0 write the batch-end times to ``args.out``."""
    if processes > 1:  # as torchrun would start them: Lightning creates no processes itself
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(processes))
        os.environ.update(NODE_RANK="0", LOCAL_RANK=str(rank), RANK=str(rank))
    import torch
    from lightning.pytorch import Callback, Trainer
    from lightning.pytorch.strategies import DDPStrategy

    from translate.data import ImageDataModule
    from translate.data.sources import DomainFolders
    from translate.models import CycleGAN
    from translate.networks import PatchDiscriminator, ResnetGenerator
    from translate.training.strategies import StepSyncDDPStrategy

    torch.set_num_threads(args.threads)
    strategy = {
        None: "auto",
        "step_sync": StepSyncDDPStrategy(),
        "find_unused": DDPStrategy(find_unused_parameters=True),
        "per_network": per_network_strategy(),
    }[strategy_name]

    class BatchEnds(Callback):
        def __init__(self):
            self.times = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.times.append(time.perf_counter())

    batch_ends, sync_seconds = BatchEnds(), []
    if strategy_name == "step_sync":  # time each gradient average
        average_gradients = strategy._average_gradients

        def timed_average_gradients(optimizer):
            start = time.perf_counter()
            average_gradients(optimizer)
            sync_seconds.append(time.perf_counter() - start)

        strategy._average_gradients = timed_average_gradients
    torch.manual_seed(0)
    model = CycleGAN(
        partial(ResnetGenerator, base_channels=16, num_blocks=3), partial(PatchDiscriminator, base_channels=16)
    )
    data = ImageDataModule(DomainFolders(args.data), load_size=72, crop_size=64, batch_size=1, num_workers=0)
    trainer = Trainer(
        accelerator="cpu", devices=processes, strategy=strategy, max_steps=2 * args.batches, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        default_root_dir=args.data, callbacks=[batch_ends],
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    if rank == 0:
        args.out.write_text(json.dumps({"batch_ends": batch_ends.times, "sync_seconds": sync_seconds}))


def measure(processes: int, strategy_name: str | None, args: argparse.Namespace) -> dict:
    import torch.multiprocessing

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.start_processes(
        _worker, args=(processes, strategy_name, port, args), nprocs=processes, start_method="spawn"
    )
    times = json.loads(args.out.read_text())
    intervals = [later - earlier for earlier, later in itertools.pairwise(times["batch_ends"])][args.warmup :]
    syncs = times["sync_seconds"][2 * args.warmup :]  # two optimizer steps per batch
    return {
        "s_per_batch": statistics.median(intervals),
        "sync_s_per_batch": 2 * statistics.median(syncs) if syncs else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30, help="batches trained per set-up (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="first batch intervals left out (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every set-up (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rounds = {name: [] for name in SETUPS}
    with tempfile.TemporaryDirectory() as folder:
        args.data, args.out = Path(folder) / "data", Path(folder) / "times.json"
        _write_images(args.data)
        for turn in range(args.rounds):
            for name, (processes, strategy_name) in SETUPS.items():
                rounds[name].append(measure(processes, strategy_name, args))
                print(f"round {turn + 1}: {name}: {rounds[name][-1]}", flush=True)
    results = {}
    for name, (processes, _) in SETUPS.items():
        seconds = statistics.median(r["s_per_batch"] for r in rounds[name])
        syncs = [r["sync_s_per_batch"] for r in rounds[name] if r["sync_s_per_batch"] is not None]
        results[name] = {"s_per_batch": seconds, "images_per_s": processes / seconds, "rounds": rounds[name]}
        sync = f"  (gradient averaging {1000 * statistics.median(syncs):.1f} ms/batch)" if syncs else ""
        print(f"{name:56s} {seconds:.3f} s/batch  {processes / seconds:6.2f} images/s{sync}")
    single, step_sync, find_unused, per_network = (results[name]["s_per_batch"] for name in SETUPS)
    for name, (processes, _) in SETUPS.items():
        if processes > 1:
            share = (results[name]["s_per_batch"] - single) / results[name]["s_per_batch"]
            results[name]["share_not_computing"] = share
            print(f"{name:56s} share of the batch beyond one process's: {share:.0%}")
    print(f"find_unused / StepSync time per batch:  {find_unused / step_sync:.3f}")
    print(f"per-network / StepSync time per batch:  {per_network / step_sync:.3f}")
    print(f"StepSync / 1 process time per batch:    {step_sync / single:.3f} (2 processes do twice the images)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
