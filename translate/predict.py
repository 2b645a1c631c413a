"""Translate every image of a folder with a trained checkpoint, at full resolution, keeping relative names.

``translate predict --ckpt CKPT --input DIR --output DIR`` is the command; ``predict_folder`` the Python API.
"""

import logging
import pickle
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import torch
from lightning.pytorch import LightningModule
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

import translate.models  # noqa: F401  (load_from_checkpoint only rebuilds classes that are already imported)
from translate.callbacks import to_uint8
from translate.checkpoint_io import resolve_checkpoint
from translate.datasets import read_attributes
from translate.export import OnnxTranslator
from translate.images import find_images, read_image, to_tensor
from translate.official import is_stargan_generator, stargan_from_official
from translate.tiling import pad_to_multiple, padded_size, translate_tiled

log = logging.getLogger(__name__)


def load_model(ckpt: str | Path, device: str | torch.device = "cpu", *, trust: bool = False) -> LightningModule:
    """Rebuild the model that ``translate fit`` saved in ``ckpt`` (any of translate.models), in eval mode.

    Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain data only, so a file crafted to run
    code when unpickled is refused. ``trust=True`` lifts that for files from a source you trust.
    """
    ckpt = resolve_checkpoint(ckpt)  # a run or checkpoint folder: its newest last.ckpt
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt} does not exist; `translate fit` writes them under checkpoints/")
    try:
        checkpoint = torch.load(ckpt, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError:
        raise ValueError(
            f"checkpoint {ckpt} holds pickled Python objects beyond tensors and plain data, which could run code when "
            "loaded; refused. Pass --trust-checkpoint only if you trust where it comes from"
        ) from None
    except (EOFError, RuntimeError, zipfile.BadZipFile) as error:
        raise ValueError(f"checkpoint {ckpt} is not a readable PyTorch checkpoint ({error})") from None
    hparams = checkpoint.get("hyper_parameters", {})
    if "_instantiator" not in hparams and is_stargan_generator(checkpoint):  # yunjey/stargan's NNNNNN-G.ckpt
        return stargan_from_official(ckpt)[0].to(device).eval()
    if "_instantiator" not in hparams:
        raise ValueError(
            f"checkpoint {ckpt} does not record its model class (not written by `translate fit`); "
            "load it in Python with the model class, e.g. CycleGAN.load_from_checkpoint(path)"
        )
    try:
        model = LightningModule.load_from_checkpoint(ckpt, map_location="cpu", weights_only=not trust)
    except ValueError as error:  # e.g. weights that do not fit the recorded architecture (models/_checks.py)
        raise ValueError(f"checkpoint {ckpt}: {error}") from None
    return model.to(device).eval()


class _ImageFiles(Dataset):
    """Decodes one image per item into (C, H, W) in [-1, 1], reflect-padded to the generator's size multiple.

    A file that fails to decode gives a blank image of its batch's size and the error text, so one bad file neither
    stops the loader workers nor the batch it is in.
    """

    def __init__(self, paths: list[Path], channels: int, multiple: int, sizes: dict[int, tuple[int, int]]):
        self.paths, self.channels, self.multiple, self.sizes = paths, channels, multiple, sizes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int, int, str]:
        try:
            image = to_tensor(read_image(self.paths[index], self.channels))  # (C, H, W) in [-1, 1]
        except Exception as error:  # noqa: BLE001 (any decoder failure is reported per file, not raised)
            return torch.zeros(self.channels, *self.sizes[index]), 0, 0, index, f"{type(error).__name__}: {error}"
        height, width = image.shape[-2:]
        return pad_to_multiple(image[None], self.multiple)[0], height, width, index, ""


