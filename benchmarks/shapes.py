"""The shape task: how well a circles -> squares model changes the outline and keeps everything else, against the
right answer (datasets/make_shapes.py draws every held-out circle's twin square: same centre, size and colours).

Scored per translated image (translate predict's own path, at the model's default scale), means over a split:

- squareness: area of the shape / its bounding box's area (a square 1.0, a circle 0.785): did the outline change?
  The shape is the set of pixels far from the image's commonest colour (its median).
- centre error: px between the shape's distance-weighted centroid and the true centre: did it stay where it was?
- size error: |sqrt(area) / 2 - h| / h, the found shape's half side against the true half side (or radius) h.
- colour error: mean |colour - true shape colour| over RGB in [0, 1], the colour read inside the disc both the
  circle and its square cover (radius h - 1.5 px): did the shape keep its colour?
- background error: mean |pixel - true background| over RGB in [0, 1], outside the square grown by 1.5 px.
- PSNR (dB) of the whole image against the twin, and found: the fraction of images where a shape was found at all.

    python datasets/make_shapes.py
    python -m benchmarks.shapes score runs/shapes/travelgan-s0 [RUN ...] [--split test] [--json out.json]
    python -m benchmarks.shapes train configs/travelgan_quickstart.yaml --out runs/shapes/travelgan-s0 --seed 0 \
        --batches 3000 --every 500 [--set model.init_args.lambda_travel=5 ...]

``train`` runs ``translate fit`` on the shapes data with the config and its overrides (one thread, a CSV log, a
checkpoint every ``--every`` batches: ``step=<batches>.ckpt``), validating on the val split, never the test split;
``score`` translates a split (``val`` to choose, ``test`` to report) with each checkpoint or run folder given.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

KEYS = ("squareness", "centre_error", "size_error", "colour_error", "background_error", "psnr")


def _shape_mask(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Weights of the pixels off the commonest colour and the mask of the strong ones; None for a blank image."""
    distance = np.linalg.norm(pixels - np.median(pixels.reshape(-1, 3), axis=0), axis=-1)
    weight = np.clip(distance - np.percentile(distance, 60), 0, None)  # the shape covers at most a quarter
    if weight.sum() == 0:
        return None
    return weight, weight > weight.max() / 2


def shape_figures(image: np.ndarray, where: dict, answer: np.ndarray | None = None) -> dict[str, float] | None:
    """The figures of one translated image (H, W, 3) uint8 against its scene; None when no shape is found."""
    pixels = image.astype(float)
    found = _shape_mask(pixels)
    if found is None:
        return None
    weight, mask = found
    ys, xs = np.nonzero(mask)
    grid_y, grid_x = np.indices(weight.shape) + 0.5
    cy, cx = (weight * grid_y).sum() / weight.sum(), (weight * grid_x).sum() / weight.sum()
    box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    figures = {
        "squareness": mask.sum() / box,
        "centre_error": float(np.hypot(cx - where["cx"], cy - where["cy"])),
        "size_error": abs(np.sqrt(mask.sum()) / 2 - where["half"]) / where["half"],
    }
    if "colour" in where:  # scenes written by make_shapes.py since the twins: colours recorded
        core = np.hypot(grid_x - where["cx"], grid_y - where["cy"]) < where["half"] - 1.5
        outside = np.maximum(np.abs(grid_x - where["cx"]), np.abs(grid_y - where["cy"])) > where["half"] + 1.5
        rgb = pixels / 255
        figures["colour_error"] = float(np.abs(rgb[core].mean(0) - where["colour"]).mean())
        figures["background_error"] = float(np.abs(rgb[outside] - where["background"]).mean())
    if answer is not None:
        mse = np.mean((pixels / 255 - answer.astype(float) / 255) ** 2)
        figures["psnr"] = float(10 * np.log10(1 / max(mse, 1e-10)))
    return figures


def measure(images: dict[str, np.ndarray], truth: dict, answers: dict[str, np.ndarray] | None = None) -> dict:
    """Means of the figures over the images where a shape was found, and the fraction found."""
    found = [f for name, image in images.items()
             if (f := shape_figures(image, truth[name], answers[name] if answers else None)) is not None]  # fmt: skip
    means = {key: float(np.mean([f[key] for f in found])) for key in KEYS if found and key in found[0]}
    return means | {"shape_found": len(found) / len(images)}


def _read(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))}


def score(run: str | Path, data: Path, split: str = "test", direction: str = "a2b") -> dict[str, float]:
    """Translate ``data/<split>A`` (a2b) or ``<split>B`` (b2a) with a checkpoint or run folder and measure it."""
    from translate.inference.loading import load_model
    from translate.inference.predict import predict_folder

    domain = "A" if direction == "a2b" else "B"
    truth = json.loads((data / f"{split}{domain}.json").read_text())
    with tempfile.TemporaryDirectory() as out:
        predict_folder(load_model(run), data / f"{split}{domain}", out, direction=direction, progress=False)
        return measure(_read(Path(out)), truth, _read(data / "answers" / f"{split}{domain}"))


