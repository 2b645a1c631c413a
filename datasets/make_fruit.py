"""Generate "fruit", a toy unpaired apple2orange dataset for the quick start (numpy and Pillow only).

Domain A: shaded red apples with a brown stem and a green leaf; domain B: dimpled oranges with a small green navel.
Both sit on the same kind of pastel backgrounds with soft shadows, one or two fruits of random size and position per
image, so a translation has to keep the geometry and change only colour and texture. Written in the official CycleGAN
layout (trainA, trainB, testA, testB); the same arguments always give the same bytes.

``--val N`` adds a validation split (valA, valB) from its own random streams, so settings can be chosen without
seeing the test images; ``--answers`` writes each held-out image's twin, the same scene (background, shadows, fruit
centres and sizes) with the other fruit, as ``answers/testA/apple_0003.png`` (an orange) and likewise for testB, valA
and valB, and ``masks/testA/apple_0003.png``: white where a fruit (stem, leaf, navel) covers any part of the pixel in
the image or its twin; elsewhere the image and its twin are equal (benchmarks/suite scores against both). The training
and test images do not depend on either option.

    python datasets/make_fruit.py [--root datasets/fruit] [--size 64] [--train 200] [--test 16] [--seed 0] [--force]
    python datasets/make_fruit.py --root runs/suite/data/object --val 32 --test 32 --answers
"""

import argparse
import colorsys
import copy
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

SUPERSAMPLE = 4  # shapes are drawn hard-edged at 4x and box-filtered down: anti-aliased edges without a renderer
LIGHT = np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])  # from the upper left, towards viewer
HALFWAY = (LIGHT + [0, 0, 1]) / np.linalg.norm(LIGHT + [0, 0, 1])  # Blinn-Phong highlight direction
DOMAINS = {"A": "apple", "B": "orange"}
SPLIT_STREAMS = {"train": 0, "test": 1, "val": 2}  # random stream per split: val is new, its own stream


