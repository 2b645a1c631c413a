"""``translate data download NAME [--paired]``: a standard CycleGAN or pix2pix dataset, resumable, safely unpacked."""

import argparse
import sys

from translate.data.download import DownloadError, fetch_dataset
from translate.data.layouts import CYCLEGAN_DATASETS, PIX2PIX_DATASETS

DATASETS = tuple(dict.fromkeys(CYCLEGAN_DATASETS + PIX2PIX_DATASETS))
# The shipped configs that train on a downloaded dataset as it unpacks, by (name, paired).
CONFIGS = {("horse2zebra", False): "configs/horse2zebra.yaml", ("apple2orange", False): "configs/apple2orange.yaml",
           ("facades", True): "configs/facades.yaml"}  # fmt: skip


def data_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="translate data", description="Get datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="download a standard CycleGAN or pix2pix dataset (resumable)")
    fetch.add_argument(
        "name", choices=DATASETS, metavar="NAME",
        help=f"CycleGAN (unpaired): {', '.join(CYCLEGAN_DATASETS)}; pix2pix (paired): {', '.join(PIX2PIX_DATASETS)}",
    )  # fmt: skip
    fetch.add_argument(
        "--paired", action="store_true",
        help="the pix2pix collection (aligned A|B images in train/, val/, test/); implied for names only it has",
    )  # fmt: skip
    fetch.add_argument("--root", default="datasets", help="parent folder (default: datasets)")
    fetch.add_argument("--force", action="store_true", help="replace files that already exist")
    fetch.add_argument("--base-url", help=argparse.SUPPRESS)  # tests and mirrors
    return parser


def main(argv: list[str]) -> None:
    """``translate data download NAME [--paired] [--root datasets] [--force]``."""
    args = data_parser().parse_args(argv)
    paired = args.paired or args.name not in CYCLEGAN_DATASETS
    if paired and args.name not in PIX2PIX_DATASETS:
        sys.exit(f"translate data: error: {args.name} is a CycleGAN (unpaired) dataset: drop --paired")
    try:
        folder = fetch_dataset(args.name, args.root, paired=paired, base_url=args.base_url, force=args.force)
    except DownloadError as error:
        sys.exit(f"translate data: error: {error}")
    config = CONFIGS.get((args.name, paired))
    if config:
        print(f"{args.name} is ready in {folder}: translate fit --config {config}")
    else:
        example = "configs/facades.yaml" if paired else "configs/horse2zebra.yaml"
        print(f"{args.name} is ready in {folder}: copy {example}, set its data.source root: {folder}, and "
              "translate fit --config")  # fmt: skip
