"""Training step time of CycleGAN, CUT and FastCUT taking turns, for a machine other jobs share (issue #15).

    python -m benchmarks.cut_steps --size 128 --rounds 4 --steps 2 --json benchmarks/results-cpu-cut.json

``benchmarks.run`` measures one model after the other; when other jobs come and go, a later model meets another
load. Here the three models (CycleGAN configs/apple2orange.yaml, CUT configs/horse2zebra_cut.yaml, FastCUT
configs/horse2zebra_fastcut.yaml: official networks, batch 1) are built once in this process and take turns: each
round trains every model ``--steps`` batches through Lightning's loop (one more first, not timed), so every model
sees the same stretches of load, and the order rotates every round (CycleGAN, CUT, FastCUT; then CUT, FastCUT,
CycleGAN; ...), so no model always runs first, after the others' caches or at the start of a burst of load. The first
round is a warm-up. Reported: the median step per model over the other rounds, each round's ratio to CycleGAN's step,
the FLOPs of one step (load-independent), every round's order and times, and the machine (CPU model and flags, load
average before and after).
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from lightning.pytorch import Callback, Trainer

from benchmarks.run import FlopCount, build, machine_info, matmul_ceiling
from benchmarks.run import _write_dataset as write_dataset

MODELS = ("cyclegan", "cut", "fastcut")


class _Timer(Callback):
    def __init__(self):
        self.times, self.start = [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.times.append(time.perf_counter() - self.start)


def _train(model, data, batches: int, flops: bool = False) -> tuple[list[float], float]:
    """Step times of ``batches`` batches after an untimed first one, and (with ``flops``) the FLOPs of one batch."""
    timer = _Timer()
    trainer = Trainer(accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=batches + 1, logger=False,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      limit_val_batches=0, num_sanity_val_steps=0, callbacks=[timer])  # fmt: skip
    counter = FlopCount()
    if flops:
        counter.__enter__()
    try:
        trainer.fit(model, datamodule=data)
    finally:
        if flops:
            counter.__exit__(None, None, None)
    return timer.times[1:], counter.total / (batches + 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128, help="crop size (load size 286/256 of it)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of turns; the first is a warm-up")
    parser.add_argument("--steps", type=int, default=2, help="timed batches per model per round")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--tiny", action="store_true", help="quick-start networks (a smoke test)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results-cpu-cut.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp())
    overrides = ["--data.num_workers=0", "--data.batch_size=1", f"--data.crop_size={args.size}",
                 f"--data.load_size={int(args.size * 286 / 256)}"]  # fmt: skip
    built = {}
    for name in MODELS:
        model, data = build(name, args.tiny, root / name, overrides)
        write_dataset(data, root / name, args.steps + 1)
        built[name] = (model, data)
    machine, ceiling_before = machine_info(args.threads), matmul_ceiling()
    times: dict[str, list[list[float]]] = {name: [] for name in MODELS}
    flops, orders = {}, []
    for round_index in range(args.rounds):
        orders.append(MODELS[round_index % len(MODELS) :] + MODELS[: round_index % len(MODELS)])
        for name in orders[-1]:
            steps, flops_per_step = _train(*built[name], args.steps, flops=round_index == 0)
            times[name].append(steps)
            flops.setdefault(name, flops_per_step)
    machine["load_average_after"] = os.getloadavg()
    measured = {name: [statistics.median(steps) for steps in rounds[1:]] for name, rounds in times.items()}
    result = {
        "machine": machine, "size": args.size, "threads": torch.get_num_threads(),
        "matmul_gflops": [ceiling_before, matmul_ceiling()],
        "seconds_per_step": {name: statistics.median(values) for name, values in measured.items()},
        "ratio_to_cyclegan_per_round": {name: [v / c for v, c in zip(values, measured["cyclegan"], strict=True)]
                                        for name, values in measured.items()},
        "gflop_per_step": {name: value / 1e9 for name, value in flops.items()},
        "rounds": times, "order_per_round": orders,
    }  # fmt: skip
    print(f"{args.size} px, batch 1, {result['threads']} threads; matmul {ceiling_before:.1f} -> "
          f"{result['matmul_gflops'][1]:.1f} GFLOP/s (before -> after)")  # fmt: skip
    for name in MODELS:
        ratios = ", ".join(f"{r:.2f}" for r in result["ratio_to_cyclegan_per_round"][name])
        print(f"{name:<9} {result['seconds_per_step'][name]:8.3f} s/step  {result['gflop_per_step'][name]:7.1f} "
              f"GFLOP/step  per-round ratio to CycleGAN: {ratios}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