def baselines(data: Path, split: str = "test") -> dict[str, dict[str, float]]:
    """The untouched input circles, and the right answers themselves, scored like a translation."""
    truth = json.loads((data / f"{split}A.json").read_text())
    answers = _read(data / "answers" / f"{split}A")
    return {"identity": measure(_read(data / f"{split}A"), truth, answers), "answer": measure(answers, truth, answers)}


def _overlay(data: Path, out: Path, seed: int, batches: int, every: int, steps_per_batch: int) -> dict:
    """What ``train`` puts over the config: the shapes data, validation on val, the length and the checkpoints."""
    checkpoint = {"dirpath": str(out / "checkpoints"), "filename": "{step}", "save_top_k": -1, "save_last": True,
                  "every_n_train_steps": every * steps_per_batch}  # fmt: skip
    return {
        "seed_everything": seed,
        "data": {"source": {"class_path": "DomainFolders", "init_args": {
                     "root": None, "train_dirs": [str(data / "trainA"), str(data / "trainB")],
                     "val_dirs": [str(data / "valA"), str(data / "valB")]}}, "num_workers": 0},  # fmt: skip
        "trainer": {
            "max_steps": batches * steps_per_batch, "max_epochs": -1, "default_root_dir": str(out),
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(out)}},
            "check_val_every_n_epoch": 10, "enable_progress_bar": False,
            "callbacks": [
                {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": checkpoint},
                {"class_path": "translate.training.callbacks.StopOnNonFinite"},
                {"class_path": "translate.training.callbacks.StepSeed"},
                {"class_path": "translate.training.callbacks.SampleGrid",
                 "init_args": {"num_images": 6, "every_n_epochs": 10}},
            ],
        },
    }  # fmt: skip


def train(config: Path, out: Path, *, data: Path, seed: int, batches: int, every: int, sets: list[str]) -> None:
    """``translate fit`` of ``config`` on the shapes data, one thread, in a subprocess (so it can be timed alone)."""
    steps_per_batch = 1 if "Pix2Pix" in config.read_text() else 2  # two optimizers (G, D) step once a batch each
    out.mkdir(parents=True, exist_ok=True)
    overlay = out / "overlay.yaml"
    overlay.write_text(yaml.safe_dump(_overlay(data, out, seed, batches, every, steps_per_batch)))
    argv = [sys.executable, "-m", "translate.cli", "fit", "--config", str(config), "--config", str(overlay)]
    argv += [f"--{s}" for s in sets]
    (out / "command.txt").write_text(" ".join(argv) + "\n")
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    subprocess.run(argv, check=True, env=env)


def _print(rows: dict[str, dict[str, float]]) -> None:
    print(f"{'':48} square  centre px  size err  colour err  bg err  PSNR dB  found")
    for name, r in rows.items():
        cells = [r.get(k, float("nan")) for k in KEYS]
        print(f"{name[-48:]:48} {cells[0]:6.3f} {cells[1]:10.2f} {cells[2]:9.3f} {cells[3]:11.3f} {cells[4]:7.3f} "
              f"{cells[5]:8.2f} {r['shape_found']:6.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scoring = commands.add_parser("score", help="translate a split with each run and measure it")
    scoring.add_argument("runs", nargs="*", help="checkpoints or run folders of models trained on the shapes data")
    scoring.add_argument("--split", default="test", choices=("val", "test"))
    scoring.add_argument("--json", type=Path, help="also write the rows here")
    training = commands.add_parser("train", help="translate fit a config on the shapes data")
    training.add_argument("config", type=Path)
    training.add_argument("--out", type=Path, required=True)
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--batches", type=int, default=3000)
    training.add_argument("--every", type=int, default=500, help="a checkpoint every this many batches")
    training.add_argument("--set", dest="sets", action="append", default=[], help="KEY=VALUE, as translate fit --KEY")
    for command in (scoring, training):
        command.add_argument("--data", default=Path("datasets/shapes"), type=Path)
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args.config, args.out, data=args.data, seed=args.seed, batches=args.batches, every=args.every,
              sets=args.sets)  # fmt: skip
        return
    rows = baselines(args.data, args.split) | {str(run): score(run, args.data, args.split) for run in args.runs}
    _print(rows)
    if args.json:
        from benchmarks.suite.results import machine  # the suite's record of the machine, as its files have it

        record = {"split": args.split, "command": sys.argv, "machine": machine(), "rows": rows}
        args.json.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