def _same_size_batches(
    paths: list[Path], todo: list[int], batch_size: int, multiple: int, failures: dict[Path, str]
) -> tuple[list[list[int]], dict[int, tuple[int, int]]]:
    """Group images whose padded sizes match, so batches stack without resizing (instance norm sees each whole).

    Returns the batches and each image's padded size; files whose header cannot be read go to ``failures``.
    """
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    sizes = {}
    for index in todo:
        try:
            with Image.open(paths[index]) as image:  # reads the header only
                width, height = image.size
                if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF rotation by 90 degrees swaps the sides
                    width, height = height, width
        except Exception as error:  # noqa: BLE001 (reported per file)
            failures[paths[index]] = f"{type(error).__name__}: {error}"
            continue
        # A side of at most `multiple` pads to `multiple`, leaving a 1-pixel bottleneck where reflect padding and
        # instance norm fail; one pixel more pads to twice it.
        smallest = multiple + 1
        if min(height, width) < smallest:
            failures[paths[index]] = f"{width}x{height} is too small; resize it to at least {smallest}x{smallest}"
            continue
        sizes[index] = padded_size((height, width), multiple)
        groups[sizes[index]].append(index)
    batches = [indices[i : i + batch_size] for indices in groups.values() for i in range(0, len(indices), batch_size)]
    return batches, sizes


def _save(image: Tensor, path: Path) -> None:
    """Write atomically (temporary file, then rename): an interruption never leaves a half-written image."""
    pixels = to_uint8(image).permute(1, 2, 0).cpu().numpy()  # (H, W, C)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else {}
    partial = path.with_name(f".{path.name}.partial")
    try:
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
            partial, format=Image.registered_extensions().get(path.suffix.lower()), **options
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


# (padded batch, the labels each input starts from (StarGAN) or None) -> the panels of each output, side by side
Translator = Callable[[Tensor, Tensor | None], list[Tensor]]


def _translators(
    model: LightningModule | OnnxTranslator,
    direction: str | None,
    targets: Sequence[str] | None,
    attrs: dict[str, float] | None,
    grid: bool,
) -> dict[str, Translator]:
    """One translator per output sub-folder ("" for the output folder itself), checked against the model kind."""
    name = type(model).__name__
    if isinstance(model, OnnxTranslator):  # an exported file: its one direction or target
        exported = model.translators(direction, targets, attrs, grid)
        return {sub: (lambda images, start, f=f: f(images)) for sub, f in exported.items()}
    if not hasattr(model, "changed"):  # a fixed-direction model (CycleGAN, TraVeLGAN)
        direction = direction or "a2b"
        if targets or attrs or grid:
            raise ValueError(f"--target-domain, --attrs and --grid are for StarGAN checkpoints; this is {name}: "
                             "use --direction")  # fmt: skip
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"--direction must be 'a2b' or 'b2a', got {direction!r}")
        return {"": lambda images, start: [model(images, direction=direction)]}
    domains = list(model.domains)
    if not (targets or attrs or grid):
        raise ValueError(f"{name} needs --target-domain NAME (repeatable, or all), --attrs or --grid; its domains "
                         f"are {domains}")  # fmt: skip
    if attrs and (targets or grid):
        raise ValueError("--attrs sets one target; use it without --target-domain and --grid")
    names = domains if not targets or list(targets) == ["all"] else list(targets)
    unknown = [t for t in names if t not in domains]
    if unknown:
        raise ValueError(f"unknown --target-domain {unknown[0]!r}; this {name} knows {domains} (or all)")

    def to(target: str) -> Translator:
        return lambda images, start: [model(images, model.changed(start, target))]

    if attrs:
        _check_attrs(model, attrs)
        # Exclusive groups: the member set to 1 switches the others off, so their =0 items have nothing left to do.
        grouped = {domains[i] for group in model.groups for i in group}
        steps = [(a, v) for a, v in attrs.items() if v == 1 or a not in grouped]

        def with_attrs(images: Tensor, start: Tensor) -> list[Tensor]:
            labels = start
            for attr, value in steps:
                labels = model.changed(labels, attr, value)
            return [model(images, labels)]

        return {"": with_attrs}
    if grid:  # one strip per input: the input, then every target
        return {"": lambda images, start: [images, *(to(t)(images, start)[0] for t in names)]}
    return {t: to(t) for t in names}


