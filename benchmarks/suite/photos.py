"""The photo tasks: a fixed transform of crops of the photos that ship with scikit-image, cut so that training,
validation and test crops come from different photos (and scenes: both motorcycle views are training photos).

- ``tone``: a colour grade (per-channel gamma 0.8 / 1.0 / 1.25 and gains 1.0 / 0.97 / 0.85: warm, darker blues).
- ``texture``: an unsharp mask (amount 1.5, Gaussian sigma 1.0): fine detail and edges amplified.

Every photo is area-scaled to a shorter side of 192 px and transformed whole, so a crop's answer does not depend on
where it was cut. Domain A of the training split is random crops of the training photos, domain B *other* random
crops of the transformed training photos (unpaired). The validation and test crops tile their photos (evenly spaced,
overlapping where the side is not a multiple of the crop); ``valA/x.png`` is a crop, ``valB/x.png`` its transform,
which is also ``answers/valA/x.png`` (and the crop is ``answers/valB/x.png``); likewise for test. File names start
with the photo's name: ``chelsea_1_3.png`` is row 1, column 3 of chelsea.
"""

import json
import math
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

# scikit-image's colour photographs, one scene per split entry; the grey ones (camera, moon, ...) are left out.
PHOTOS = {
    "train": ("astronaut.png", "motorcycle_left.png", "motorcycle_right.png", "hubble_deep_field.jpg", "retina.jpg"),
    "val": ("rocket.jpg", "ihc.png"),
    "test": ("chelsea.png", "coffee.png"),
}
SHORT_SIDE = 192  # each photo is area-scaled to this shorter side first


def tone(photo: np.ndarray) -> np.ndarray:
    """Colour grade: per-channel gamma and gain (invertible: no channel clips)."""
    x = photo.astype(np.float64) / 255
    graded = np.stack([1.0 * x[..., 0] ** 0.8, 0.97 * x[..., 1], 0.85 * x[..., 2] ** 1.25], axis=-1)
    return np.clip(np.round(graded * 255), 0, 255).astype(np.uint8)


def texture(photo: np.ndarray) -> np.ndarray:
    """Unsharp mask: x + 1.5 (x - blur(x)), Gaussian blur with sigma 1 px per channel."""
    from scipy.ndimage import gaussian_filter

    x = photo.astype(np.float64)
    blurred = gaussian_filter(x, sigma=(1.0, 1.0, 0), mode="reflect")
    return np.clip(np.round(x + 1.5 * (x - blurred)), 0, 255).astype(np.uint8)


TRANSFORMS = {"tone": tone, "texture": texture}


def load_photo(name: str, short_side: int = SHORT_SIDE) -> np.ndarray:
    """A photo from ``skimage.data``'s folder (in the wheel: no download), area-scaled, as (H, W, 3) uint8."""
    import skimage.data

    image = Image.open(Path(skimage.data.__file__).parent / name).convert("RGB")
    scale = short_side / min(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    return np.asarray(image.resize(size, Image.Resampling.BOX))


def _starts(length: int, crop: int) -> list[int]:
    """Evenly spaced crop starts that cover ``length``: the first at 0, the last at ``length - crop``."""
    count = math.ceil(length / crop)
    return [round(i * (length - crop) / max(count - 1, 1)) for i in range(count)]


def tiles(photo: np.ndarray, crop: int) -> dict[str, tuple[int, int]]:
    """``row_col`` -> (top, left) of the crops that tile ``photo``."""
    height, width = photo.shape[:2]
    return {f"{r}_{c}": (top, left) for r, top in enumerate(_starts(height, crop))
            for c, left in enumerate(_starts(width, crop))}  # fmt: skip


def _save(folder: Path, images: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        Image.fromarray(image).save(folder / name)


def _random_crops(photos: dict[str, np.ndarray], count: int, crop: int, rng: np.random.Generator) -> dict:
    """``count`` crops, taken from the photos in turn at random places: name -> (H, W, 3) uint8."""
    crops, names = {}, list(photos)
    for i in range(count):
        stem = names[i % len(names)]
        height, width = photos[stem].shape[:2]
        top, left = rng.integers(0, height - crop + 1), rng.integers(0, width - crop + 1)
        crops[f"{stem}_{i:04d}.png"] = photos[stem][top : top + crop, left : left + crop]
    return crops


def _held_out(photos: dict[str, np.ndarray], graded: dict[str, np.ndarray], crop: int) -> tuple[dict, dict]:
    """The tiles of the held-out photos and of their transforms, under the same names."""
    a, b = {}, {}
    for stem, photo in photos.items():
        for where, (top, left) in tiles(photo, crop).items():
            a[f"{stem}_{where}.png"] = photo[top : top + crop, left : left + crop]
            b[f"{stem}_{where}.png"] = graded[stem][top : top + crop, left : left + crop]
    return a, b


def write(root: Path, task: str, *, crop: int = 72, train: int = 200, short_side: int = SHORT_SIDE) -> None:
    """The task's folders under ``root``: trainA, trainB, valA, valB, testA, testB and answers/ (see the module)."""
    if task not in TRANSFORMS:
        raise ValueError(f"unknown photo task {task!r}, expected one of {sorted(TRANSFORMS)}")
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(0)  # the data never changes; seeds change the training, not the crops
    for split, names in PHOTOS.items():
        photos = {Path(name).stem: load_photo(name, short_side) for name in names}
        graded = {stem: TRANSFORMS[task](photo) for stem, photo in photos.items()}
        if split == "train":
            _save(root / "trainA", _random_crops(photos, train, crop, rng))
            _save(root / "trainB", _random_crops(graded, train, crop, rng))
            continue
        a, b = _held_out(photos, graded, crop)
        for folder, images in {f"{split}A": a, f"{split}B": b, f"answers/{split}A": b, f"answers/{split}B": a}.items():
            _save(root / folder, images)
    sources = {split: [Path(name).stem for name in names] for split, names in PHOTOS.items()}
    (root / "photos.json").write_text(json.dumps(sources, indent=1))
