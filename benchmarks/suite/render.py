"""Markdown tables of a suite's JSON: per task, the test scores of each variant's last and best-on-validation
checkpoint at each length, mean ± sd over the seeds, under the untouched input's; then the training times."""

import statistics
from collections import defaultdict

from benchmarks.suite.tasks import TASKS

LABELS = {"psnr": "PSNR dB", "ssim": "SSIM", "background_error": "bg err", "squareness": "square",
          "centre_error": "centre px", "colour_error": "colour err", "size_error": "size err"}  # fmt: skip
SELECTIONS = {"last": "last", "best_val": "best on val"}
# Every figure a task's scores hold, in the order a long table shows them (the shape task: benchmarks.shapes' set).
FIGURES = {"shape": ("squareness", "centre_error", "size_error", "colour_error", "background_error", "psnr")}


def _cell(values: list[float], metric: str) -> str:
    digits = 2 if metric in ("psnr", "centre_error") else 3
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _test_values(rows: list[dict], task: str) -> dict[tuple, list[float]]:
    """(variant, selection, length, metric) -> the test values over seeds (the input's under every length)."""
    table = defaultdict(list)
    for row in rows:
        if row["task"] == task and row["split"] == "test" and row["selection"] != "every":
            table[row["variant"], row["selection"], row["length"], row["metric"]].append(row["value"])
    return table


def _input(values: dict[tuple, list[float]], metric: str) -> list[float]:
    """The untouched input's figure: once, though merged files (one per process) each hold it."""
    return list(dict.fromkeys(values["identity", "input", None, metric]))


def task_table(rows: list[dict], task: str, lengths: list[int]) -> list[str]:
    metrics = list(TASKS[task].headline)
    values = _test_values(rows, task)
    variants = list(dict.fromkeys(r["variant"] for r in rows if r["task"] == task and r["variant"] != "identity"))
    seeds = {v: len({r["seed"] for r in rows if r["task"] == task and r["variant"] == v}) for v in variants}
    head = [f"{length:,}: {LABELS[m]}" if i == 0 else LABELS[m] for length in lengths for i, m in enumerate(metrics)]
    lines = [f"| variant | seeds | checkpoint | {' | '.join(head)} |", "| --- | ---: | --- |" + " ---: |" * len(head)]
    identity = [_cell(_input(values, m), m) for _ in lengths for m in metrics]
    lines.append(f"| identity (the untouched input) |  |  | {' | '.join(identity)} |")
    for variant in variants:
        for selection, label in SELECTIONS.items():
            cells = [_cell(values[variant, selection, length, m], m) for length in lengths for m in metrics]
            lines.append(f"| {variant} | {seeds[variant]} | {label} | {' | '.join(cells)} |")
    return lines


def long_table(rows: list[dict], task: str, metrics: tuple[str, ...]) -> list[str]:
    """One line per variant, length and checkpoint (each variant at the lengths its own rows have), a column per
    figure: the layout for many figures, or variants trained to different lengths."""
    values = _test_values(rows, task)
    reported = [r for r in rows if r["task"] == task and r["selection"] in SELECTIONS]
    variants = list(dict.fromkeys(r["variant"] for r in reported))
    lines = [f"| variant | seeds | batches | checkpoint | {' | '.join(LABELS[m] for m in metrics)} |",
             "| --- | ---: | ---: | --- |" + " ---: |" * len(metrics)]  # fmt: skip
    identity = [_cell(_input(values, m), m) for m in metrics]
    lines.append(f"| identity (the untouched input) |  |  |  | {' | '.join(identity)} |")
    for variant in variants:
        seeds = len({r["seed"] for r in reported if r["variant"] == variant})
        for length in sorted({r["length"] for r in reported if r["variant"] == variant}):
            for selection, label in SELECTIONS.items():
                cells = [_cell(values[variant, selection, length, m], m) for m in metrics]
                lines.append(f"| {variant} | {seeds} | {length:,} | {label} | {' | '.join(cells)} |")
    return lines


def choices(rows: list[dict], task: str) -> list[str]:
    """Which checkpoint best-on-val chose, per variant and length: batches by seed."""
    picked = defaultdict(dict)
    for row in rows:
        if row["task"] == task and row["selection"] == "best_val" and row["split"] == "test":
            picked[row["variant"], row["length"]][row["seed"]] = row["batches"]
    return [f"{variant} at {length:,}: " + ", ".join(f"{b:,} (seed {s})" for s, b in sorted(by_seed.items()))
            for (variant, length), by_seed in picked.items()]  # fmt: skip


def time_table(runs: list[dict]) -> list[str]:
    per = defaultdict(list)
    for run in runs:
        if run.get("s_per_1000_batches"):
            per[run["task"], run["variant"]].append(run["s_per_1000_batches"])
    lines = ["| task | variant | s per 1,000 batches (mean over seeds) | runs |", "| --- | --- | ---: | ---: |"]
    return lines + [f"| {t} | {v} | {statistics.mean(s):.0f} | {len(s)} |" for (t, v), s in per.items()]


def merged(docs: list[dict]) -> dict:
    """Several suite files as one (say two processes, one per core, each with its own ``--tasks``); the first one's
    machine and lengths."""
    tasks = list(dict.fromkeys(t for doc in docs for t in doc["settings"]["tasks"]))
    variants = list({v["name"]: v for doc in docs for v in doc["settings"].get("variants", [])}.values())
    settings = docs[0]["settings"] | {"tasks": tasks, "variants": variants}
    return docs[0] | {"settings": settings, "runs": [r for d in docs for r in d["runs"]],
                      "rows": [r for d in docs for r in d["rows"]]}  # fmt: skip


def render(doc: dict, *, long: bool = False) -> str:
    """The markdown of a suite's JSON: per task its table (``long``: a line per variant, length and checkpoint, with
    every figure the task has), the checkpoints best-on-val chose, the variants, the training times."""
    rows, settings = doc["rows"], doc["settings"]
    lengths = settings["lengths"]
    out = []
    for task in settings["tasks"]:
        if not any(r["task"] == task for r in rows):
            continue
        out += [f"### {task}: {TASKS[task].about}", "",
                "Test split, A -> B against the right answers; mean ± sd over seeds. *last*: the checkpoint at that "
                "many batches; *best on val*: the highest validation PSNR up to it.", ""]  # fmt: skip
        figures = FIGURES.get(task, TASKS[task].headline)
        out += (long_table(rows, task, figures) if long else task_table(rows, task, lengths)) + [""]
        picks = choices(rows, task)
        out += ["Best on val chose (batches): " + "; ".join(picks) + ".", ""] if picks else []
    variants = [f"{v['name']}: {' + '.join(v['configs'])}" + "".join(f" --{o}" for o in v["overrides"])
                for v in settings.get("variants", [])]  # fmt: skip
    out += ["Variants: " + "; ".join(variants) + ".", ""] if variants else []
    machine = doc["machine"]
    out += ["### Training time", "", f"{machine['cpu']}, {machine['threads']} thread, torch {machine['torch']}, load "
            f"average {machine['load_average']} at the start.", ""]  # fmt: skip
    return "\n".join(out + time_table(doc["runs"]))
