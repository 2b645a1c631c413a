"""``translate fit|validate|test --config ...`` (LightningCLI) and ``translate predict --ckpt ... --input ...``."""

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.cli import ArgsType, LightningCLI
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

import translate.models  # noqa: F401  (shorthand class_path and load_from_checkpoint need them imported)
import translate.networks  # noqa: F401
from translate import __version__
from translate.checkpoint_io import AtomicCheckpointIO
from translate.data import UnpairedDataModule
from translate.strategies import PLAIN_DDP_NAMES, StepSyncDDPStrategy

PACKAGE = Path(__file__).resolve().parent

USAGE = f"""translate {__version__}: GAN image-to-image translation on PyTorch Lightning

usage: translate COMMAND [options]

commands:
  fit        train a model:             translate fit --config configs/quickstart.yaml
  validate   run the validation loop:  translate validate --config CONFIG --ckpt_path CKPT
  test       run the test loop:        translate test --config CONFIG --ckpt_path CKPT
  predict    translate a folder:       translate predict --ckpt CKPT --input DIR --output DIR  (or --onnx FILE)
             (StarGAN: add --target-domain NAME|all, --attrs A=1,B=0 or --grid)
  data       get a dataset:            translate data download horse2zebra [--root datasets]
  export     ONNX or TorchScript:      translate export --ckpt CKPT --format onnx --output model.onnx
  import     official weights:         translate import --g-ab latest_net_G_A.pth --output imported.ckpt
             (StarGAN: translate import --stargan 200000-G.ckpt --output imported.ckpt)

`translate COMMAND --help` lists each command's options; `translate fit --config C --print_config` shows the
full resolved configuration.
"""


