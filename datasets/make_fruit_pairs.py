"""Generate "fruit_pairs", a toy paired dataset for the pix2pix quick start: a flat label map -> the painted fruit.

B is a painted apple or orange scene from make_fruit.py; A is its label map: every pixel replaced by the flat colour of
its class (background, apple red, orange, leaf green, stem brown, shadow), so a translation must paint shading,
texture and highlights into given shapes, as labels -> photo does. Matched-names layout (trainA/x.png <-> trainB/x.png,
testA, testB); the same arguments always give the same bytes.

    python datasets/make_fruit_pairs.py [--root datasets/fruit_pairs] [--size 64] [--train 200] [--test 16] [--force]
"""

import argparse
import colorsys
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fruit import apple, draw, orange  # noqa: E402  (the painted scenes)

LABELS = {  # class -> flat colour of the label map
    "red": (200, 30, 40),
    "orange": (250, 150, 20),
    "green": (40, 160, 40),
    "brown": (110, 70, 30),
}


def label_map(painted: np.ndarray, fruit: str) -> np.ndarray:
    """(H, W, 3) uint8 painted scene of ``fruit`` (apple or orange) -> its label map: fruit, leaf and stem pixels in
    flat class colours, the rest the background's median colour (shadows included: they are darker background)."""
    rgb = painted.astype(float) / 255
    hsv = np.array([colorsys.rgb_to_hsv(*px) for px in rgb.reshape(-1, 3)]).reshape(rgb.shape)
    hue, sat, value = hsv[..., 0] * 360, hsv[..., 1], hsv[..., 2]
    out = np.empty_like(painted)
    out[:] = np.median(painted[sat < 0.35], axis=0) if (sat < 0.35).any() else painted.reshape(-1, 3).mean(0)
    strong = sat > 0.45
    out[strong & ((hue < 18) | (hue > 330))] = LABELS["red"]
    # an orange's shaded side has the hue of an apple's stem: which one a pixel is follows from the scene's fruit
    out[strong & (hue >= 18) & (hue < 50) & (value > 0.15)] = LABELS["orange" if fruit == "orange" else "brown"]
    out[strong & (hue >= 70) & (hue < 170)] = LABELS["green"]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("datasets/fruit_pairs"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=200, help="training pairs")
    parser.add_argument("--test", type=int, default=16, help="test pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing dataset")
    args = parser.parse_args(argv)
    if args.root.exists():
        if not args.force:
            sys.exit(f"{args.root} exists; pass --force to replace it")
        shutil.rmtree(args.root)
    for split_index, (split, count) in enumerate((("train", args.train), ("test", args.test))):
        for folder in ("A", "B"):
            (args.root / f"{split}{folder}").mkdir(parents=True)
        for i in range(count):
            rng = np.random.default_rng([args.seed, split_index, i])
            fruit = "apple" if i % 2 == 0 else "orange"
            painted = draw(rng, apple if fruit == "apple" else orange, args.size)
            Image.fromarray(label_map(painted, fruit)).save(args.root / f"{split}A" / f"{i:04d}.png")
            Image.fromarray(painted).save(args.root / f"{split}B" / f"{i:04d}.png")
    print(
        f"wrote {2 * (args.train + args.test)} {args.size}x{args.size} PNGs to {args.root} (A label maps, B paintings)"
    )


if __name__ == "__main__":
    main()
