"""``translate eval``: FID and KID under a named protocol (docs/evaluation.md), for a checkpoint (its test split
translated) or for two folders made by anything; writes a JSON report and prints a one-line summary."""

import argparse
import sys
from pathlib import Path

# translate.evaluation.PROTOCOLS' names, written out so that --help loads no torch
PROTOCOL_NAMES = ("cut", "clean", "torch-fidelity")


def eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate eval",
        description="FID and KID (mean and std, also x100) under a named protocol, with the settings that produced "
        "them, as JSON and one line. A checkpoint's test split is translated and scored against the target's real "
        "test images; two folders are scored as they are.",
    )
    _add_inputs(parser.add_argument_group("what to score: --ckpt with --config, or --real with --fake"))
    _add_translations(parser.add_argument_group("which translations (default: every one the model makes)"))
    _add_measurement(parser.add_argument_group("how to measure"))
    _add_running(parser.add_argument_group("where and how to run"))
    return parser


def _add_inputs(what: argparse._ArgumentGroup) -> None:
    what.add_argument("--ckpt", help="checkpoint written by `translate fit` or `translate import` (or a run folder)")
    what.add_argument(
        "--config",
        action="append",
        metavar="YAML",
        help="the training config(s) whose data section names the test split (repeat to stack)",
    )
    what.add_argument("--real", metavar="DIR", help="folder of real images (its own files, not sub-folders)")
    what.add_argument("--fake", metavar="DIR", help="folder of translated images")
    what.add_argument(
        "--reference",
        choices=["horse2zebra", "cat2dog"],
        help="instead of --real: clean-fid's precomputed statistics of that test split (--protocol clean)",
    )


def _add_translations(which: argparse._ArgumentGroup) -> None:
    which.add_argument("--direction", action="append", choices=["a2b", "b2a"], help="two-domain models (repeatable)")
    which.add_argument(
        "--target-domain",
        "--target_domain",
        action="append",
        metavar="NAME",
        help="multi-domain models (StarGAN): a target domain (repeatable)",
    )


def _add_measurement(how: argparse._ArgumentGroup) -> None:
    how.add_argument(
        "--protocol",
        choices=PROTOCOL_NAMES,
        default="cut",
        help="cut (pytorch-fid, CUT's tables; default), clean (clean-fid), torch-fidelity (UVCGAN)",
    )
    how.add_argument(
        "--inception-weights",
        "--inception_weights",
        metavar="PATH",
        help="the protocol's Inception weights file (default: the library's cache; never downloaded)",
    )
    how.add_argument(
        "--feature-extractor",
        "--feature_extractor",
        metavar="CLASS",
        help="dotted path of an nn.Module class replacing Inception (uint8-range images -> (N, D), with "
        "num_features); its numbers compare with no paper",
    )
    how.add_argument(
        "--kid-subset-size",
        "--kid_subset_size",
        type=int,
        help="KID subset size (default: 1000, or the smaller set's size when smaller)",
    )
    how.add_argument(
        "--fake-size",
        "--fake_size",
        type=int,
        help="side the test images are resized to before translation (default: the data's crop_size)",
    )
    how.add_argument(
        "--scale",
        choices=["auto", "native", "training"],
        default="auto",
        help="the scale those images are translated at, as translate predict --scale: auto (the model's own: training "
        "for TraVeLGAN), native (their own pixels), training (shorter side resized to the run's load_size, translated, "
        "resized back)",
    )


def _add_running(how: argparse._ArgumentGroup) -> None:
    how.add_argument(
        "--output",
        metavar="DIR",
        help="where translations and eval.json go (default: eval_<protocol> beside the checkpoint, or in "
        "the current folder for --real/--fake)",
    )
    how.add_argument("--overwrite", action="store_true", help="replace a previous evaluation in --output")
    how.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")
    how.add_argument("--batch-size", "--batch_size", type=int, default=8, help="images per translation batch")
    how.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow a checkpoint that needs arbitrary pickled objects (only for files you trust)",
    )


