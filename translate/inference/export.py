"""``translate export``: a trained generator as ONNX or TorchScript, with dynamic batch, height and width.

The exported graph takes ``image`` (B, C, H, W) in [-1, 1], H and W multiples of the model's ``size_multiple``, and
returns ``translated`` of the same shape. One file holds one direction (CycleGAN, TraVeLGAN) or one target domain
(StarGAN); EMA generators are exported when the model keeps them, as predict uses them.
"""

import warnings
from pathlib import Path
from typing import Literal

import torch

from translate.inference.options import TranslationOptions
from translate.inference.plan import plan_translations
from translate.models.contract import TranslationModel
from translate.output_files import atomic_path

Format = Literal["onnx", "torchscript"]


def export(
    model: TranslationModel,
    output: str | Path,
    *,
    format: Format = "onnx",
    direction: str = "a2b",
    target_domain: str | None = None,
    opset: int = 17,
) -> Path:
    """Write ``model``'s translator to ``output`` (atomically: a temporary file, then renamed); returns the path."""
    output = Path(output)
    options = TranslationOptions(direction, (target_domain,) if target_domain else None, scale="native", one=True)
    translation = plan_translations(model.eval().cpu(), options).only()  # scale: the file records the model's
    translator, target = translation.module.eval(), translation.target
    side = model.size_multiple * max(1, 32 // model.size_multiple)  # a small valid example input
    example = torch.zeros(1, model.channels, side, side)
    if format not in ("onnx", "torchscript"):
        raise ValueError(f"unknown format {format!r}, expected 'onnx' or 'torchscript'")
    with atomic_path(output) as temporary, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        if format == "onnx":
            torch.onnx.export(
                translator, (example,), str(temporary), dynamo=False, opset_version=opset,
                input_names=["image"], output_names=["translated"],
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                              "translated": {0: "batch", 2: "height", 3: "width"}},
            )  # fmt: skip
            _write_metadata(temporary, model, target)
        else:
            torch.jit.trace(translator, example, check_trace=False).save(str(temporary))
    return output


def _write_metadata(path: Path, model: TranslationModel, target: str) -> None:
    """Record what ``translate predict --onnx`` needs to use the file like the checkpoint: the size multiple to pad
    to, the image channels, and the translation it holds (a direction, or a target domain)."""
    import onnx

    graph = onnx.load(str(path))
    metadata = {
        "translate.size_multiple": str(model.size_multiple),
        "translate.channels": str(model.channels),
        "translate.direction": target if model.target_kind == "direction" else "",
        "translate.target_domain": target if model.target_kind == "domain" else "",
        "translate.translates_at": model.translates_at,  # predict --onnx translates at the checkpoint's scale
        "translate.training_size": str(model.training_size or ""),
        "translate.ema": {True: "true", False: "false", None: ""}[model.uses_ema],
    }
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))
