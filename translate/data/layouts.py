"""Dataset folder layouts: which domains a folder holds, and what to say when it is missing."""

from collections.abc import Sequence
from pathlib import Path

from translate.data.images import IMAGE_EXTENSIONS, walk_once

LAYOUTS = "datasets/README.md lists the layouts"
# The official CycleGAN datasets, by name: `translate data download NAME` fetches them (data/download.py).
CYCLEGAN_DATASETS = (
    "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
    "vangogh2photo", "maps", "cityscapes", "facades", "iphone2dslr_flower",
)  # fmt: skip
# The official pix2pix datasets (aligned A|B images in train/, val/, test/): `translate data download NAME --paired`.
# facades, maps and cityscapes are in both collections: the CycleGAN zips hold the same photos split into trainA and
# trainB, without the pairing, so the flag picks the collection and the unpaired one stays the default.
PIX2PIX_DATASETS = ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day")


def _holds_images(folder: Path) -> bool:
    """Whether any image file is under ``folder`` (stops at the first one found)."""
    return any(Path(f).suffix.lower() in IMAGE_EXTENSIONS for _, files in walk_once(folder) for f in files)


def _is_official_split(name: str, split: str) -> bool:
    """``trainA``, ``testB``: the split followed by one capital letter (not ``train_old`` or ``trainval``)."""
    return len(name) == len(split) + 1 and name.startswith(split) and name[-1].isupper()


GENERATED_DATASETS = {"fruit": "datasets/make_fruit.py", "fruit_basket": "datasets/make_fruit_basket.py"}


def how_to_get(root: Path, *, paired: bool = False) -> str:
    """The command that makes or fetches the dataset ``root`` names, where there is one (``paired``: the aligned
    pix2pix layout is wanted)."""
    if root.name in GENERATED_DATASETS:
        return f"`python {GENERATED_DATASETS[root.name]} --root {root}` generates it (no network)"
    if paired and root.name in PIX2PIX_DATASETS:
        return f"`translate data download {root.name} --paired --root {root.parent}` gets it"
    if not paired and root.name in CYCLEGAN_DATASETS:
        return f"`translate data download {root.name} --root {root.parent}` gets it"
    collection = "pix2pix dataset (--paired)" if paired else "CycleGAN dataset"
    return f"point data.source.root at your images, or `translate data download NAME` gets a standard {collection}"


def missing_root_message(root: Path, *, paired: bool = False) -> str:
    """The error for a missing dataset folder, with the command that makes this one where there is one."""
    return f"dataset root not found: {root}; {how_to_get(root, paired=paired)} ({LAYOUTS})"


def named_domains(
    domains: Sequence[str] | None, train_dirs: Sequence[Path] | None, attr_file: Path | None
) -> list[str] | None:
    """The domains a data config names without reading the disk: ``domains`` as given, else A, B, ... for
    ``train_dirs`` (one per folder); None when they are the folder names under the root (``discover_domains``)."""
    if domains is not None:
        return [str(domain) for domain in domains]
    if attr_file is not None:
        raise ValueError(
            "a StarGAN on data.attr_file needs the attribute names: set data.domains (the labels, in order)"
        )
    if train_dirs is not None:
        return [chr(ord("A") + i) for i in range(len(train_dirs))]
    return None


def discover_domains(root: str | Path) -> list[str]:
    """Domain names from a dataset folder's layout, in the order batches and labels use.

    Folder per domain: the sorted names of the sub-folders of ``root/train`` that hold images (``root/test`` when
    there is no train split). Official CycleGAN layout: the letters of ``root/trainA``, ``root/trainB``, ... (so
    ``[A, B]``), images or not. Raises one line naming ``root`` when it is missing or holds fewer than two domains.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(missing_root_message(root))
    for split in ("train", "test"):
        folder = root / split
        if folder.is_dir():
            names = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
            found = [name for name in names if _holds_images(folder / name)]
            if len(found) >= 2:
                return found
        # official layout: trainA, trainB (, trainC ...) are the domains even when one holds no images yet, so that
        # the data module's error names that folder rather than saying no layout was found
        found = sorted(d.name[len(split) :] for d in root.iterdir() if d.is_dir() and _is_official_split(d.name, split))
        if len(found) >= 2:
            return found
    raise ValueError(
        f"found no two domain folders with images under {root}: expected {root}/train/<domain>/ (one folder per "
        f"domain) or {root}/trainA, {root}/trainB (official CycleGAN layout), or set data.domains; {LAYOUTS}"
    )
