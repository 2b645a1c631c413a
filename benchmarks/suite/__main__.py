"""``python -m benchmarks.suite run|render|time``: see the package docstring."""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.suite import __doc__ as ABOUT
from benchmarks.suite import render, results, tasks, training
from benchmarks.suite.tasks import quiet
from benchmarks.suite.training import Variant, default_variants


def run_one(task: str, variant: Variant, seed: int, data: Path, args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """Train (or skip, or resume) one run, score its checkpoints; its record and rows."""
    out = args.out / "runs" / task / variant.name / f"seed{seed}"
    started, load = time.perf_counter(), os.getloadavg()[0]
    status = training.train(variant, data, out, seed=seed, batches=max(args.lengths), every=args.every,
                            schedule=args.schedule)  # fmt: skip
    per_batch = training.steps_per_batch(training.resolved(variant))
    scores = results.scored(task, out, data, per_batch)
    base = {"task": task, "variant": variant.name, "config": list(variant.configs),
            "overrides": list(variant.overrides), "seed": seed}  # fmt: skip
    record = base | {"run": str(out), "status": status, "seconds": round(time.perf_counter() - started, 1),
                     "s_per_1000_batches": results.seconds_per_1000(out, per_batch), "load_before": round(load, 2),
                     "load_after": round(os.getloadavg()[0], 2)}  # fmt: skip
    return record, results.run_rows(base, scores, args.lengths, per_batch)


def run(args: argparse.Namespace) -> dict:
    bad = [length for length in args.lengths if length % args.every]
    if bad:
        raise SystemExit(f"--lengths {bad} are not multiples of --every {args.every}: no checkpoint would be there")
    variants = [Variant.parse(spec, args.sets) for spec in args.variants or default_variants()]
    if len({v.name for v in variants}) < len(variants):
        raise SystemExit(f"two variants get the same folder name: {[v.name for v in variants]}")
    quiet()
    info = results.machine()
    path = args.json or results.default_json(info)
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    settings |= {"variants": [{"name": v.name, "configs": v.configs, "overrides": v.overrides} for v in variants],
                 "json": str(path)}  # fmt: skip
    runs, rows = [], []
    for task in args.tasks:
        data = args.out / "data" / task
        tasks.write_data(task, data, tiny=args.tiny)
        rows += results.identity_rows(task, {split: tasks.identity(task, data, split) for split in tasks.SPLITS})
        for variant in variants:
            for seed in args.seeds:
                record, new = run_one(task, variant, seed, data, args)
                runs.append(record)
                rows += new
                results.write(path, results.document(info, settings, runs, rows))
                print(f"{task} {variant.name} seed {seed}: {record['status']}, {record['s_per_1000_batches']} s per "
                      f"1,000 batches, load {record['load_before']}", flush=True)  # fmt: skip
    doc = results.document(info, settings, runs, rows)
    results.write(path, doc)
    print(f"wrote {path}\n\n{render.render(doc)}")
    return doc


def _time_one(task: str, variant: Variant, data: Path, out: Path, batches: int) -> dict:
    training.train(variant, data, out, seed=0, batches=batches, every=batches // 2, schedule="span")
    per_batch = training.steps_per_batch(training.resolved(variant))
    started = time.perf_counter()
    results.scored(task, out, data, per_batch)
    return {
        "task": task,
        "variant": variant.name,
        "s_per_1000_batches": results.seconds_per_1000(out, per_batch),
        "s_to_score_a_checkpoint": round((time.perf_counter() - started) / 2, 1),  # val and test, two checkpoints
        "load_average": round(os.getloadavg()[0], 2),
    }


def timing(args: argparse.Namespace) -> list[dict]:
    """Each task and variant trained ``--batches`` batches in a scratch folder: s per 1,000 batches between the
    half-way and the last checkpoint (start-up excluded), and s to score one checkpoint on val and test."""
    quiet()
    variants, measured = [Variant.parse(spec, args.sets) for spec in args.variants or default_variants()], []
    with tempfile.TemporaryDirectory() as scratch:
        for task in args.tasks:
            data = Path(scratch) / "data" / task
            tasks.write_data(task, data, tiny=args.tiny)
            for variant in variants:
                measured.append(
                    _time_one(task, variant, data, Path(scratch) / "runs" / task / variant.name, args.batches)
                )
                print(json.dumps(measured[-1]), flush=True)
    return measured


def _parser() -> argparse.ArgumentParser:
    epilog = "the commands, the tasks and the full suite: the docstring of benchmarks/suite/__init__.py"
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.suite", description=ABOUT.splitlines()[0], epilog=epilog
    )
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="train, score and write the JSON (resumable)")
    timer = commands.add_parser("time", help="s per 1,000 batches of each task and variant, from a short run each")
    for command in (running, timer):
        command.add_argument("--tasks", nargs="+", default=list(tasks.TASKS), choices=list(tasks.TASKS))
        command.add_argument("--variants", nargs="+", help="each: config paths and KEY=VALUE overrides, in quotes")
        command.add_argument("--set", dest="sets", action="append", default=[], help="KEY=VALUE on every variant")
        command.add_argument("--tiny", action="store_true", help="tiny data (32-36 px, a few images): for tests")
    running.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    running.add_argument("--lengths", nargs="+", type=int, default=[1000, 3000, 10000], help="batches reported")
    running.add_argument("--every", type=int, default=500, help="a checkpoint every this many batches")
    running.add_argument(
        "--schedule",
        choices=("span", "config"),
        default="span",
        help="span: the configs' LinearDecayLR stretched to the longest length (keeping its ratio)",
    )
    running.add_argument("--out", type=Path, default=Path("runs/suite"), help="data, runs, checkpoints, scores")
    running.add_argument("--json", type=Path, help="default benchmarks/results/<date>-<machine>-quality-suite.json")
    timer.add_argument("--batches", type=int, default=40)
    timer.add_argument("--json", type=Path, help="also write the machine, the command and each timing here")
    rendering = commands.add_parser("render", help="print the markdown tables of a suite's JSON files")
    rendering.add_argument("json", type=Path, nargs="+", help="one, or several (say one per --tasks) to merge")
    rendering.add_argument(
        "--long",
        action="store_true",
        help="a line per variant, length and checkpoint, with "
        "every figure of the task (variants may have different lengths)",
    )
    return parser


def main(argv: list[str] | None = None):
    args = _parser().parse_args(argv)
    if args.command == "render":
        print(render.render(render.merged([json.loads(path.read_text()) for path in args.json]), long=args.long))
        return None
    if args.command == "run":
        return run(args)
    measured = timing(args)
    if args.json:
        record = {
            "what": "quality suite (#28): time per task and variant",
            "command": sys.argv,
            "written": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": results.machine(),
            "timings": measured,
        }
        results.write(args.json, record)
    return measured


if __name__ == "__main__":
    main()
