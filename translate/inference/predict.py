"""Translate the images of folders, files or glob patterns with a trained model, at full resolution, keeping names.

``translate predict --ckpt CKPT --input DIR --output DIR`` is the command; ``predict_folder`` the Python API.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from translate.inference.image_files import (
    ImageFiles,
    Inputs,
    input_images,
    output_paths,
    resize,
    same_size_batches,
    save_image,
)
from translate.inference.labels import Translator, attribute_table, label_translators, start_labels
from translate.inference.onnx import OnnxTranslator
from translate.inference.tiling import translate_tiled
from translate.models.contract import LabelConditioned, TranslationModel

log = logging.getLogger(__name__)
ScaleChoice = Literal["auto", "native", "training"]  # --scale: the model's own choice, the input's pixels, training's


@torch.inference_mode()
def predict_folder(
    model: TranslationModel,
    input_dir: Inputs,
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
    scale: ScaleChoice = "auto",
    progress: bool = True,
) -> list[Path]:
    """Translate every image ``input_dir`` names into ``output_dir`` with the same relative path; returns the outputs.

    ``input_dir`` is a folder (its images, recursively), an image file, a glob pattern (``photos/*.jpg``, ``**``
    recursive) or a list of these; a file is written as ``output_dir/<its name>``, or to ``output_dir`` itself when
    that is an image file name (``out.png``) and there is one input image. Outputs keep their input's format, except
    those Pillow cannot write as the translation is (GIF's palette, 1-bit PBM, ...): PNG, with ``.png`` for the
    extension.

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
    ``scale`` ``training`` translates each image resized so that its shorter side is the side the model's training
    images were resized to, then resizes the result back to the input's size: objects appear at the scale the model
    learnt them (networks that see the whole image, TraVeLGAN); ``native`` translates the input's own pixels (CycleGAN
    and StarGAN, whose networks see a local window); ``auto`` is the model's own choice (``translates_at``).
    ``model`` is anything under the model contract (translate.models.contract): a checkpoint's model, or an
    ``OnnxTranslator`` (``translate predict --onnx``), whose one translation is written where the checkpoint's would.
    """
    output_dir = Path(output_dir)
    _check_options(batch_size, precision)
    translators = translators_for(model, direction, targets, attrs, grid)
    request = TranslationRequest(translators, _attribute_table(model, attr_file), tile, tile_overlap,
                                 AUTOCAST_DTYPES[precision])  # fmt: skip
    inputs = input_images(input_dir)
    paths, outputs = inputs.paths, output_paths(inputs, output_dir, list(request.translators), model.channels)
    todo = _not_yet_written(paths, outputs, overwrite, output_dir)
    failures: dict[Path, str] = {}
    scale_to = scale_side(model, scale)
    batches, sizes, originals = same_size_batches(paths, todo, batch_size, model.size_multiple, failures, scale_to,
                                                  model.min_side)  # fmt: skip
    loader = DataLoader(ImageFiles(paths, model.channels, model.size_multiple, sizes, scale_to), batch_sampler=batches,
                        num_workers=num_workers, pin_memory=model.device.type == "cuda")  # fmt: skip
    with tqdm(total=len(todo), desc="translate", unit="img", disable=not progress) as bar:
        bar.update(len(failures))
        for images, heights, widths, indices, errors in loader:
            images = images.to(model.device, non_blocking=True)
            image_sizes = list(zip(heights.tolist(), widths.tolist(), strict=True))
            names = [paths[index].name for index in indices]
            for sub, panels in translate_batch(model, request, images, image_sizes, names).items():
                for (height, width), index, error, *crops in zip(image_sizes, indices, errors, *panels, strict=True):
                    if error:
                        failures[paths[index]] = error
                        continue
                    own = originals[int(index)]  # back at the input's size after one at the training scale
                    strip = torch.cat([resize(crop[:, :height, :width], own) for crop in crops], dim=-1)
                    _write(strip, outputs[sub][index], output_dir)
            bar.update(len(indices))
    written = [outs[i] for outs in outputs.values() for i in todo if paths[i] not in failures]
    _report(written, failures, len(paths), output_dir)
    return written


AUTOCAST_DTYPES = {"32": torch.float32, "bf16": torch.bfloat16, "16": torch.float16}


@dataclass(frozen=True)
class TranslationRequest:
    """What every batch is translated with: the translator of each output sub-folder, the --attr-file rows, tiling
    and the autocast dtype."""

    translators: dict[str, Translator]
    table: dict[str, Tensor]
    tile: int | None
    tile_overlap: int
    dtype: torch.dtype


def scale_side(model: TranslationModel, scale: str) -> int | None:
    """The shorter side images are resized to before translation, or None for their own size: the one rule predict,
    serve and eval (inference/evaluate.py) translate by."""
    if scale not in ("auto", "native", "training"):
        raise ValueError(f"--scale must be auto, native or training, got {scale!r}")
    wanted = model.translates_at if scale == "auto" else scale
    if wanted == "native":
        return None
    if model.training_size is None:
        if scale == "training":
            raise ValueError(f"--scale training needs the size {type(model).__name__} was trained at, which this "
                             "checkpoint does not record (a custom training pipeline or imported weights); use "
                             "--scale native")  # fmt: skip
        log.warning("translating at the input's own scale: this checkpoint does not record its training size")
        return None
    return model.training_size


def _check_options(batch_size: int, precision: str) -> None:
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"--precision must be one of {', '.join(AUTOCAST_DTYPES)}, got {precision!r}")


def translators_for(
    model: TranslationModel,
    direction: str | None,
    targets: Sequence[str] | None,
    attrs: dict[str, float] | None,
    grid: bool,
) -> dict[str, Translator]:
    """One translator per output sub-folder ("" for the output folder itself), checked against what the model
    offers (the model contract)."""
    if isinstance(model, OnnxTranslator):  # an exported file: its one direction or target, with its own messages
        exported = model.translators(direction, targets, attrs, grid)
        return {sub: (lambda images, start, f=f: f(images)) for sub, f in exported.items()}
    if isinstance(model, LabelConditioned):
        return label_translators(model, targets, attrs, grid)
    name = type(model).__name__
    if model.target_kind == "domain":  # one generator per target domain
        if attrs or grid:
            raise ValueError(f"--attrs and --grid are for label-conditioned models (StarGAN); {name} takes "
                             "--target-domain")  # fmt: skip
        if not targets:
            raise ValueError(f"{name} needs --target-domain NAME (repeatable, or all); its domains are "
                             f"{list(model.targets)}")  # fmt: skip
        names = list(model.targets) if list(targets) == ["all"] else list(targets)
        unknown = [t for t in names if t not in model.targets]
        if unknown:
            raise ValueError(
                f"unknown --target-domain {unknown[0]!r}; this {name} knows {list(model.targets)} (or all)"
            )
        return {t: _fixed(model.translator(t)) for t in names}
    if targets or attrs or grid:
        raise ValueError(f"--target-domain, --attrs and --grid are for StarGAN checkpoints; this is {name}: "
                         "use --direction")  # fmt: skip
    direction = direction or model.targets[0]
    if direction not in model.targets:
        raise ValueError(f"--direction must be one of {model.targets}, got {direction!r}")
    return {"": _fixed(model.translator(direction))}


def _fixed(translator: nn.Module) -> Translator:
    return lambda images, start: [translator(images)]


def _attribute_table(model: TranslationModel, attr_file: str | Path | None) -> dict[str, Tensor]:
    if attr_file is None:
        return {}
    if not isinstance(model, LabelConditioned) or isinstance(model, OnnxTranslator):
        raise ValueError(f"--attr-file is for StarGAN checkpoints (--ckpt); this is {type(model).__name__}")
    return attribute_table(Path(attr_file), model)


def _not_yet_written(paths: list[Path], outputs: dict[str, list[Path]], overwrite: bool, output_dir: Path) -> list[int]:
    """Indices of the images to translate. Outputs are written atomically, so an existing one is complete: a re-run
    skips it (resuming an interrupted run) and only ``overwrite`` translates it again."""
    todo = [i for i in range(len(paths)) if overwrite or not all(outs[i].exists() for outs in outputs.values())]
    if len(todo) < len(paths):
        log.warning("skipping %d of %d images already translated in %s (--overwrite redoes them)",
                    len(paths) - len(todo), len(paths), output_dir)  # fmt: skip
    return todo


def translate_batch(
    model: TranslationModel, request: TranslationRequest, images: Tensor, sizes: list[tuple[int, int]], names: list[str]
) -> dict[str, list[Tensor]]:
    """Each output sub-folder's panels (float, (B, C, H', W') each) for a padded batch."""
    start = start_labels(model, images, sizes, names, request.table) if isinstance(model, LabelConditioned) else None
    device, out = images.device.type, {}
    for sub, translate in request.translators.items():
        run = partial(translate, start=start)  # one start per image, shared by all its tiles
        with torch.autocast(device, dtype=request.dtype, enabled=request.dtype != torch.float32):
            if request.tile is None:
                panels = run(images)
            else:
                panels = translate_tiled(run, images, tile=request.tile, overlap=request.tile_overlap,
                                         multiple=model.size_multiple)  # fmt: skip
        out[sub] = [panel.float() for panel in panels]
    return out


def _write(strip: Tensor, path: Path, output_dir: Path) -> None:
    try:
        save_image(strip, path)
    except OSError as error:  # read-only or full disk: every further write would fail the same way
        raise ValueError(
            f"cannot write {path} ({error.strerror or error}); make {output_dir} writable (or free space) and run "
            "again: what was written is kept and skipped"
        ) from error


def _report(written: list[Path], failures: dict[Path, str], total: int, output_dir: Path) -> None:
    """Log what was written; one error naming the first failure (and the count) when some images failed."""
    log.info("wrote %d image%s to %s", len(written), "" if len(written) == 1 else "s", output_dir)
    if not failures:
        return
    for path, error in failures.items():
        log.error("could not translate %s: %s", path, error)
    first, error = next(iter(failures.items()))
    raise ValueError(
        f"{len(failures)} of {total} images could not be translated (first: {first}: {error}); the other "
        f"{len(written)} were written to {output_dir}"
    )
