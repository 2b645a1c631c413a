"""Generate "fruit_basket", a toy three-domain dataset for the StarGAN quick start (numpy and Pillow only).

Apples and oranges as in ``make_fruit.py``, plus limes (the orange's dimpled peel and navel in green), written one
folder per domain: ``train/{apple,orange,lime}`` and ``test/{apple,orange,lime}``. The same arguments always give the
same bytes.

    python datasets/make_fruit_basket.py [--root datasets/fruit_basket] [--size 64] [--train 200] [--test 16]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fruit  # noqa: E402  (the apple and orange painters, and draw)

FRUITS = ("apple", "orange", "lime")


def lime(rng: np.random.Generator, canvas: np.ndarray, y: np.ndarray, x: np.ndarray, cx, cy, r) -> None:
    """An orange's shape and peel, painted lime green: swaps the colour inside the fruit's own pixels."""
    before = canvas.copy()
    make_fruit.orange(rng, canvas, y, x, cx, cy, r)
    changed = np.any(canvas != before, axis=-1)  # (h, w): the pixels the orange painted
    rgb = canvas[changed]
    canvas[changed] = rgb[:, [1, 0, 2]] * [0.75, 0.95, 1.0] + [0.0, 0.0, 0.02]  # orange-red -> yellow-green


def draw(rng: np.random.Generator, fruit: str, size: int) -> np.ndarray:
    painter = {"apple": make_fruit.apple, "orange": make_fruit.orange, "lime": lime}[fruit]
    return make_fruit.draw(rng, painter, size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("datasets/fruit_basket"), help="output folder")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--train", type=int, default=200, help="training images per domain")
    parser.add_argument("--test", type=int, default=16, help="test images per domain")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.size < 8 or args.train < 1 or args.test < 0:
        parser.error("need --size >= 8, --train >= 1 and --test >= 0")
    for split_index, (split, count) in enumerate((("train", args.train), ("test", args.test))):
        for fruit_index, fruit in enumerate(FRUITS):
            folder = args.root / split / fruit
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([args.seed, split_index, fruit_index, i, 7])
                Image.fromarray(draw(rng, fruit, args.size)).save(folder / f"{fruit}_{i:04d}.png")
    print(f"wrote {len(FRUITS) * (args.train + args.test)} PNGs to {args.root} ({', '.join(FRUITS)})")


if __name__ == "__main__":
    main()
