"""pix2pix: L1 and PSNR of predictions against the paired test targets, at the input's size and resized (#26).

    python datasets/make_fruit_pairs.py
    translate fit --config configs/pix2pix_quickstart.yaml              # OMP_NUM_THREADS=1
    python -m benchmarks.pix2pix_scale runs/pix2pix_quickstart/checkpoints/last.ckpt

Three test sets of the 16 fruit_pairs test pairs: as generated (64 px, the training crop size), upscaled 2x by
bicubic (128 px, targets upscaled the same way) and drawn at 128 px (``make_fruit_pairs.py --size 128``: the same
scenes with real detail). Each is translated by ``translate predict`` at ``--scale native`` (the input's own pixels,
our default for pix2pix) and ``--scale training`` (resized so the shorter side is the training load_size, translated,
resized back), and as the official test.py does: every image resized to crop_size x crop_size (bicubic, its
``load_size = crop_size`` at test time; 256 officially, 64 here), the output resized back to the input's size to be
compared. ``official, no --eval``: the same, with batch norm on the test image's own statistics (the official test's
default; no dropout in the quick start's 5-level U-Net). Scores on [0, 1] pixels, means over the 16 images; the
label map itself is the floor any translation must beat.
"""

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from translate.cli import main as translate
from translate.data.image_writer import to_pil
from translate.inference.loading import load_model

ROOT = Path(__file__).resolve().parent.parent


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255


def scores(outputs: dict[str, np.ndarray], targets: dict[str, np.ndarray]) -> dict:
    l1 = [np.abs(outputs[name] - target).mean() for name, target in targets.items()]
    psnr = [10 * np.log10(1 / np.square(outputs[name] - target).mean()) for name, target in targets.items()]
    return {"l1": round(float(np.mean(l1)), 4), "psnr_db": round(float(np.mean(psnr)), 2)}


def official(generator: torch.nn.Module, source: Path, crop_size: int) -> np.ndarray:
    """The official test: resize to crop_size square (bicubic), translate, here resized back to compare."""
    image = Image.open(source).convert("RGB")
    x = np.asarray(image.resize((crop_size, crop_size), Image.BICUBIC), dtype=np.float32) / 127.5 - 1
    with torch.no_grad():
        y = generator(torch.from_numpy(x).permute(2, 0, 1)[None])[0]
    out = to_pil(y).resize(image.size, Image.BICUBIC)
    return np.asarray(out, dtype=np.float64) / 255


def test_sets(work: Path, data: Path) -> dict[str, Path]:
    """name -> a folder with A (inputs) and B (targets)."""
    sets = {"64 px (as trained)": data, "128 px (2x bicubic)": work / "x2"}
    for side in ("A", "B"):
        (work / "x2" / side).mkdir(parents=True)
        for path in sorted((data / f"test{side}").iterdir()):
            image = Image.open(path).convert("RGB")
            image.resize((2 * image.width, 2 * image.height), Image.BICUBIC).save(work / "x2" / side / path.name)
    drawn = work / "drawn128"
    subprocess.run([sys.executable, str(ROOT / "datasets" / "make_fruit_pairs.py"), "--root", str(drawn), "--size",
                    "128"], check=True, capture_output=True)  # fmt: skip
    sets["128 px (drawn)"] = drawn
    return sets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ckpt", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / "datasets" / "fruit_pairs")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results-pix2pix-scale.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.ckpt, device="cpu")
    generator = model.translator("a2b").eval()
    batch_stats = copy.deepcopy(generator).train()  # the official test without --eval
    data = torch.load(args.ckpt, map_location="cpu", weights_only=True)["datamodule_hyper_parameters"]
    crop_size = data["crop_size"]  # what the official test resizes every image to
    rows = []
    with tempfile.TemporaryDirectory(prefix="pix2pix_scale_") as tmp:
        for name, folder in test_sets(Path(tmp), args.data).items():
            a, b = (folder / "testA", folder / "testB") if (folder / "testA").is_dir() else (folder / "A", folder / "B")
            targets = {path.name: pixels(path) for path in sorted(b.iterdir())}
            row = {"test set": name, "input (label map)": scores({n: pixels(a / n) for n in targets}, targets)}
            for scale in ("native", "training"):
                out = Path(tmp) / "out" / name / scale
                translate(["predict", "--ckpt", str(args.ckpt), "--input", str(a), "--output", str(out), "--scale",
                           scale])  # fmt: skip
                row[f"--scale {scale}"] = scores({n: pixels(out / n) for n in targets}, targets)
            row["official (resize to crop_size)"] = scores({n: official(generator, a / n, crop_size) for n in targets},
                                                           targets)  # fmt: skip
            row["official, no --eval"] = scores({n: official(batch_stats, a / n, crop_size) for n in targets}, targets)
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.json.write_text(json.dumps({"ckpt": str(args.ckpt), "crop_size": crop_size, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
