"""``translate export``: a trained generator as ONNX or TorchScript, with dynamic batch, height and width.

The exported graph takes ``image`` (B, C, H, W) in [-1, 1], H and W multiples of the model's ``size_multiple``, and
returns ``translated`` of the same shape. One file holds one direction (CycleGAN, TraVeLGAN) or one target domain
(StarGAN); EMA generators are exported when the model keeps them, as predict uses them.
"""

import argparse
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
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
            _write_metadata(output, model, translator, direction, target_domain)
        elif format == "torchscript":
            torch.jit.trace(translator, example, check_trace=False).save(str(output))
        else:
            raise ValueError(f"unknown format {format!r}, expected 'onnx' or 'torchscript'")
    return output


def _write_metadata(path: Path, model: LightningModule, translator: Translator, direction: str, target: str | None):
    """Record what ``translate predict --onnx`` needs to use the file like the checkpoint: the size multiple to pad
    to, the image channels, and the translation it holds."""
    import onnx

    graph = onnx.load(str(path))
    metadata = {
        "translate.size_multiple": str(model.size_multiple),
        "translate.channels": str(model.hparams.channels),
        "translate.direction": "" if translator.label is not None else direction,
        "translate.target_domain": target or "",
    }
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))


class OnnxTranslator:
    """An ONNX file written by ``export``, run by onnxruntime, as ``predict_folder``'s model: it pads to
    ``size_multiple`` and translates ``hparams.channels``-channel images like the checkpoint it came from, in the one
    direction (or to the one target domain) it was exported for."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        try:
            import onnxruntime
        except ImportError:
            raise ValueError("--onnx needs onnxruntime: pip install 'translate[export]'") from None
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX file {self.path} does not exist; `translate export` writes one")
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), providers=providers)
        except Exception as error:  # noqa: BLE001 (onnxruntime raises its own types for unreadable files)
            raise ValueError(f"{self.path} is not a readable ONNX file ({error})") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if "translate.size_multiple" not in metadata:
            raise ValueError(f"{self.path} was not written by `translate export` (no translate.* metadata); export "
                             "the checkpoint with translate export --format onnx")  # fmt: skip
        self.size_multiple = int(metadata["translate.size_multiple"])
        self.hparams = SimpleNamespace(channels=int(metadata["translate.channels"]))
        self.direction = metadata["translate.direction"] or None
        self.target_domain = metadata["translate.target_domain"] or None
        self.device = torch.device("cpu")  # onnxruntime takes and returns host arrays, whatever its provider

    def __call__(self, images: Tensor) -> Tensor:
        (translated,) = self.session.run(None, {"image": images.float().cpu().numpy()})
        return torch.from_numpy(translated)  # (B, C, H, W) in [-1, 1]

    def translators(self, direction: str | None, targets, attrs, grid: bool) -> dict:
        """``predict_folder``'s output sub-folders: the file's one translation, where the checkpoint would put it."""
        exported = f"{self.path} holds one translation ({self.target_domain or self.direction})"
        if attrs or grid:
            raise ValueError(f"--attrs and --grid need the StarGAN checkpoint (--ckpt); {exported}")
        if self.target_domain is not None:  # StarGAN: OUTPUT/<target>/, as predict --target-domain writes
            if direction is not None or (targets and list(targets) != [self.target_domain]):
                raise ValueError(f"{exported}; export each target with translate export --target-domain NAME")
            return {self.target_domain: lambda images: [self(images)]}
        if targets:
            raise ValueError(f"--target-domain is for StarGAN; {exported}")
        if direction not in (None, self.direction):
            raise ValueError(f"{exported}, not {direction}; export it with translate export --direction {direction}")
        return {"": lambda images: [self(images)]}


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