def background(colour: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """The background colour, a little darker towards the bottom: (H, W, 3) in [0, 1]."""
    return colour * (1 - 0.1 * y / size)[..., None] * np.ones(3)


def add_shadow(canvas: np.ndarray, y: np.ndarray, x: np.ndarray, cx: float, cy: float, r: float) -> None:
    """A soft elliptical shadow below and right of a fruit (the light comes from the upper left)."""
    e = np.hypot((x - cx - 0.25 * r) / (1.05 * r), (y - cy - 0.8 * r) / (0.4 * r))
    fade = np.clip(1 - e, 0, 1)
    canvas *= 1 - 0.35 * (fade * fade * (3 - 2 * fade))[..., None]  # smoothstep falloff


def sphere(y: np.ndarray, x: np.ndarray, cx: float, cy: float, rx: float, ry: float):
    """Mask, normalised offsets and shading (ambient + diffuse, specular) of an ellipsoid seen from the front."""
    dx, dy = (x - cx) / rx, (y - cy) / ry
    d2 = dx * dx + dy * dy
    nz = np.sqrt(np.clip(1 - d2, 0, 1))
    diffuse = np.clip(dx * LIGHT[0] + dy * LIGHT[1] + nz * LIGHT[2], 0, 1)
    specular = np.clip(dx * HALFWAY[0] + dy * HALFWAY[1] + nz * HALFWAY[2], 0, 1) ** 30
    return d2 < 1, dx, dy, 0.3 + 0.7 * diffuse, specular


def paint(canvas: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    canvas[mask] = colour[mask] if colour.ndim == 3 else colour


def capsule(y: np.ndarray, x: np.ndarray, p0: tuple, p1: tuple, width: float) -> np.ndarray:
    """Pixels within ``width`` of the segment p0-p1 (points as (x, y))."""
    (x0, y0), (x1, y1) = p0, p1
    t = np.clip(((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2), 0, 1)
    return np.hypot(x - x0 - t * (x1 - x0), y - y0 - t * (y1 - y0)) < width


def apple(rng: np.random.Generator, canvas: np.ndarray, y: np.ndarray, x: np.ndarray, cx, cy, r) -> None:
    """A red-to-dark-red apple with faint vertical streaks, a brown stem and a green leaf."""
    rx, ry = r * rng.uniform(1.0, 1.1), r * rng.uniform(0.92, 1.0)  # apples are a little wider than tall
    mask, dx, dy, shade, specular = sphere(y, x, cx, cy, rx, ry)
    red = np.array([0.82, 0.1, 0.1]) + rng.uniform(0, 1) * (np.array([0.5, 0.04, 0.08]) - [0.82, 0.1, 0.1])
    streaks = 1 + 0.07 * np.sin(14 * np.arctan2(dx, 1.2 - dy) + rng.uniform(0, 2 * np.pi))
    base = red * (streaks * (1 - 0.15 * np.clip(dy, 0, 1)))[..., None]  # darker towards the bottom
    paint(canvas, mask, base * shade[..., None] + 0.45 * specular[..., None] * (1 - base))
    lean = rng.uniform(-0.25, 0.25)
    top = (cx, cy - 0.85 * ry)
    tip = (cx + lean * r, cy - 1.25 * ry)
    paint(canvas, capsule(y, x, top, tip, 0.07 * r), np.array([0.4, 0.24, 0.1]))
    angle = rng.uniform(-0.6, 0.1) + (0 if lean < 0 else np.pi)  # leaf on the side the stem leans away from
    lx, ly = tip[0] + 0.3 * r * np.cos(angle + np.pi), tip[1] + 0.3 * r * np.sin(angle + np.pi) + 0.08 * r
    u = ((x - lx) * np.cos(angle) + (y - ly) * np.sin(angle)) / (0.3 * r)
    v = (-(x - lx) * np.sin(angle) + (y - ly) * np.cos(angle)) / (0.12 * r)
    leaf = u * u + v * v < 1
    green = np.array([0.22, 0.58, 0.18]) * (0.8 + 0.2 * np.clip(v, -1, 1))[..., None]  # shaded across the midrib
    paint(canvas, leaf, green)


def orange(rng: np.random.Generator, canvas: np.ndarray, y: np.ndarray, x: np.ndarray, cx, cy, r) -> None:
    """An orange with a dimpled peel (small darker dots on a jittered grid) and a small green navel."""
    rx, ry = r * rng.uniform(0.96, 1.04), r * rng.uniform(0.96, 1.04)
    mask, dx, dy, shade, specular = sphere(y, x, cx, cy, rx, ry)
    base = np.array([0.98, 0.56, 0.07]) + rng.uniform(0, 1) * (np.array([0.92, 0.42, 0.02]) - [0.98, 0.56, 0.07])
    cell = max(2.0, r / 7)  # dimple spacing scales with the fruit, so the texture looks the same at any --size
    iy, ix = np.floor((y - cy) / cell), np.floor((x - cx) / cell)
    keys = (iy * 7919 + ix * 104729).astype(np.int64)  # per-cell jitter from a hash: the same for every pixel
    jitter = rng.uniform(0.25, 0.75, size=(2, 64))
    jy, jx = jitter[0][keys % 64], jitter[1][(keys // 64) % 64]
    dist = np.hypot((y - cy) / cell - iy - jy, (x - cx) / cell - ix - jx)
    dimples = (dist < 0.28) & (keys % 3 != 0)
    peel = base * np.where(dimples, 0.8, 1.0)[..., None]
    paint(canvas, mask, peel * shade[..., None] + 0.3 * specular[..., None] * (1 - peel))
    nx, ny = cx + rng.uniform(-0.15, 0.15) * r, cy - rng.uniform(0.45, 0.65) * r
    paint(canvas, mask & (np.hypot(x - nx, y - ny) < 0.1 * r), np.array([0.3, 0.45, 0.12]))


def window(cx: float, cy: float, r: float, size: int, *, top, bottom, left, right) -> tuple[slice, slice]:
    """Supersampled rows and columns around a fruit (extents in radii): drawing only there is ~3x faster."""

    def span(low: float, high: float) -> slice:
        return slice(max(0, int(low * SUPERSAMPLE)), max(0, int(np.ceil(high * SUPERSAMPLE))))

    return span(cy - top * r, cy + bottom * r), span(cx - left * r, cx + right * r)


def layout(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """A scene without its fruits' looks: the background colour (a light pastel) and each fruit's centre and radius
    in px, back to front. Drawn from ``rng`` before any painter draws, so a twin replays it with another painter."""
    colour = np.asarray(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.12, 0.3), rng.uniform(0.88, 0.98)))
    if rng.random() < 0.25:  # two smaller fruits, left and right
        fruits = [(rng.uniform(0.22, 0.4), rng.uniform(0.4, 0.72), rng.uniform(0.15, 0.22)) for _ in range(2)]
        fruits[1] = (1 - fruits[1][0], *fruits[1][1:])
    else:  # one fruit, often off-centre and sometimes cut by the border
        fruits = [(rng.uniform(0.3, 0.7), rng.uniform(0.45, 0.72), rng.uniform(0.2, 0.33))]
    return colour, [(fx * size, fy * size, fr * size) for fx, fy, fr in sorted(fruits, key=lambda f: f[1])]


def render(
    rng: np.random.Generator, painter: Callable[..., None], size: int, *, with_mask: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """One image, (size, size, 3) uint8: background, shadows, then the fruits back to front, each by ``painter``; and
    with ``with_mask`` the fruit mask, (size, size) bool: the pixels a fruit (its stem, leaf, navel) covers even in
    part."""
    side = size * SUPERSAMPLE
    y, x = (np.mgrid[0:side, 0:side] + 0.5) / SUPERSAMPLE  # pixel centres in output-pixel units
    colour, fruits = layout(rng, size)
    canvas = background(colour, y, size)
    for cx, cy, r in fruits:
        box = window(cx, cy, r, size, top=-0.5, bottom=1.3, left=0.9, right=1.4)
        add_shadow(canvas[box], y[box], x[box], cx, cy, r)
    passes = [(canvas, rng)]
    if with_mask:  # the same fruits painted again on nothing, from the same draws: what they cover stops being NaN
        blank = np.full_like(canvas, np.nan)
        passes = [(canvas, copy.deepcopy(rng)), (blank, rng)]
    for target, stream in passes:
        for cx, cy, r in fruits:
            box = window(cx, cy, r, size, top=1.7, bottom=1.15, left=1.2, right=1.2)
            painter(stream, target[box], y[box], x[box], cx, cy, r)
    small = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    image = np.clip(np.rint(small * 255), 0, 255).astype(np.uint8)
    if not with_mask:
        return image, None
    return image, ~np.isnan(blank[..., 0]).reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).all(axis=(1, 3))


def draw(rng: np.random.Generator, painter: Callable[..., None], size: int) -> np.ndarray:
    """One image: background, shadows, then the fruits back to front, each by ``painter``; (size, size, 3) uint8."""
    return render(rng, painter, size)[0]


def write_split(root: Path, split: str, count: int, *, size: int, seed: int, answers: bool) -> None:
    """``count`` images per domain in ``root/<split>A`` and ``<split>B``; with ``answers``, every image's twin (the
    same scene with the other fruit) in ``root/answers/<split><domain>/<name>`` and the mask of the pixels a fruit
    covers in the image or its twin in ``root/masks/<split><domain>/<name>`` (white; outside it the two are equal)."""
    for domain_index, (domain, fruit) in enumerate(DOMAINS.items()):
        painter, other = (apple, orange) if fruit == "apple" else (orange, apple)
        folders = [root / f"{split}{domain}"] + [root / kind / f"{split}{domain}" for kind in ("answers", "masks")]
        if count:  # no empty folder for --test 0: the data module then skips validation
            for folder in folders if answers else folders[:1]:
                folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            # Each image has its own stream: changing --train, --val or --test leaves the other images unchanged.
            stream = [seed, SPLIT_STREAMS[split], domain_index, i]
            name = f"{fruit}_{i:04d}.png"
            image, mask = render(np.random.default_rng(stream), painter, size, with_mask=answers)
            Image.fromarray(image).save(folders[0] / name)
            if answers:  # the twin replays the stream: the layout is drawn before the painter's own draws
                twin, twin_mask = render(np.random.default_rng(stream), other, size, with_mask=True)
                Image.fromarray(twin).save(folders[1] / name)
                Image.fromarray(((mask | twin_mask) * 255).astype(np.uint8)).save(folders[2] / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("datasets/fruit"), help="output folder")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--train", type=int, default=200, help="training images per domain")
    parser.add_argument("--test", type=int, default=16, help="test images per domain")
    parser.add_argument("--val", type=int, default=0, help="validation images per domain (valA, valB)")
    parser.add_argument("--answers", action="store_true", help="write the val and test twins and fruit masks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace the split folders of an existing dataset")
    args = parser.parse_args(argv)
    if args.size < 8 or args.train < 1 or args.test < 0 or args.val < 0:
        parser.error("need --size >= 8, --train >= 1, --test >= 0 and --val >= 0")
    # --val and --answers enter the recipe only when used: a dataset written before they existed still matches
    chosen = {key: value for key, value in vars(args).items() if key not in ("root", "force")}
    recipe = json.dumps({key: value for key, value in chosen.items() if value or key not in ("val", "answers")})
    stamp = args.root / ".make_fruit.json"  # written last: its presence means a complete dataset of that recipe
    if not args.force and stamp.exists() and stamp.read_text() == recipe:
        print(f"{args.root} already holds this dataset ({recipe}); nothing to do")
        return
    if args.root.exists() and any(args.root.iterdir()) and not args.force:
        sys.exit(f"{args.root} exists and is not empty; pass --force to replace its trainA/trainB/testA/testB")
    start = time.perf_counter()
    for folder in [f"{split}{domain}" for split in SPLIT_STREAMS for domain in DOMAINS] + ["answers", "masks"]:
        shutil.rmtree(args.root / folder, ignore_errors=True)  # no stale images from a larger run
    counts = {"train": args.train, "test": args.test, "val": args.val}
    for split, count in counts.items():
        write_split(args.root, split, count, size=args.size, seed=args.seed, answers=args.answers and split != "train")
    stamp.write_text(recipe)
    total = 2 * sum(counts.values())
    val = f" + {args.val} val" if args.val else ""
    print(
        f"wrote {total} {args.size}x{args.size} PNGs to {args.root} (trainA/testA apples, trainB/testB oranges: "
        f"{args.train} + {args.test}{val} per domain{'; answers/ and masks/' if args.answers else ''}) "
        f"in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