def _check_attrs(model: LightningModule, attrs: dict[str, float]) -> None:
    """--attrs fits a multi-label model: known names, and every exclusive group it touches left with one member on."""
    name, domains = type(model).__name__, list(model.domains)
    if model.hparams.label_mode == "single":
        raise ValueError(f"--attrs is for multi-label models; this {name} is single-label (one domain per image): "
                         f"use --target-domain NAME (one of {domains})")  # fmt: skip
    unknown = [a for a in attrs if a not in domains]
    if unknown:
        raise ValueError(f"unknown attribute {unknown[0]!r} in --attrs; this {name} knows {domains}")
    for group in model.groups:
        members = [domains[i] for i in group]
        on = [m for m in members if attrs.get(m) == 1]
        off = [m for m in members if attrs.get(m) == 0]
        if len(on) > 1:
            raise ValueError(f"--attrs sets {on} to 1, but exactly one of the exclusive group {members} is on")
        if off and not on:
            raise ValueError(f"--attrs {off[0]}=0 would leave none of the exclusive group {members} on; set another "
                             "of them to 1 instead")  # fmt: skip


def _attribute_table(attr_file: Path, model: LightningModule) -> dict[str, Tensor]:
    """The rows of a CelebA-style attribute file by image name and by stem (a .png made from a .jpg still matches)."""
    if isinstance(model, OnnxTranslator) or not hasattr(model, "changed"):
        raise ValueError(f"--attr-file is for StarGAN checkpoints (--ckpt); this is {type(model).__name__}")
    if model.hparams.label_mode == "single":
        raise ValueError("--attr-file gives the attributes of multi-label models; this StarGAN is single-label, "
                         "where --target-domain sets the whole label")  # fmt: skip
    if not attr_file.is_file():
        raise FileNotFoundError(f"--attr-file {attr_file} not found; give the CelebA-style attribute file")
    names, labels = read_attributes(attr_file, model.domains)
    table = {Path(name).stem: row for name, row in zip(names, labels, strict=True)}
    return table | dict(zip(names, labels, strict=True))  # an exact name wins over a stem


def _start_labels(
    model: LightningModule, images: Tensor, sizes: list[tuple[int, int]], names: list[str], table: dict[str, Tensor]
) -> Tensor | None:
    """(B, num_domains) labels each input starts from (StarGAN): its --attr-file row, looked up by file name, else
    what the model's classifier sees in the whole image, once per image (so every tile of it shares one target)."""
    if not hasattr(model, "changed") or isinstance(model, OnnxTranslator):
        return None
    if model.hparams.label_mode == "single":  # every target is one-hot whatever the input is
        return images.new_zeros(len(images), len(model.domains))
    rows = []
    for image, (height, width), name in zip(images, sizes, names, strict=True):
        row = table.get(name, table.get(Path(name).stem))
        if row is None and height == 0:  # a file that failed to decode: reported, not written
            row = images.new_zeros(len(model.domains))
        elif row is None:
            row = model.estimate_labels(image[None, :, :height, :width])[0]  # resized to the training size
        rows.append(row.to(images))
    return torch.stack(rows)


AUTOCAST_DTYPES = {"32": torch.float32, "bf16": torch.bfloat16, "16": torch.float16}


