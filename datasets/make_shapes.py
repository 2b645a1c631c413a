"""Generate "shapes", a toy unpaired task that changes shape, not colour: circles (domain A) to squares (domain B).

Each image holds one shape of random size, position and colour on a plain background of another random colour;
both domains draw sizes, positions and colours from the same distributions, so a translation must keep where the
shape is and how large and what colour it is, and change only its outline. benchmarks/shapes.py measures how well.

Written in the official CycleGAN layout (trainA, trainB, testA, testB) plus a validation split (valA, valB) drawn from
other random streams than the test split, so settings and checkpoints can be chosen on it without seeing the test
images. The held-out splits come with their right answers: ``answers/testA/0003.png`` is the square with the centre,
size and colours of the circle ``testA/0003.png`` (its twin), ``answers/testB/0003.png`` the circle twin of a test
square; likewise ``answers/valA`` and ``answers/valB``. The training split has no answers (it is unpaired). A JSON
file per folder records each image's shape centre, size and colours. The same arguments always give the same bytes.

Training colours are matched (the default since 2026-12-08, #27): trainB's squares take the colour pairs (shape,
background) of trainA's circles in a shuffled order, with their own positions and sizes, so the two training domains
differ in outline only. Drawn independently (``--colours independent``, the earlier data, byte for byte), 200 draws
left trainB's shapes redder and less green than trainA's (mean RGB +0.041, -0.034, +0.009), and an unpaired model that
matches domain B's distribution is right to shift every colour that way: TraVeLGAN did, by +0.059, -0.027, +0.015 on
val. The held-out splits and their twins are the same either way.

    python datasets/make_shapes.py [--root datasets/shapes] [--size 64] [--train 200] [--val 32] [--test 32] [--seed 0]
        [--colours matched|independent]
"""

import argparse
import colorsys
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SUPERSAMPLE = 4  # drawn hard-edged at 4x and box-filtered down: anti-aliased edges
SPLIT_STREAMS = {"train": 0, "test": 1, "val": 2}  # random stream per split: val never shares a draw with test
OTHER = {"A": "B", "B": "A"}


def _colour(rng: np.random.Generator, value: tuple[float, float]) -> list[float]:
    return list(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(*value)))


def scene(rng: np.random.Generator, size: int) -> dict:
    """Where the shape is, how large (radius or half side, px) and its and the background's colours (RGB in [0, 1])."""
    half = rng.uniform(0.14, 0.28) * size
    cx, cy = rng.uniform(half + 2, size - half - 2, 2)
    background = _colour(rng, (0.2, 0.45))  # dark backgrounds, light shapes: the shape is easy to find
    shape = _colour(rng, (0.75, 1.0))
    return {"cx": float(cx), "cy": float(cy), "half": float(half), "background": background, "colour": shape}


def render(where: dict, domain: str, size: int) -> np.ndarray:
    """The scene as an image (H, W, 3) uint8 with a circle (A) or an axis-aligned square (B)."""
    big = size * SUPERSAMPLE
    y, x = (np.mgrid[:big, :big] + 0.5) / SUPERSAMPLE
    cx, cy, half = where["cx"], where["cy"], where["half"]
    if domain == "A":
        mask = np.hypot(x - cx, y - cy) < half
    else:
        mask = (np.abs(x - cx) < half) & (np.abs(y - cy) < half)
    canvas = np.empty((big, big, 3))
    canvas[:] = where["background"]
    canvas[mask] = where["colour"]
    small = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean((1, 3))
    return (small * 255).round().astype(np.uint8)


def _write_folder(folder: Path, scenes: dict[str, dict], domain: str, size: int) -> None:
    folder.mkdir(parents=True)
    for name, where in scenes.items():
        Image.fromarray(render(where, domain, size)).save(folder / name)
    (folder.parent / f"{folder.name}.json").write_text(json.dumps(scenes, indent=0))


def _take_colours(scenes: dict[str, dict], donors: dict[str, dict], rng: np.random.Generator) -> None:
    """Give ``scenes`` the (shape, background) colour pairs of ``donors``, shuffled, keeping their outlines."""
    pairs = [(where["colour"], where["background"]) for where in donors.values()]
    for where, index in zip(scenes.values(), rng.permutation(len(pairs)), strict=True):
        where["colour"], where["background"] = pairs[index]


def write(root: Path, size: int, counts: dict[str, int], seed: int, colours: str = "matched") -> None:
    for split, count in counts.items():
        drawn = {}
        for domain in ("A", "B"):
            rng = np.random.default_rng([seed, SPLIT_STREAMS[split], domain == "B"])
            scenes = drawn[domain] = {f"{i:04d}.png": scene(rng, size) for i in range(count)}
            if split == "train" and domain == "B" and colours == "matched":
                _take_colours(scenes, drawn["A"], rng)
            _write_folder(root / f"{split}{domain}", scenes, domain, size)
            if split != "train":  # each held-out image's twin: the same scene in the other domain
                _write_folder(root / "answers" / f"{split}{domain}", scenes, OTHER[domain], size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="datasets/shapes", type=Path)
    parser.add_argument("--size", default=64, type=int)
    parser.add_argument("--train", default=200, type=int)
    parser.add_argument("--val", default=32, type=int)
    parser.add_argument("--test", default=32, type=int)
    parser.add_argument("--seed", default=0, type=int)
    parser.add_argument(
        "--colours",
        default="matched",
        choices=("matched", "independent"),
        help="trainB's colours: trainA's shuffled (matched) or drawn on their own (the earlier data)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing dataset")
    args = parser.parse_args(argv)
    if args.root.exists():
        if not args.force:
            sys.exit(f"{args.root} exists; pass --force to replace it")
        shutil.rmtree(args.root)
    write(args.root, args.size, {"train": args.train, "val": args.val, "test": args.test}, args.seed, args.colours)
    images = 2 * args.train + 4 * (args.val + args.test)
    print(f"wrote {images} {args.size}x{args.size} PNGs to {args.root} (A circles, B squares; answers/ the twins)")


if __name__ == "__main__":
    main()
