"""``translate sample``: images from a noise model's checkpoint (DCGAN, conditional GAN, InfoGAN, Siamese GAN,
VAE-GAN), a grid, and a VAE-GAN's reconstructions of a folder; the same seed gives the same files
(translate/training/sampling.py)."""

import argparse
import sys
from pathlib import Path

from translate.training.sampling import load_noise_model, write_grids, write_reconstructions, write_samples


def main(argv: list[str]) -> None:
    """``translate sample --ckpt CKPT --num N --output DIR [--class NAME] [--seed S] [--grid] [--input DIR]``."""
    parser = argparse.ArgumentParser(prog="translate sample", description="Images from a noise model's checkpoint.")
    parser.add_argument("--ckpt", required=True, help="checkpoint written by `translate fit` (or its run folder)")
    parser.add_argument("--num", type=int, default=64, help="images to write (default 64)")
    parser.add_argument("--output", required=True, help="folder for sample_00000.png, ... (and grid.png)")
    parser.add_argument("--class", dest="class_name", help="conditional models: the class to draw (default: each)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: the same seed writes the same images")
    parser.add_argument("--grid", action="store_true", help="also write grid.png (InfoGAN: each code swept)")
    parser.add_argument("--input", help="VAE-GAN: a folder of images to reconstruct (reconstructions.png)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--trust-checkpoint", action="store_true", help="allow arbitrary pickled objects")
    args = parser.parse_args(argv)
    if args.num < 0:
        sys.exit(f"translate sample: error: --num must be >= 0, got {args.num}")
    try:
        model = load_noise_model(args.ckpt, args.device, trust=args.trust_checkpoint)
        output = Path(args.output)
        output.mkdir(parents=True, exist_ok=True)
        write_samples(model, output, args.num, args.seed, args.class_name)
        written = [f"{args.num} images"]
        if args.grid:
            written += write_grids(model, output, args.seed)
        if args.input:
            written.append(write_reconstructions(model, Path(args.input), output, args.device).name)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"translate sample: error: {error}")
    print(f"wrote {', '.join(written)} to {output}")