@torch.inference_mode()
def predict_folder(
    model: LightningModule | OnnxTranslator,
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    direction: str | None = None,
    targets: Sequence[str] | None = None,
    attrs: dict[str, float] | None = None,
    attr_file: str | Path | None = None,
    grid: bool = False,
    batch_size: int = 1,
    num_workers: int = 0,
    overwrite: bool = False,
    tile: int | None = None,
    tile_overlap: int = 64,
    precision: str = "32",
    progress: bool = True,
) -> list[Path]:
    """Translate every image under ``input_dir`` into ``output_dir`` with the same relative path; returns the outputs.

    Images keep their height and width: each is padded to what the generator needs and cropped back. CycleGAN-like
    models translate in ``direction`` (default a2b); StarGAN translates to each of ``targets`` (domain names, or
    ``["all"]``) into ``output_dir/<target>/``, to ``attrs`` (attribute values), or with ``grid`` into one strip per
    input holding the input and every target. A multi-label StarGAN changes the input's own labels: its row in
    ``attr_file`` (CelebA-style, looked up by file name, or by stem for a converted copy), else what the model's
    classifier sees in the whole image.
    With ``tile``, each image is translated in tiles of at most ``tile`` x ``tile`` pixels overlapping by
    ``tile_overlap`` and blended, so memory depends on the tile size only (for photos larger than memory allows).
    ``precision`` ``bf16`` or ``16`` runs the network under autocast (GPUs; ``bf16`` also CPUs with native bf16,
    docs/benchmarks.md); outputs differ from ``32`` by about one grey level.
    ``model`` may also be an ``OnnxTranslator`` (``translate predict --onnx``): the file's one translation, through
    onnxruntime, written where the checkpoint would write it.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"--precision must be one of {', '.join(AUTOCAST_DTYPES)}, got {precision!r}")
    if output_dir.resolve() == input_dir.resolve() or input_dir.resolve() in output_dir.resolve().parents:
        raise ValueError(f"--output {output_dir} is inside --input {input_dir}; choose a folder outside it")
    translators = _translators(model, direction, targets, attrs, grid)
    table = {} if attr_file is None else _attribute_table(Path(attr_file), model)
    paths = find_images(input_dir)
    outputs = {sub: [output_dir / sub / path.relative_to(input_dir) for path in paths] for sub in translators}
    # Outputs are written atomically, so an existing one is complete: a re-run skips it (resuming an interrupted
    # run) and only --overwrite translates it again.
    todo = [i for i in range(len(paths)) if overwrite or not all(outs[i].exists() for outs in outputs.values())]
    if len(todo) < len(paths):
        log.warning("skipping %d of %d images already translated in %s (--overwrite redoes them)",
                    len(paths) - len(todo), len(paths), output_dir)  # fmt: skip
    multiple, channels = model.size_multiple, model.hparams.channels  # the contract every model honours
    device = model.device
    failures: dict[Path, str] = {}
    batches, sizes = _same_size_batches(paths, todo, batch_size, multiple, failures)
    loader = DataLoader(
        _ImageFiles(paths, channels, multiple, sizes),
        batch_sampler=batches,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    with tqdm(total=len(todo), desc="translate", unit="img", disable=not progress) as bar:
        bar.update(len(failures))
        for images, heights, widths, indices, errors in loader:
            images = images.to(device, non_blocking=True)
            image_sizes = list(zip(heights.tolist(), widths.tolist(), strict=True))
            start = _start_labels(model, images, image_sizes, [paths[index].name for index in indices], table)
            for sub, translate in translators.items():
                run = partial(translate, start=start)  # one start per image, shared by all its tiles
                with torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision], enabled=precision != "32"):
                    panels = (
                        run(images)
                        if tile is None
                        else translate_tiled(run, images, tile=tile, overlap=tile_overlap, multiple=multiple)
                    )
                panels = [panel.float() for panel in panels]
                for i, (height, width, index, error) in enumerate(zip(heights, widths, indices, errors, strict=True)):
                    if error:
                        failures[paths[index]] = error
                        continue
                    strip = torch.cat([panel[i, :, :height, :width] for panel in panels], dim=-1)
                    try:
                        _save(strip, outputs[sub][index])
                    except OSError as error:  # read-only or full disk: every further write would fail the same way
                        raise ValueError(
                            f"cannot write {outputs[sub][index]} ({error.strerror or error}); make {output_dir} "
                            "writable (or free space) and run again: what was written is kept and skipped"
                        ) from error
            bar.update(len(indices))
    written = [outs[i] for outs in outputs.values() for i in todo if paths[i] not in failures]
    log.info("wrote %d images to %s", len(written), output_dir)
    if failures:
        for path, error in failures.items():
            log.error("could not translate %s: %s", path, error)
        first, error = next(iter(failures.items()))
        raise ValueError(
            f"{len(failures)} of {len(paths)} images could not be translated (first: {first}: {error}); the other "
            f"{len(written)} were written to {output_dir}"
        )
    return written
