"""Tiled versus untiled prediction: images/s and peak RSS of ``predict_folder`` at a few photo sizes.

    python -m benchmarks.tiling                       # the default cases below, about 2-4 minutes on 2 CPU cores
    python -m benchmarks.tiling --threads 1 --json tiling.json

The generator is the quick-start one (ResnetGenerator, 16 base channels, 3 blocks; random weights: speed and memory
do not depend on the values) inside a CycleGAN, run through ``predict_folder`` exactly as ``translate predict`` runs
it: decode the PNG, pad, translate (whole or in tiles of ``--tile`` overlapping by ``--tile-overlap``), write the PNG.
Each case runs in its own process, so its peak RSS (``VmHWM``, which unlike ``ru_maxrss`` starts afresh at exec) is
its own; "model RSS" is the process after building the model (torch and Lightning imported) and before reading any
image, so peak minus model RSS is what the image and the network's activations cost. Benchmark on a quiet machine:
another job on the same cores slows runs 2-10x.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

# (width, height, tile or None, images): untiled and tiled at two sizes that fit untiled, then a 24-megapixel photo
# tiled only (untiled, its full-resolution activations need many GB).
CASES = [
    (1024, 1024, None, 3),
    (1024, 1024, 512, 3),
    (2048, 1536, None, 2),
    (2048, 1536, 512, 2),
    (6000, 4000, 512, 1),
]


def _photo(width: int, height: int) -> Image.Image:
    """A smooth synthetic photo (gradients and rings): compresses like a real one, unlike noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot(x - width / 2, y - height / 2)
    channels = [x / width, y / height, 0.5 + 0.5 * np.sin(r / 40)]
    return Image.fromarray((np.stack(channels, -1) * 255).astype(np.uint8))


def _peak_rss_mib() -> float:
    """This process's peak resident set size (Linux ``VmHWM``)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def run_case(width: int, height: int, tile: int | None, images: int, overlap: int, threads: int, folder: Path) -> dict:
    """One measurement, in this process: translate ``images`` copies of a width x height photo."""
    import torch

    from translate.inference.predict import predict_folder
    from translate.models import CycleGAN
    from translate.networks import PatchDiscriminator, ResnetGenerator

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = CycleGAN(partial(ResnetGenerator, base_channels=16, num_blocks=3), partial(PatchDiscriminator)).eval()
    model_rss = _peak_rss_mib()
    inputs, outputs = folder / "in", folder / f"out_{width}x{height}_{tile}"
    start = time.perf_counter()
    predict_folder(model, inputs, outputs, tile=tile, tile_overlap=overlap, progress=False, overwrite=True)
    seconds = time.perf_counter() - start
    peak = _peak_rss_mib()
    return {"size": f"{width}x{height}", "tile": tile, "overlap": overlap if tile else None, "images": images,
            "seconds": round(seconds, 2), "images_per_s": round(images / seconds, 3),
            "megapixels_per_s": round(images * width * height / 1e6 / seconds, 3),
            "model_rss_mib": round(model_rss), "peak_rss_mib": round(peak)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-overlap", type=int, default=64, help="overlap of tiled cases (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per case (default 2)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--case", nargs=4, type=int, metavar=("W", "H", "TILE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # a child process: one measurement, printed as JSON
        width, height, tile, images = args.case
        result = run_case(width, height, tile or None, images, args.tile_overlap, args.threads, Path(args.folder))
        print(json.dumps(result))
        return
    results = []
    print(f"{'size':>10} {'tile':>9} {'images/s':>9} {'MP/s':>6} {'model RSS':>10} {'peak RSS':>9}")
    for width, height, tile, images in CASES:
        with tempfile.TemporaryDirectory() as folder:  # inputs and outputs deleted after each case
            (Path(folder) / "in").mkdir()
            photo = _photo(width, height)
            for i in range(images):
                photo.save(Path(folder) / "in" / f"photo_{i}.png", compress_level=1)
            command = [sys.executable, "-m", "benchmarks.tiling", "--case", str(width), str(height), str(tile or 0),
                       str(images), "--folder", folder, "--tile-overlap", str(args.tile_overlap),
                       "--threads", str(args.threads)]  # fmt: skip
            child = subprocess.run(command, capture_output=True, text=True, check=False)
        if child.returncode:
            print(f"{width}x{height} tile {tile}: failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        tiling = f"{tile}/{args.tile_overlap}" if tile else "untiled"
        print(f"{result['size']:>10} {tiling:>9} {result['images_per_s']:>9.3f} {result['megapixels_per_s']:>6.2f} "
              f"{result['model_rss_mib']:>6} MiB {result['peak_rss_mib']:>5} MiB", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