def main(argv: list[str]) -> None:
    args = eval_parser().parse_args(argv)
    _check_combination(args)
    try:
        report, output = _checkpoint_report(args) if args.ckpt else _folder_report(args)
        path = report.write(output / "eval.json")
    except (OSError, ValueError) as error:  # OSError: missing files or weights, a full disk, an existing report
        sys.exit(f"translate eval: error: {error}")
    print(f"{report.summary()} -> {path}")


def _check_combination(args: argparse.Namespace) -> None:
    if bool(args.ckpt) == bool(args.real or args.fake or args.reference):
        sys.exit("translate eval: error: give --ckpt CKPT --config CONFIG, or --real DIR --fake DIR")
    if args.ckpt and not args.config:
        sys.exit("translate eval: error: --ckpt needs --config CONFIG (the training config naming the test data)")
    if not args.ckpt and (not args.fake or bool(args.real) == bool(args.reference)):
        sys.exit("translate eval: error: --fake DIR goes with --real DIR (two folders) or --reference NAME")
    if not args.ckpt and (args.direction or args.target_domain or args.fake_size or args.scale != "auto"):
        sys.exit("translate eval: error: --direction, --target-domain, --fake-size and --scale are for --ckpt")
    if args.batch_size < 1:
        sys.exit(f"translate eval: error: --batch-size must be >= 1, got {args.batch_size}")


def _options(args: argparse.Namespace, device: str):
    from translate.evaluation.folders import feature_module
    from translate.inference.evaluate import EvalOptions

    return EvalOptions(
        protocol=args.protocol,
        weights=args.inception_weights,
        feature=feature_module(args.feature_extractor),
        device=device,
        batch_size=args.batch_size,
        fake_size=args.fake_size,
        scale=args.scale,
        kid_subset=args.kid_subset_size,
        overwrite=args.overwrite,
    )


def _checkpoint_report(args: argparse.Namespace):
    from translate import __version__
    from translate.checkpoints import resolve_checkpoint
    from translate.inference.devices import resolve_device
    from translate.inference.evaluate import evaluate_model
    from translate.inference.loading import load_model
    from translate.training.cli import data_module_from_configs

    device = resolve_device(args.device)
    ckpt = resolve_checkpoint(args.ckpt)
    output = _check_output(Path(args.output) if args.output else ckpt.parent / f"eval_{args.protocol}", args.overwrite)
    model = load_model(ckpt, device=device, trust=args.trust_checkpoint)
    data = data_module_from_configs(args.config)
    targets = (args.direction or []) + (args.target_domain or [])
    source = {
        "checkpoint": str(ckpt),
        "configs": args.config,
        "data_root": str(data.source.root),
        "targets": targets or "all",
        "translate": __version__,
    }
    return evaluate_model(model, data, output, targets=targets, options=_options(args, device), source=source), output


def _folder_report(args: argparse.Namespace):
    from translate.inference.devices import resolve_device
    from translate.inference.evaluate import folder_report, reference_report

    output = _check_output(Path(args.output) if args.output else Path(f"eval_{args.protocol}"), args.overwrite)
    options = _options(args, resolve_device(args.device))
    if args.reference:
        return reference_report(args.reference, args.fake, options=options), output
    return folder_report(args.real, args.fake, options=options), output


def _check_output(output: Path, overwrite: bool) -> Path:
    """The report's folder, checked before anything is translated: a previous eval.json is kept unless ``overwrite``."""
    if output.exists() and not output.is_dir():
        raise ValueError(f"--output {output} is a file; eval writes a folder (translations and eval.json)")
    if (output / "eval.json").exists() and not overwrite:
        raise FileExistsError(f"--output {output} holds eval.json of a previous evaluation; pass --overwrite to "
                              "replace it, or choose another --output")  # fmt: skip
    return output
