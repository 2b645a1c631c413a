"""Scores per checkpoint (cached beside the run), the checkpoints each length reports, and the JSON rows.

For a length L a run reports two checkpoints: ``last``, the one at L batches, and ``best_val``, the one of highest
validation PSNR among those at L batches or fewer (the earliest on a tie); both are scored on val and test. Every
checkpoint's scores are rows too (``selection: every``), and the untouched input's (``selection: input``).
"""

import datetime
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

from benchmarks.suite.tasks import SPLITS, score_checkpoint

STEP = re.compile(r"step=(\d+)\.ckpt")


def checkpoints(run: Path, per_batch: int) -> dict[int, Path]:
    """batches -> ``step=<optimizer steps>.ckpt`` of a run, in order."""
    found = {
        int(m.group(1)) // per_batch: p
        for p in (run / "checkpoints").glob("step=*.ckpt")
        if (m := STEP.fullmatch(p.name))
    }
    return dict(sorted(found.items()))


def scored(task: str, run: Path, data: Path, per_batch: int) -> dict[int, dict[str, dict[str, float]]]:
    """batches -> split -> scores for each checkpoint of ``run``; a checkpoint scored before (same size and time) is
    read from ``run/scores.json``, the others are scored and added to it."""
    cache_file = run / "scores.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    result = {}
    for batches, path in checkpoints(run, per_batch).items():
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = cache.get(path.name)
        if entry is None or entry["stamp"] != stamp:
            entry = cache[path.name] = {"stamp": stamp, "scores": score_checkpoint(task, path, data)}
            cache_file.write_text(json.dumps(cache, indent=1))
        result[batches] = entry["scores"]
    return result


def chosen(scores: dict[int, dict], length: int) -> dict[str, int]:
    """selection -> the batches of the checkpoint reported for ``length`` (none: no checkpoint there)."""
    if length not in scores:
        return {}
    candidates = [b for b in scores if b <= length]
    best = max(candidates, key=lambda b: (scores[b]["val"].get("psnr", float("-inf")), -b))
    return {"last": length, "best_val": best}


def run_rows(base: dict, scores: dict[int, dict], lengths: list[int], per_batch: int) -> list[dict]:
    """The rows of one (task, variant, seed) run: every checkpoint, then last and best_val for each length."""

    def rows(selection: str, batches: int, length: int | None) -> list[dict]:
        checkpoint = f"step={batches * per_batch}.ckpt"
        return [base | {"length": length, "selection": selection, "checkpoint": checkpoint, "batches": batches,
                        "split": split, "metric": metric, "value": value}
                for split in SPLITS for metric, value in scores[batches][split].items()]  # fmt: skip

    out = [row for batches in scores for row in rows("every", batches, None)]
    for length in lengths:
        for selection, batches in chosen(scores, length).items():
            out += rows(selection, batches, length)
    return out


def identity_rows(task: str, figures: dict[str, dict[str, float]]) -> list[dict]:
    base = {"task": task, "variant": "identity", "config": [], "overrides": [], "seed": None, "length": None,
            "selection": "input", "checkpoint": None, "batches": 0}  # fmt: skip
    return [base | {"split": split, "metric": metric, "value": value}
            for split in SPLITS for metric, value in figures[split].items()]  # fmt: skip


def seconds_per_1000(run: Path, per_batch: int) -> float | None:
    """Training time per 1,000 batches from the first to the last periodic checkpoint's write time (start-up and
    scoring excluded; a resume's pause included)."""
    found = checkpoints(run, per_batch)
    if len(found) < 2:
        return None
    (first, a), (last, b) = list(found.items())[0], list(found.items())[-1]
    return round((b.stat().st_mtime - a.stat().st_mtime) / (last - first) * 1000, 1)


def machine(threads: int = 1) -> dict:
    """What ran it: CPU model and flags, cores, torch threads, versions, load average now."""
    import lightning
    import torch

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", info)
    flags = re.search(r"flags\s*:\s*(.*)", info)
    return {
        "cpu": model.group(1) if model else platform.processor() or platform.machine(),
        "flags": flags.group(1) if flags else "",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpus": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def machine_slug(info: dict) -> str:
    """``intel-xeon-2cpu``: the file name's machine part."""
    words = re.sub(r"\(r\)|\(tm\)|processor|cpu|@.*", " ", info["cpu"].lower()).split()
    return "-".join(words[:2] + [f"{info['cpus']}cpu"])


def default_json(info: dict) -> Path:
    return Path("benchmarks/results") / f"{datetime.date.today():%Y-%m-%d}-{machine_slug(info)}-quality-suite.json"


def document(info: dict, settings: dict, runs: list[dict], rows: list[dict]) -> dict:
    return {"suite": "quality (#28)", "written": time.strftime("%Y-%m-%d %H:%M:%S"), "command": sys.argv,
            "machine": info, "settings": settings, "runs": runs, "rows": rows}  # fmt: skip


def write(path: Path, doc: dict) -> None:
    """Atomically: an interrupted suite leaves the previous complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(doc, indent=1) + "\n")
    partial.replace(path)
