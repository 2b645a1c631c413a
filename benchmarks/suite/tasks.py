"""The four tasks of the suite: how each writes its data (with the right answer of every held-out image) and how a
checkpoint, or the untouched input, is scored on a split.

- ``tone``, ``texture``: benchmarks/suite/photos.py (train, val and test crops from different photos).
- ``object``: apples -> oranges, datasets/make_fruit.py with ``--answers`` (each held-out scene's twin with oranges,
  and the fruit masks), scored by PSNR and SSIM against the twin and the background error outside the fruits.
- ``shape``: circles -> squares, datasets/make_shapes.py, scored by benchmarks/shapes.py (its PSNR against the twin,
  squareness, centre, size, colour and background errors).
"""

import importlib.util
import json
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from benchmarks import shapes
from benchmarks.suite import photos
from benchmarks.suite.metrics import score_folder

REPO = Path(__file__).resolve().parents[2]
SPLITS = ("val", "test")


@dataclass(frozen=True)
class Task:
    """A task's name, the metrics its tables show (PSNR first: it chooses checkpoints) and where it comes from."""

    name: str
    headline: tuple[str, ...]
    about: str


TASKS = {
    "tone": Task("tone", ("psnr", "ssim"), "colour grade of photo crops (train, val, test: other photos)"),
    "texture": Task("texture", ("psnr", "ssim"), "unsharp mask of photo crops (train, val, test: other photos)"),
    "object": Task("object", ("psnr", "ssim", "background_error"), "apples -> oranges, scored against twin scenes"),
    "shape": Task("shape", ("psnr", "squareness", "background_error"), "circles -> squares, against twin scenes"),
}


def _script(path: str):
    """A generator script of datasets/ (not a package), imported as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A task whose data changed says so, so that runs on the earlier data are not mixed with new ones (a folder stamped
# otherwise is refused): the shape task's training colours are matched since 2026-12-08 (datasets/make_shapes.py).
DATA_VERSIONS = {"shape": {"colours": "matched"}}


def _counts(tiny: bool) -> list[str]:
    sizes = ("32", "8", "4", "4") if tiny else ("64", "200", "32", "32")
    return [f"--{key}={value}" for key, value in zip(("size", "train", "val", "test"), sizes, strict=True)]


def write_data(task: str, root: Path, *, tiny: bool = False) -> None:
    """Write ``task``'s data under ``root`` unless it is there: ``.suite.json``, written last, says what was written
    (a folder without it was cut short and is written again)."""
    stamp, recipe = root / ".suite.json", json.dumps({"task": task, "tiny": tiny, **DATA_VERSIONS.get(task, {})})
    if stamp.exists() and stamp.read_text() == recipe:
        return
    if stamp.exists():
        raise SystemExit(
            f"{root} holds other data ({stamp.read_text()}) than {recipe}: delete it, or pass another --out"
        )
    if task in photos.TRANSFORMS:
        photos.write(root, task, **({"crop": 36, "train": 8, "short_side": 72} if tiny else {}))
    elif task == "object":
        _script("datasets/make_fruit.py").main(["--root", str(root), "--answers", "--force", *_counts(tiny)])
    elif task == "shape":
        _script("datasets/make_shapes.py").main(["--root", str(root), "--force", *_counts(tiny)])
    else:
        raise ValueError(f"unknown task {task!r}, expected one of {list(TASKS)}")
    stamp.write_text(recipe)


def quiet() -> None:
    """One torch thread for scoring (beside the training's one), Lightning's banners off."""
    import lightning.pytorch  # noqa: F401  (imported first: it sets its logger's level on import)
    import torch

    torch.set_num_threads(1)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")


def score_images(task: str, images: Path, root: Path, split: str) -> dict[str, float]:
    """Scores of a folder of A -> B translations of ``root/<split>A`` (the same names) against the answers."""
    masks = root / "masks" / f"{split}A" if task == "object" else None
    return score_folder(images, root / "answers" / f"{split}A", masks)


def identity(task: str, root: Path, split: str) -> dict[str, float]:
    """The untouched input scored as a translation: what a model has to beat."""
    if task == "shape":
        return shapes.baselines(root, split)["identity"]
    return score_images(task, root / f"{split}A", root, split)


def score_checkpoint(task: str, checkpoint: Path, root: Path) -> dict[str, dict[str, float]]:
    """split -> scores of the checkpoint's A -> B translations (``translate predict``'s path and scale)."""
    if task == "shape":
        return {split: shapes.score(checkpoint, root, split) for split in SPLITS}
    from translate.inference.loading import load_model
    from translate.inference.predict import predict_folder

    model, scores = load_model(checkpoint), {}
    for split in SPLITS:
        with tempfile.TemporaryDirectory() as out:
            predict_folder(model, root / f"{split}A", out, direction="a2b", progress=False)
            scores[split] = score_images(task, Path(out), root, split)
    return scores
