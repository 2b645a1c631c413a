"""Translate every image of a folder with a trained checkpoint, at full resolution, keeping relative names.

``translate predict --ckpt CKPT --input DIR --output DIR`` is the command; ``predict_folder`` the Python API.
"""

import logging
import pickle
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from lightning.pytorch import LightningModule
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

import translate.models  # noqa: F401  (load_from_checkpoint only rebuilds classes that are already imported)
from translate.callbacks import to_uint8
from translate.data import find_images, read_image, to_tensor
from translate.export import OnnxTranslator
from translate.official import is_stargan_generator_file, stargan_from_official
from translate.tiling import pad_to_multiple, padded_size, translate_tiled

log = logging.getLogger(__name__)


def load_model(ckpt: str | Path, device: str | torch.device = "cpu", *, trust: bool = False) -> LightningModule:
    """Rebuild the model that ``translate fit`` saved in ``ckpt`` (any of translate.models), in eval mode.

    Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain data only, so a file crafted to run
    code when unpickled is refused. ``trust=True`` lifts that for files from a source you trust.
    """
    ckpt = Path(ckpt)
    if ckpt.is_dir():  # a run or checkpoint folder: take its last.ckpt
        found = sorted(ckpt.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise FileNotFoundError(f"no last.ckpt under {ckpt}; pass the .ckpt file itself")
        ckpt = found[-1]
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt} does not exist; `translate fit` writes them under checkpoints/")
    try:
        hparams = torch.load(ckpt, map_location="cpu", weights_only=not trust).get("hyper_parameters", {})
    except pickle.UnpicklingError:
        raise ValueError(
            f"checkpoint {ckpt} holds pickled Python objects beyond tensors and plain data, which could run code when "
            "loaded; refused. Pass --trust-checkpoint only if you trust where it comes from"
        ) from None
    except (EOFError, RuntimeError, zipfile.BadZipFile) as error:
        raise ValueError(f"checkpoint {ckpt} is not a readable PyTorch checkpoint ({error})") from None
    if "_instantiator" not in hparams and is_stargan_generator_file(ckpt):  # yunjey/stargan's NNNNNN-G.ckpt
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


Translator = Callable[[Tensor], list[Tensor]]  # padded batch -> the panels of each output, side by side


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
        return model.translators(direction, targets, attrs, grid)
    if not hasattr(model, "changed"):  # a fixed-direction model (CycleGAN, TraVeLGAN)
        direction = direction or "a2b"
        if targets or attrs or grid:
            raise ValueError(f"--target-domain, --attrs and --grid are for StarGAN checkpoints; this is {name}: "
                             "use --direction")  # fmt: skip
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"--direction must be 'a2b' or 'b2a', got {direction!r}")
        return {"": lambda images: [model(images, direction=direction)]}
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

    def start(images: Tensor) -> Tensor:  # the input's own labels, as the model's classifier sees them
        return model.estimate_labels(images)

    def to(target: str) -> Translator:
        return lambda images: [model(images, model.changed(start(images), target))]

    if attrs:
        unknown = [a for a in attrs if a not in domains]
        if unknown:
            raise ValueError(f"unknown attribute {unknown[0]!r} in --attrs; this {name} knows {domains}")

        def with_attrs(images: Tensor) -> list[Tensor]:
            labels = start(images)
            for attr, value in attrs.items():
                labels = model.changed(labels, attr, value)
            return [model(images, labels)]

        return {"": with_attrs}
    if grid:  # one strip per input: the input, then every target
        return {"": lambda images: [images, *(to(t)(images)[0] for t in names)]}
    return {t: to(t) for t in names}


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
    ``["all"]``) into ``output_dir/<target>/``, to ``attrs`` (attribute values, starting from the labels its
    classifier sees in the input), or with ``grid`` into one strip per input holding the input and every target.
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
            for sub, translate in translators.items():
                with torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision], enabled=precision != "32"):
                    panels = (
                        translate(images)
                        if tile is None
                        else translate_tiled(translate, images, tile=tile, overlap=tile_overlap, multiple=multiple)
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
