"""Translation quality against a known answer on real photos (#17): PSNR and SSIM of a config's A -> B translations
of the ``tone`` and ``texture`` tasks, trained for ``--steps`` batches. A thin front of benchmarks/suite (#28), which
holds the tasks, the training through ``translate fit`` and the scoring; this keeps the variant names of the tables in
docs/benchmarks.md.

    pip install -e .[bench]                                   # scikit-image: its photos and its SSIM
    python -m benchmarks.quality                              # both tasks, identity + official + recipe, 1000 steps
    python -m benchmarks.quality --tasks tone --variants identity official resize skip+resize+ema --steps 600

A variant is ``identity`` (the untouched input: a model has to beat it), ``official`` (``--official``, the official
settings at the quick-start size), ``recipe`` (``--recipe``), or overlays of configs/quality/ joined by ``+`` or ``_``
on the official config, or on the recipe when the name starts with ``recipe``: ``resize``, ``skip`` (the residual
generator), ``long``, ``ema``, ``sn``, ``r1``, ``idt0``, ``decay``, ``batch4``, ``skip_resize_ema_idt01_long``,
``recipe_no_long``, ``recipe+idt05`` ... The schedule is the config's, stretched to ``--steps`` (see
benchmarks/suite/training.py). ``--seed`` seeds training and its data order; the crops never change: training crops
from some photos, the validation and test crops from others (benchmarks/suite/photos.py). Results: docs/benchmarks.md.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.suite import photos, results, tasks, training
from benchmarks.suite.metrics import read_folder

OVERLAYS = Path(__file__).resolve().parents[1] / "configs" / "quality"
TASKS = {task: photos.TRANSFORMS[task] for task in ("tone", "texture")}


def variant_configs(name: str, official: str, recipe: str) -> list[str]:
    """The config paths of a variant name: its base config, then the overlays it names (longest names first)."""
    pieces = name.replace("+", "_").split("_")
    base = recipe if pieces[0] == "recipe" else official
    pieces = pieces[1:] if pieces[0] in ("recipe", "official") else pieces
    configs = [base]
    while pieces:
        for count in range(len(pieces), 0, -1):
            overlay = OVERLAYS / f"{'_'.join(pieces[:count])}.yaml"
            if overlay.exists():
                configs.append(str(overlay.relative_to(OVERLAYS.parents[1])))
                pieces = pieces[count:]
                break
        else:
            known = ", ".join(sorted(p.stem for p in OVERLAYS.glob("*.yaml")))
            raise SystemExit(f"--variants: unknown {name!r}: use identity, official, recipe or overlays of {known}")
    return configs


def save_strip(path: Path, checkpoint: Path, data: Path) -> None:
    """The first test crop of each test photo: the input, the answer and the translation, as three rows of a PNG."""
    from translate.inference.loading import load_model
    from translate.inference.predict import predict_folder

    out = path.with_suffix("")
    predict_folder(load_model(checkpoint), data / "testA", out, direction="a2b", overwrite=True, progress=False)
    first = [f"{Path(name).stem}_0_0.png" for name in photos.PHOTOS["test"]]
    rows = [read_folder(folder) for folder in (data / "testA", data / "answers" / "testA", out)]
    Image.fromarray(np.concatenate([np.concatenate([r[n] for n in first], 1) for r in rows], 0)).save(path)


def run_variant(task: str, variant: str, data: Path, args: argparse.Namespace) -> dict:
    """One row of the table: test and val scores of the variant on the task, trained for ``args.steps`` batches."""
    row = {"task": task, "variant": variant, "steps": 0 if variant == "identity" else args.steps}
    if variant == "identity":
        return row | {f"{split}_{k}": v for split in tasks.SPLITS for k, v in tasks.identity(task, data, split).items()}
    config = training.Variant(tuple(variant_configs(variant, args.official, args.recipe)))
    out = args.out / "runs" / task / variant / f"seed{args.seed}"
    training.train(config, data, out, seed=args.seed, batches=args.steps, every=args.steps, schedule="span")
    per_batch = training.steps_per_batch(training.resolved(config))
    scores = results.scored(task, out, data, per_batch)[args.steps]
    if args.samples:
        checkpoint = results.checkpoints(out, per_batch)[args.steps]
        save_strip(args.samples / f"{task}_{variant}_{args.steps}.png", checkpoint, data)
    row |= {"seed": args.seed, "config": list(config.configs)}
    return row | {f"{split}_{k}": v for split in tasks.SPLITS for k, v in scores[split].items()}


def _format(row: dict) -> str:
    metrics = f"{row['test_psnr']:6.2f} {row['test_ssim']:6.3f}   {row['val_psnr']:6.2f} {row['val_ssim']:6.3f}"
    return f"{row['task']:8s} {row['variant'][:28]:28s} {row['steps']:6d}   {metrics}"


def main(argv: list[str] | None = None) -> list[dict]:
    official, recipe = training.default_variants()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--variants", nargs="+", default=["identity", "official", "recipe"])
    parser.add_argument("--steps", type=int, default=1000, help="training batches per variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--official", default=official, help="the official settings' config")
    parser.add_argument("--recipe", default=recipe, help="the recipe's config")
    parser.add_argument("--out", type=Path, default=Path("runs/quality"), help="data and runs (resumable)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--samples", type=Path, help="write TASK_VARIANT_STEPS.png strips (input, answer, output) here")
    parser.add_argument("--tiny", action="store_true", help="tiny crops (36 px, a few): for tests")
    args = parser.parse_args(argv)
    for variant in set(args.variants) - {"identity"}:
        variant_configs(variant, args.official, args.recipe)  # a one-line error before any training
    tasks.quiet()
    rows = []
    print(f"{'task':8s} {'variant':28s} {'steps':>6s}   test PSNR  SSIM    val PSNR  SSIM", flush=True)
    for task in args.tasks:
        data = args.out / "data" / task
        tasks.write_data(task, data, tiny=args.tiny)
        for variant in args.variants:
            rows.append(run_variant(task, variant, data, args))
            print(_format(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": results.machine(), "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
