"""``translate export``: a trained generator as ONNX or TorchScript, with dynamic batch, height and width.

The exported graph takes ``image`` (B, C, H, W) in [-1, 1], H and W multiples of the model's ``size_multiple``, and
returns ``translated`` of the same shape. One file holds one direction (CycleGAN, TraVeLGAN) or one target domain
(StarGAN); EMA generators are exported when the model keeps them, as predict uses them.
"""

import argparse
import sys
import warnings
from pathlib import Path
from typing import Literal

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn

Format = Literal["onnx", "torchscript"]


class Translator(nn.Module):
    """One direction's (or one target's) generator as a plain image -> image module, without the LightningModule.

    StarGAN's target label is broadcast by multiplying with a (B, 1, H, W) map of ones rather than ``expand`` with
    sizes, so batch, height and width stay dynamic in traced graphs.
    """

    def __init__(self, model: LightningModule, *, direction: str = "a2b", target_domain: str | None = None):
        super().__init__()
        self.register_buffer("label", None)  # StarGAN's target, (1, domains, 1, 1); None for the others
        if hasattr(model, "domains"):  # StarGAN: one generator, a fixed one-hot target
            if target_domain not in model.domains:
                raise ValueError(f"--target-domain must be one of {list(model.domains)}, got {target_domain!r}")
            self.label = torch.zeros(1, len(model.domains), 1, 1)
            self.label[0, list(model.domains).index(target_domain)] = 1
            self.generator = model.ema_gen if model.ema_gen is not None else model.gen
        elif target_domain is not None:
            raise ValueError(f"--target-domain is for StarGAN; {type(model).__name__} takes --direction")
        else:
            directions = getattr(model, "directions", ("a2b", "b2a"))
            if direction not in directions:
                raise ValueError(f"--direction must be one of {directions}, got {direction!r}")
            suffix = direction[0] + direction[-1]  # a2b -> ab
            average = getattr(model, f"ema_{suffix}", None)
            self.generator = average if average is not None else getattr(model, f"gen_{suffix}")

    def forward(self, image: Tensor) -> Tensor:
        if self.label is not None:
            image = torch.cat([image, self.label * torch.ones_like(image[:, :1])], dim=1)  # (B, C + domains, H, W)
        return self.generator(image)


def export(
    model: LightningModule,
    output: str | Path,
    *,
    format: Format = "onnx",
    direction: str = "a2b",
    target_domain: str | None = None,
    opset: int = 17,
) -> Path:
    """Write ``model``'s translator to ``output``; returns the path."""
    output = Path(output)
    translator = Translator(model.eval().cpu(), direction=direction, target_domain=target_domain).eval()
    side = model.size_multiple * max(1, 32 // model.size_multiple)  # a small valid example input
    example = torch.zeros(1, model.hparams.channels, side, side)
    output.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        if format == "onnx":
            torch.onnx.export(
                translator, (example,), str(output), dynamo=False, opset_version=opset,
                input_names=["image"], output_names=["translated"],
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                              "translated": {0: "batch", 2: "height", 3: "width"}},
            )  # fmt: skip
        elif format == "torchscript":
            torch.jit.trace(translator, example, check_trace=False).save(str(output))
        else:
            raise ValueError(f"unknown format {format!r}, expected 'onnx' or 'torchscript'")
    return output


def export_command(argv: list[str]) -> None:
    """``translate export --ckpt CKPT --format onnx|torchscript --output FILE [--direction | --target-domain]``."""
    from translate.predict import load_model

    parser = argparse.ArgumentParser(prog="translate export", description="Export a generator for deployment.")
    parser.add_argument("--ckpt", required=True, help="checkpoint written by `translate fit` (or its run folder)")
    parser.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    parser.add_argument("--output", required=True, help="file to write (.onnx or .pt)")
    parser.add_argument("--direction", default="a2b", help="CycleGAN/TraVeLGAN: a2b or b2a")
    parser.add_argument("--target-domain", "--target_domain", help="StarGAN: the domain to translate to")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--trust-checkpoint", action="store_true", help="allow arbitrary pickled objects")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.ckpt, trust=args.trust_checkpoint)
        path = export(model, args.output, format=args.format, direction=args.direction,
                      target_domain=args.target_domain, opset=args.opset)  # fmt: skip
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"translate export: error: {error}")
    print(f"wrote {path}")
