"""``translate export``: one translation of a checkpoint as an ONNX or TorchScript file."""

import argparse
import sys

from translate.inference.export import export
from translate.inference.loading import load_model
from translate.output_files import check_output


def main(argv: list[str]) -> None:
    """``translate export --ckpt CKPT --format onnx|torchscript --output FILE [--direction | --target-domain]``."""
    parser = argparse.ArgumentParser(prog="translate export", description="Export a generator for deployment.")
    parser.add_argument("--ckpt", required=True, help="checkpoint written by `translate fit` (or its run folder)")
    parser.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    parser.add_argument("--output", required=True, help="file to write (.onnx or .pt)")
    parser.add_argument("--direction", default="a2b", help="CycleGAN/TraVeLGAN: a2b or b2a")
    parser.add_argument("--target-domain", "--target_domain", help="StarGAN: the domain to translate to")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--overwrite", action="store_true", help="replace --output when it exists")
    parser.add_argument("--trust-checkpoint", action="store_true", help="allow arbitrary pickled objects")
    args = parser.parse_args(argv)
    try:
        check_output(args.output, overwrite=args.overwrite)  # before the model is loaded: nothing done in vain
        model = load_model(args.ckpt, trust=args.trust_checkpoint)
        path = export(model, args.output, format=args.format, direction=args.direction,
                      target_domain=args.target_domain, opset=args.opset)  # fmt: skip
    except (OSError, ValueError) as error:  # OSError: a missing checkpoint, an existing or unwritable --output
        sys.exit(f"translate export: error: {error}")
    print(f"wrote {path}")
