"""How well a circles -> squares model (datasets/make_shapes.py) changes the shape and keeps everything else.

For each test circle it translates (translate predict's own path, at the model's default scale), the shape is the set
of pixels far from the image's commonest colour (its median); the centre is their distance-weighted centroid.
Printed per run, means over the test set:

- squareness: shape area / its bounding box's area (a square 1.0, a circle 0.785): did the outline change?
- centre error: pixels between the shape's centroid and the circle's centre: did it stay where it was?
- size error: |sqrt(area) / 2 - r| / r, the square's half side against the circle's radius: did it keep its size?
- shape found: the fraction of images where a shape was found at all (a blank output has none).
- contrast: mean distance of the shape's colour from the background's, RGB 0-255 (the data: about 200).

    python -m benchmarks.shapes runs/shapes_article runs/shapes_travel [--data datasets/shapes]
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from translate.inference.loading import load_model
from translate.inference.predict import predict_folder


def shape_figures(image: np.ndarray, where: dict) -> dict[str, float] | None:
    """The figures of one translated image (H, W, 3) uint8 against its source circle; None when no shape is found."""
    pixels = image.astype(float)
    distance = np.linalg.norm(pixels - np.median(pixels.reshape(-1, 3), axis=0), axis=-1)  # off the commonest colour
    weight = np.clip(distance - np.percentile(distance, 60), 0, None)  # the shape covers at most a quarter
    if weight.sum() == 0:
        return None
    mask = weight > weight.max() / 2
    ys, xs = np.nonzero(mask)
    grid_y, grid_x = np.indices(weight.shape) + 0.5
    cy, cx = (weight * grid_y).sum() / weight.sum(), (weight * grid_x).sum() / weight.sum()
    box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    return {
        "contrast": float(distance[mask].mean()),
        "squareness": mask.sum() / box,
        "centre_error": float(np.hypot(cx - where["cx"], cy - where["cy"])),
        "size_error": abs(np.sqrt(mask.sum()) / 2 - where["half"]) / where["half"],
    }


def measure(images: dict[str, np.ndarray], truth: dict) -> dict[str, float]:
    found = [f for name, image in images.items() if (f := shape_figures(image, truth[name])) is not None]
    keys = ("squareness", "centre_error", "size_error", "contrast")
    means = {key: float(np.mean([f[key] for f in found])) for key in keys}
    return means | {"shape_found": len(found) / len(images)}


def _read(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="checkpoints or run folders of models trained on datasets/shapes")
    parser.add_argument("--data", default="datasets/shapes", type=Path)
    args = parser.parse_args()
    truth = json.loads((args.data / "testA.json").read_text())
    rows = {"input circles": measure(_read(args.data / "testA"), truth)}
    squares = json.loads((args.data / "testB.json").read_text())
    rows["real squares (testB)"] = measure(_read(args.data / "testB"), squares)
    for run in args.runs:
        with tempfile.TemporaryDirectory() as out:
            predict_folder(load_model(run), args.data / "testA", out, progress=False)
            rows[run] = measure(_read(Path(out)), truth)
    print(f"{'':40} squareness  centre err (px)  size err  shape found  contrast")
    for name, r in rows.items():
        print(f"{name:40} {r['squareness']:10.3f} {r['centre_error']:16.2f} {r['size_error']:9.3f} "
              f"{r['shape_found']:11.2f} {r['contrast']:9.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
