"""``translate predict``: translate the images --input names into --output with a checkpoint or an ONNX file."""

import argparse
import sys

from translate.inference.devices import resolve_device
from translate.inference.loading import load_model
from translate.inference.onnx import OnnxTranslator
from translate.inference.predict import PredictOptions, predict_folder


def parse_attrs(text: str) -> dict[str, float]:
    """``Blond_Hair=1,Male=0`` -> {"Blond_Hair": 1.0, "Male": 0.0}."""
    values = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        if not sep or value.strip() not in ("0", "1"):
            raise argparse.ArgumentTypeError(f"expected NAME=0 or NAME=1 items separated by commas, got {item!r}")
        values[name.strip()] = float(value)
    return values


def predict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate predict",
        description="Translate the images of --input (folders, files, patterns) into --output, keeping relative "
        "paths, names and sizes.",
    )
    _add_files(parser)
    _add_translation(parser.add_argument_group("which translation"))
    _add_running(parser.add_argument_group("how to run"))
    return parser


def _add_files(parser: argparse.ArgumentParser) -> None:
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--ckpt",
        help="checkpoint written by `translate fit` or `translate import` (or a folder: its last.ckpt), or an "
        "official StarGAN NNNNNN-G.ckpt",
    )
    model.add_argument("--onnx", help="ONNX file written by `translate export`, run by onnxruntime")
    parser.add_argument(
        "--input",
        required=True,
        nargs="+",
        metavar="PATH",
        help="one or more folders (searched recursively), image files, or glob patterns ('photos/*.jpg', ** recursive)",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="folder to write to (created; not inside an --input folder), or an image file name (out.png) for one "
        "input image",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow a checkpoint that needs arbitrary pickled objects (can run code: only for files you trust)",
    )


def _add_translation(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--direction", choices=["a2b", "b2a"], help="CycleGAN direction (default a2b; --onnx: exported)")
    group.add_argument(
        "--target-domain",
        "--target_domain",
        action="append",
        metavar="NAME",
        help="StarGAN: translate to this domain into OUTPUT/NAME/ (repeatable; `all`: every domain)",
    )
    group.add_argument(
        "--attrs",
        type=parse_attrs,
        help="StarGAN multi-label: attribute values, e.g. Blond_Hair=1,Male=0, changing the input's own labels "
        "(from --attr-file, else as the model's classifier sees them); in an exclusive group set one member to 1",
    )
    group.add_argument(
        "--attr-file",
        "--attr_file",
        metavar="FILE",
        help="StarGAN multi-label: CelebA-style attribute file (list_attr_celeba.txt) giving the inputs' own labels, "
        "looked up by file name (or stem); inputs not in it get the classifier's estimate",
    )
    group.add_argument("--grid", action="store_true", help="StarGAN: one strip per input: the input, then every target")


def _add_running(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--batch-size", "--batch_size", type=int, default=1,
                       help="images per forward pass (same-size images are batched)")  # fmt: skip
    group.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")
    group.add_argument("--num-workers", "--num_workers", type=int, default=2, help="decoding processes (default 2)")
    group.add_argument(
        "--overwrite", action="store_true", help="translate again images whose outputs exist (default: skip them)"
    )
    group.add_argument(
        "--precision",
        choices=["32", "bf16", "16"],
        default="32",
        help="run the network in mixed precision: 16 or bf16 on a GPU, bf16 on a CPU with native bf16 (default 32)",
    )
    group.add_argument(
        "--scale",
        choices=["auto", "native", "training"],
        default="auto",
        help="translate at the input's own scale (native: CycleGAN, StarGAN) or resized to the scale the model was "
        "trained at and back (training: TraVeLGAN, whose generator sees the whole image); auto: the model's choice",
    )
    group.add_argument("--tile", type=int, help="translate in tiles of this size (pixels): memory bounded by the tile")
    group.add_argument("--tile-overlap", "--tile_overlap", type=int, default=64, help="blended overlap (default 64)")


def main(argv: list[str]) -> None:
    args = predict_parser().parse_args(argv)
    try:
        device = resolve_device(args.device)
        if args.onnx:
            model = OnnxTranslator(args.onnx, device)
        else:
            model = load_model(args.ckpt, device=device, trust=args.trust_checkpoint)
        options = PredictOptions(
            direction=args.direction, targets=args.target_domain, attrs=args.attrs, attr_file=args.attr_file,
            grid=args.grid, scale=args.scale, batch_size=args.batch_size, num_workers=args.num_workers,
            overwrite=args.overwrite, tile=args.tile, tile_overlap=args.tile_overlap, precision=args.precision,
        )  # fmt: skip
        predict_folder(model, args.input, args.output, options)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        sys.exit(f"translate predict: error: {error}")
