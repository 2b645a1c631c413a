"""``translate import``: official CycleGAN, pix2pix, CUT, DCLGAN or StarGAN weights -> a checkpoint predict and export
take."""

import argparse
import sys

from translate.inference.official import (
    CELEBA_DOMAINS,
    OFFICIAL_GENERATORS,
    import_cut,
    import_cyclegan,
    import_dclgan,
    import_pix2pix,
    import_stargan,
)
from translate.output_files import check_output


def import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="translate import", description="Official pretrained networks -> checkpoint.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--g-ab", "--g_ab", help="CycleGAN: official A->B generator (latest_net_G_A.pth, X.pth)")
    source.add_argument("--pix2pix", metavar="G_PTH", help="pix2pix: official generator (latest_net_G.pth, X.pth)")
    source.add_argument("--cut", metavar="G_PTH", help="CUT or FastCUT: official generator (latest_net_G.pth)")
    source.add_argument("--dclgan", metavar="G_A_PTH",
                        help="DCLGAN or SimDCL: official latest_net_G_A.pth (or its folder); G_B, D_A, D_B, F1-F6 "
                        "beside it are loaded too")  # fmt: skip
    source.add_argument("--stargan", metavar="G_CKPT", help="StarGAN: official generator (200000-G.ckpt)")
    parser.add_argument("--g-ba", "--g_ba", help="CycleGAN: official B->A generator (latest_net_G_B.pth), optional")
    parser.add_argument(
        "--netG",
        choices=list(OFFICIAL_GENERATORS),
        help="CycleGAN or pix2pix architecture (default: resnet_9blocks for CycleGAN, unet_256 for pix2pix)",
    )
    parser.add_argument(
        "--norm",
        choices=["instance", "batch"],
        help="CycleGAN or pix2pix --norm (default: instance for CycleGAN, batch for pix2pix)",
    )
    parser.add_argument("--channels", type=int, default=3, choices=[1, 3], help="CycleGAN --input_nc")
    parser.add_argument(
        "--stargan-d",
        "--stargan_d",
        metavar="D_CKPT",
        help="StarGAN: official discriminator (default: NNNNNN-D.ckpt next to the generator)",
    )
    parser.add_argument(
        "--domains",
        nargs="+",
        metavar="NAME",
        help="StarGAN: domain names in label order (default for c_dim 5: the official CelebA "
        f"{' '.join(CELEBA_DOMAINS)})",
    )
    parser.add_argument(
        "--label-mode",
        "--label_mode",
        choices=["single", "multi"],
        help="StarGAN with --domains: single (one-hot, RaFD-like; default) or multi (attributes)",
    )
    parser.add_argument(
        "--exclusive",
        nargs="+",
        action="append",
        metavar="NAME",
        help="StarGAN multi-label: a group of which exactly one is on (repeatable)",
    )
    parser.add_argument("--output", required=True, help="checkpoint to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --output when it exists")
    return parser


def main(argv: list[str]) -> None:
    """``translate import --g-ab latest_net_G_A.pth [--g-ba ...] --netG NAME --output CKPT`` (CycleGAN) or
    ``translate import --pix2pix latest_net_G.pth [--netG unet_256] --output CKPT`` (pix2pix) or
    ``translate import --cut latest_net_G.pth --output CKPT`` (CUT, FastCUT) or
    ``translate import --dclgan latest_net_G_A.pth --output CKPT`` (DCLGAN, SimDCL) or
    ``translate import --stargan 200000-G.ckpt [--stargan-d 200000-D.ckpt] [--domains ...] --output CKPT``."""
    args = import_parser().parse_args(argv)
    try:
        check_output(args.output, overwrite=args.overwrite)  # before any file is read: nothing done in vain
        if args.stargan:
            path = import_stargan(args.stargan, args.output, discriminator=args.stargan_d, domains=args.domains,
                                  label_mode=args.label_mode, exclusive_groups=args.exclusive)  # fmt: skip
        elif args.cut:
            path = import_cut(args.cut, args.output)
        elif args.dclgan:
            path = import_dclgan(args.dclgan, args.output)
        elif args.pix2pix:
            path = import_pix2pix(args.pix2pix, args.output, netG=args.netG or "unet_256", norm=args.norm or "batch")
        else:
            path = import_cyclegan(args.g_ab, args.output, g_ba=args.g_ba, netG=args.netG or "resnet_9blocks",
                                   norm=args.norm or "instance", channels=args.channels)  # fmt: skip
    except (OSError, ValueError) as error:  # OSError: a missing file, or a checkpoint that cannot be written
        sys.exit(f"translate import: error: {error}")
    print(f"wrote {path}: translate predict --ckpt {path} --input DIR --output DIR")