class TranslateCLI(LightningCLI):
    """LightningCLI without its own ``predict`` (ours takes a checkpoint and folders instead of a config), and with
    ``--trainer.strategy ddp`` (or ddp_spawn, ddp_fork, ddp_notebook) meaning translate.strategies.StepSyncDDPStrategy:
    Lightning's plain DDP stops on a GAN's unused parameters."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {name: keys for name, keys in LightningCLI.subcommands().items() if name != "predict"}

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        strategy = kwargs.get("strategy", self._get(self.config_init, "trainer", default={}).get("strategy"))
        if isinstance(strategy, str) and strategy in PLAIN_DDP_NAMES:
            rank_zero_info(
                f"strategy {strategy!r}: translate.strategies.StepSyncDDPStrategy (gradients averaged at each "
                "optimizer step, no unused-parameter search; see docs/training.md)"
            )
            kwargs["strategy"] = StepSyncDDPStrategy(start_method=PLAIN_DDP_NAMES[strategy])
        trainer = super().instantiate_trainer(**kwargs)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # Lightning's default, not a user's plugin
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        return trainer

    def _parse_ckpt_path(self) -> None:
        # Lightning replaces the config's model with the checkpoint's hyper-parameters without a word: a resume
        # with an edited config would silently train something else than the config says. Networks, channels and
        # domains that differ are an error; other differences (loss weights, ...) are named, and the checkpoint's
        # values are used, as Lightning does.
        subcommand = self.config.get("subcommand")
        ckpt_path = subcommand and self.config[subcommand].get("ckpt_path")
        if ckpt_path and Path(ckpt_path).is_file():
            report_checkpoint_differences(self.config[subcommand].model, ckpt_path, subcommand)
        super()._parse_ckpt_path()


ARCHITECTURE_KEYS = ("generator.", "discriminator.", "siamese.", "channels", "domains", "label_mode", "image_size",
                     "bidirectional", "ema_decay")  # fmt: skip


def report_checkpoint_differences(model_config: Any, ckpt_path: str, subcommand: str) -> None:
    """Exit with one line when ``ckpt_path`` holds another model or other networks than ``model_config``; warn about
    other differing hyper-parameters."""
    import torch

    from translate.models._checks import _flat

    # mmap: only the small hyper-parameters are read here; the tensors are read once, when the run resumes
    hparams = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True).get("hyper_parameters", {})
    saved_class = hparams.get("_class_path")
    if model_config is None or saved_class is None:
        return  # not written by LightningCLI: the models' own on_load_checkpoint check applies
    config = model_config.as_dict() if hasattr(model_config, "as_dict") else dict(model_config)

    def short(flat: dict[str, str]) -> dict[str, str]:  # "translate.networks.generators.X" and "X" are one class
        return {k: v.rsplit(".", 1)[-1] if k.endswith("class_path") else v for k, v in flat.items()}

    def lists(value: Any) -> Any:  # YAML gives lists where Python defaults are tuples: (0.5, 0.999) == [0.5, 0.999]
        if isinstance(value, dict):
            return {k: lists(v) for k, v in value.items()}
        return [lists(v) for v in value] if isinstance(value, (list, tuple)) else value

    theirs = short(_flat(lists({k: v for k, v in hparams.items() if not k.startswith("_")})))
    ours = short(_flat(lists(config.get("init_args") or {})))
    saved_name, own_name = saved_class.rsplit(".", 1)[-1], str(config.get("class_path")).rsplit(".", 1)[-1]
    differing = [k for k in sorted(set(theirs) & set(ours)) if theirs[k] != ours[k]]

    def listed(keys: list[str]) -> str:
        return "; ".join(f"{k}: checkpoint {theirs[k]}, config {ours[k]}" for k in keys[:8])

    if saved_name != own_name:
        sys.exit(f"translate {subcommand}: error: {ckpt_path} holds a {saved_name}, the config a {own_name}; use the "
                 "config the checkpoint was trained with, or start without --ckpt_path")  # fmt: skip
    architecture = [k for k in differing if k.startswith(ARCHITECTURE_KEYS)]
    if architecture:
        sys.exit(f"translate {subcommand}: error: {ckpt_path} holds a {saved_name} with other networks than the "
                 f"config ({listed(architecture)}); use the config it was trained with, or start without "
                 "--ckpt_path")  # fmt: skip
    if differing:
        rank_zero_warn(f"{ckpt_path}: the checkpoint's values are used where the config differs ({listed(differing)})")


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
        description="Translate every image under --input into --output, keeping relative paths, names and sizes.",
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--ckpt",
        help="checkpoint written by `translate fit` or `translate import` (or a folder: its last.ckpt), or an "
        "official StarGAN NNNNNN-G.ckpt",
    )
    model.add_argument("--onnx", help="ONNX file written by `translate export`, run by onnxruntime")
    parser.add_argument("--input", required=True, help="folder of images (searched recursively)")
    parser.add_argument("--output", required=True, help="folder to write to (created; must not be inside --input)")
    parser.add_argument(
        "--direction", choices=["a2b", "b2a"], help="CycleGAN direction (default a2b; --onnx: exported)"
    )
    parser.add_argument(
        "--target-domain",
        "--target_domain",
        action="append",
        metavar="NAME",
        help="StarGAN: translate to this domain into OUTPUT/NAME/ (repeatable; `all`: every domain)",
    )
    parser.add_argument(
        "--attrs",
        type=parse_attrs,
        help="StarGAN multi-label: attribute values, e.g. Blond_Hair=1,Male=0, starting from the input's own labels "
        "(as the model's classifier sees them)",
    )
    parser.add_argument(
        "--grid", action="store_true", help="StarGAN: one strip per input: the input, then every target"
    )
    parser.add_argument(
        "--batch-size",
        "--batch_size",
        type=int,
        default=1,
        help="images per forward pass (same-size images are batched)",
    )
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")
    parser.add_argument("--num-workers", "--num_workers", type=int, default=2, help="decoding processes (default 2)")
    parser.add_argument(
        "--overwrite", action="store_true", help="translate again images whose outputs exist (default: skip them)"
    )
    parser.add_argument(
        "--precision",
        choices=["32", "bf16", "16"],
        default="32",
        help="run the network in mixed precision: 16 or bf16 on a GPU, bf16 on a CPU with native bf16 (default 32)",
    )
    parser.add_argument("--tile", type=int, help="translate in tiles of this size (pixels): memory bounded by the tile")
    parser.add_argument("--tile-overlap", "--tile_overlap", type=int, default=64, help="blended overlap (default 64)")
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow a checkpoint that needs arbitrary pickled objects (can run code: only for files you trust)",
    )
    return parser


def predict_command(argv: list[str]) -> None:
    import torch

    from translate.export import OnnxTranslator
    from translate.predict import load_model, predict_folder

    args = predict_parser().parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    try:
        if args.onnx:
            model = OnnxTranslator(args.onnx, device)
        else:
            model = load_model(args.ckpt, device=device, trust=args.trust_checkpoint)
        predict_folder(
            model, args.input, args.output, direction=args.direction, targets=args.target_domain, attrs=args.attrs,
            grid=args.grid, batch_size=args.batch_size, num_workers=args.num_workers, overwrite=args.overwrite,
            tile=args.tile, tile_overlap=args.tile_overlap, precision=args.precision,
        )  # fmt: skip
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        sys.exit(f"translate predict: error: {error}")


COMMANDS = {  # imported on use, so `translate data ...` does not pay for what `translate predict` needs
    "predict": "translate.cli:predict_command",
    "data": "translate.download:data_command",
    "export": "translate.export:export_command",
    "import": "translate.official:import_command",
}


def main(args: ArgsType = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return
    if argv[0] in ("-V", "--version"):
        print(f"translate {__version__}")
        return
    if argv[0] in COMMANDS:  # our own argparse commands; LightningCLI runs fit, validate and test
        module, function = COMMANDS[argv[0]].split(":")
        getattr(importlib.import_module(module), function)(argv[1:])
        return
    try:
        TranslateCLI(
            model_class=None,  # subclass mode: model.class_path picks CycleGAN, ...
            datamodule_class=UnpairedDataModule,
            auto_configure_optimizers=False,  # models bring their own optimizers and schedules
            save_config_kwargs={"overwrite": True},
            args=None if args is None else argv,  # None: LightningCLI reads sys.argv itself (no warning)
        )
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError, OSError) as error:
        if not _raised_by_translate(error) or os.environ.get("TRANSLATE_DEBUG"):
            raise  # someone else's error (a bug to report): keep the whole traceback
        sys.exit(f"translate {argv[0]}: error: {error}  (TRANSLATE_DEBUG=1 shows the traceback)")


def _raised_by_translate(error: BaseException) -> bool:
    """Whether the innermost frame that raised ``error`` is this package's code: our messages are complete."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and Path(traceback.tb_frame.f_code.co_filename).is_relative_to(PACKAGE)


if __name__ == "__main__":
    main()
