"""Generate "shapes", a toy unpaired task that changes shape, not colour: circles (domain A) to squares (domain B).

Each image holds one shape of random size, position and colour on a plain background of another random colour;
both domains draw sizes, positions and colours from the same distributions, so a translation must keep where the
shape is and how large and what colour it is, and change only its outline. benchmarks/shapes.py measures how well.
Written in the official CycleGAN layout (trainA, trainB, testA, testB), the same arguments always giving the same
bytes; a JSON file per split records each image's shape centre and size.

    python datasets/make_shapes.py [--root datasets/shapes] [--size 64] [--train 200] [--test 32] [--seed 0] [--force]
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


def _colour(rng: np.random.Generator, value: tuple[float, float]) -> np.ndarray:
    return np.asarray(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(*value)))


def draw(rng: np.random.Generator, domain: str, size: int) -> tuple[np.ndarray, dict]:
    """One image (H, W, 3) uint8 with a circle (A) or an axis-aligned square (B), and where it is."""
    big = size * SUPERSAMPLE
    half = rng.uniform(0.14, 0.28) * size  # radius, or half the side
    cx, cy = rng.uniform(half + 2, size - half - 2, 2)
    y, x = (np.mgrid[:big, :big] + 0.5) / SUPERSAMPLE
    if domain == "A":
        mask = np.hypot(x - cx, y - cy) < half
    else:
        mask = (np.abs(x - cx) < half) & (np.abs(y - cy) < half)
    canvas = np.empty((big, big, 3))
    canvas[:] = _colour(rng, (0.2, 0.45))  # dark backgrounds, light shapes: the shape is easy to find
    canvas[mask] = _colour(rng, (0.75, 1.0))
    small = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean((1, 3))
    return (small * 255).round().astype(np.uint8), {"cx": float(cx), "cy": float(cy), "half": float(half)}


def write(root: Path, size: int, counts: dict[str, int], seed: int) -> None:
    for split, count in counts.items():
        for domain in ("A", "B"):
            rng = np.random.default_rng([seed, split == "test", domain == "B"])
            folder = root / f"{split}{domain}"
            folder.mkdir(parents=True)
            where = {}
            for i in range(count):
                pixels, where[f"{i:04d}.png"] = draw(rng, domain, size)
                Image.fromarray(pixels).save(folder / f"{i:04d}.png")
            (root / f"{split}{domain}.json").write_text(json.dumps(where, indent=0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="datasets/shapes", type=Path)
    parser.add_argument("--size", default=64, type=int)
    parser.add_argument("--train", default=200, type=int)
    parser.add_argument("--test", default=32, type=int)
    parser.add_argument("--seed", default=0, type=int)
    parser.add_argument("--force", action="store_true", help="replace an existing dataset")
    args = parser.parse_args(argv)
    if args.root.exists():
        if not args.force:
            sys.exit(f"{args.root} exists; pass --force to replace it")
        shutil.rmtree(args.root)
    write(args.root, args.size, {"train": args.train, "test": args.test}, args.seed)
    print(f"wrote {2 * (args.train + args.test)} {args.size}x{args.size} PNGs to {args.root} (A circles, B squares)")


if __name__ == "__main__":
    main()
