"""Translate the images of folders, files or glob patterns with a trained model, at full resolution, keeping names.

``translate predict --ckpt CKPT --input DIR --output DIR`` is the command; ``predict_folder`` the Python API.
"""

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from translate.data.image_writer import write_image
from translate.inference.image_files import ImageFiles, Inputs, input_images, output_paths, resize, same_size_batches
from translate.inference.options import ScaleChoice, TranslationOptions
from translate.inference.plan import TranslationPlan, plan_translations, scale_side
from translate.models.contract import TranslationModel

__all__ = ["PredictOptions", "ScaleChoice", "predict_folder", "scale_side"]  # the last two lived here before
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictOptions(TranslationOptions):
    """``predict_folder``'s options: which translations (``TranslationOptions``), then how to run them."""

    batch_size: int = 1
    num_workers: int = 0
    overwrite: bool = False
    tile: int | None = None
    tile_overlap: int = 64
    precision: str = "32"
    progress: bool = True


@torch.inference_mode()
def predict_folder(
    model: TranslationModel,
    input_dir: Inputs,
    output_dir: str | Path,
    options: PredictOptions | None = None,
    **settings: Any,
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
    The options are ``PredictOptions``' fields, as an object or as keywords (keywords override the object's); which
    translations they mean is the translation plan's (inference/plan.py), as for serve, eval, export and load.
    """
    output_dir, options = Path(output_dir), replace(options or PredictOptions(), **settings)
    _check_options(options.batch_size, options.precision)
    plan = plan_translations(model, options)
    inputs = input_images(input_dir)
    outputs = output_paths(inputs, output_dir, plan.folders, model.channels)
    todo = _not_yet_written(inputs.paths, outputs, options.overwrite, output_dir)
    failures: dict[Path, str] = {}
    _translate_files(plan, options, inputs.paths, todo, outputs, failures, output_dir)
    written = [outs[i] for outs in outputs.values() for i in todo if inputs.paths[i] not in failures]
    _report(written, failures, len(inputs.paths), output_dir)
    return written


AUTOCAST_DTYPES = {"32": torch.float32, "bf16": torch.bfloat16, "16": torch.float16}


def _check_options(batch_size: int, precision: str) -> None:
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"--precision must be one of {', '.join(AUTOCAST_DTYPES)}, got {precision!r}")


def _translate_files(
    plan: TranslationPlan,
    options: PredictOptions,
    paths: list[Path],
    todo: list[int],
    outputs: dict[str, list[Path]],
    failures: dict[Path, str],
    output_dir: Path,
) -> None:
    """Translate the images ``todo`` of ``paths`` in same-size batches and write each output; ``failures`` collects
    the images that could not be translated (too small, not decodable) with the reason."""
    model = plan.model
    batches, sizes, originals = same_size_batches(paths, todo, options.batch_size, model.size_multiple, failures,
                                                  plan.scale_to, model.min_side)  # fmt: skip
    loader = DataLoader(ImageFiles(paths, model.channels, model.size_multiple, sizes, plan.scale_to),
                        batch_sampler=batches, num_workers=options.num_workers,
                        pin_memory=model.device.type == "cuda")  # fmt: skip
    running = {"tile": options.tile, "tile_overlap": options.tile_overlap, "dtype": AUTOCAST_DTYPES[options.precision]}
    with tqdm(total=len(todo), desc="translate", unit="img", disable=not options.progress) as bar:
        bar.update(len(failures))
        for images, heights, widths, indices, errors in loader:
            images = images.to(model.device, non_blocking=True)
            image_sizes = list(zip(heights.tolist(), widths.tolist(), strict=True))
            names = [paths[index].name for index in indices]
            for sub, panels in plan.translate(images, image_sizes, names, **running).items():
                for (height, width), index, error, *crops in zip(image_sizes, indices, errors, *panels, strict=True):
                    if error:
                        failures[paths[index]] = error
                        continue
                    own = originals[int(index)]  # back at the input's size after one at the training scale
                    strip = torch.cat([resize(crop[:, :height, :width], own) for crop in crops], dim=-1)
                    _write(strip, outputs[sub][index], output_dir)
            bar.update(len(indices))


def _not_yet_written(paths: list[Path], outputs: dict[str, list[Path]], overwrite: bool, output_dir: Path) -> list[int]:
    """Indices of the images to translate. Outputs are written atomically, so an existing one is complete: a re-run
    skips it (resuming an interrupted run) and only ``overwrite`` translates it again."""
    todo = [i for i in range(len(paths)) if overwrite or not all(outs[i].exists() for outs in outputs.values())]
    if len(todo) < len(paths):
        log.warning("skipping %d of %d images already translated in %s (--overwrite redoes them)",
                    len(paths) - len(todo), len(paths), output_dir)  # fmt: skip
    return todo


def _write(strip: Tensor, path: Path, output_dir: Path) -> None:
    try:
        write_image(strip, path)
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
