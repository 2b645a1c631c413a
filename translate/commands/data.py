"""``translate data download NAME``: a standard CycleGAN dataset, resumable and safely unpacked."""

import argparse
import sys

from translate.data.download import BASE_URL, DownloadError, fetch_dataset
from translate.data.layouts import CYCLEGAN_DATASETS


def main(argv: list[str]) -> None:
    """``translate data download NAME [--root datasets] [--force]``."""
    parser = argparse.ArgumentParser(prog="translate data", description="Get datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="download a standard CycleGAN dataset (resumable)")
    fetch.add_argument("name", choices=CYCLEGAN_DATASETS, metavar="NAME", help=", ".join(CYCLEGAN_DATASETS))
    fetch.add_argument("--root", default="datasets", help="parent folder (default: datasets)")
    fetch.add_argument("--force", action="store_true", help="replace files that already exist")
    fetch.add_argument("--base-url", default=BASE_URL, help=argparse.SUPPRESS)  # tests and mirrors
    args = parser.parse_args(argv)
    try:
        folder = fetch_dataset(args.name, args.root, base_url=args.base_url, force=args.force)
    except DownloadError as error:
        sys.exit(f"translate data: error: {error}")
    print(f"{args.name} is ready in {folder}: translate fit --config configs/{args.name}.yaml")
