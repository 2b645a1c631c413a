"""``translate fit|validate|test --config ...`` (LightningCLI) and ``translate predict --ckpt ... --input ...``."""

import argparse
import sys

from lightning.pytorch.cli import ArgsType, LightningCLI

import translate.models  # noqa: F401  (shorthand class_path and load_from_checkpoint need them imported)
import translate.networks  # noqa: F401
from translate import __version__
from translate.data import UnpairedDataModule

USAGE = f"""translate {__version__}: GAN image-to-image translation on PyTorch Lightning

usage: translate COMMAND [options]

commands:
  fit        train a model:             translate fit --config configs/quickstart.yaml
  validate   run the validation loop:  translate validate --config CONFIG --ckpt_path CKPT
  test       run the test loop:        translate test --config CONFIG --ckpt_path CKPT
  predict    translate a folder:       translate predict --ckpt CKPT --input DIR --output DIR

`translate COMMAND --help` lists each command's options; `translate fit --config C --print_config` shows the
full resolved configuration.
"""


class TranslateCLI(LightningCLI):
    """LightningCLI without its own ``predict``: ours takes a checkpoint and folders instead of a config."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {name: keys for name, keys in LightningCLI.subcommands().items() if name != "predict"}


def predict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate predict",
        description="Translate every image under --input into --output, keeping relative paths, names and sizes.",
    )
    parser.add_argument(
        "--ckpt", required=True, help="checkpoint written by `translate fit` (or a folder: its last.ckpt)"
    )
    parser.add_argument("--input", required=True, help="folder of images (searched recursively)")
    parser.add_argument("--output", required=True, help="folder to write to (created; must not be inside --input)")
    parser.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="CycleGAN direction (default a2b)")
    parser.add_argument(
        "--batch-size",
        "--batch_size",
        type=int,
        default=1,
        help="images per forward pass (same-size images are batched)",
    )
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")
    parser.add_argument("--num-workers", "--num_workers", type=int, default=2, help="decoding processes (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    return parser


def predict_command(argv: list[str]) -> None:
    import torch

    from translate.predict import load_model, predict_folder

    args = predict_parser().parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    try:
        model = load_model(args.ckpt, device=device)
        predict_folder(
            model, args.input, args.output, direction=args.direction, batch_size=args.batch_size,
            num_workers=args.num_workers, overwrite=args.overwrite,
        )  # fmt: skip
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        sys.exit(f"translate predict: error: {error}")


def main(args: ArgsType = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return
    if argv[0] in ("-V", "--version"):
        print(f"translate {__version__}")
        return
    if argv[0] == "predict":
        predict_command(argv[1:])
        return
    TranslateCLI(
        model_class=None,  # subclass mode: model.class_path picks CycleGAN, ...
        datamodule_class=UnpairedDataModule,
        auto_configure_optimizers=False,  # models bring their own optimizers and schedules
        save_config_kwargs={"overwrite": True},
        args=None if args is None else argv,  # None: LightningCLI reads sys.argv itself (no warning)
    )


if __name__ == "__main__":
    main()
