"""Time the official CycleGAN step (junyanz/pytorch-CycleGAN-and-pix2pix) from a checkout; prints one JSON line.

    python -m benchmarks.gpu_official PATH --device cuda --size 256 --batch 1 --steps 20 --warmup 5

Run by benchmarks/gpu_speed.py in a process of its own (the official code imports top-level ``models``, ``options``,
``data`` and ``util`` packages and parses ``sys.argv``). The step is what the official train.py times per iteration:
``model.set_input(data)`` then ``model.optimize_parameters()``, at its defaults for CycleGAN (ResNet-9, 70x70
PatchGAN, instance norm, LSGAN, pool 50, Adam; its own cuDNN benchmark setting); the batch is random images made
once, so the official loader's decoding is left out (in its favour: ours is timed with data loading).
"""

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch


def official_options(checkout: Path, args: argparse.Namespace, folder: str):
    """The official TrainOptions parsed from the arguments its parser knows (older and newer checkouts differ)."""
    sys.path.insert(0, str(checkout))
    from options.train_options import TrainOptions

    known = TrainOptions().initialize(argparse.ArgumentParser())._option_string_actions
    wanted = {"--dataroot": folder, "--name": "gpu_check", "--checkpoints_dir": folder, "--model": "cycle_gan",
              "--batch_size": str(args.batch), "--crop_size": str(args.size),
              "--load_size": str(round(args.size * 286 / 256)), "--display_id": "0", "--no_html": None,
              "--gpu_ids": "-1" if args.device == "cpu" else args.device.partition(":")[2] or "0"}  # fmt: skip
    if args.tiny:  # about the quick-start size
        wanted.update({"--ngf": "16", "--ndf": "16", "--netG": "resnet_6blocks"})
    argv = ["train.py"]
    for option, value in wanted.items():
        if option in known:
            argv += [option] if value is None else [option, value]
    sys.argv = argv
    return TrainOptions().parse()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
    with tempfile.TemporaryDirectory() as folder:
        opt = official_options(args.checkout, args, folder)
        from models import create_model

        model = create_model(opt)
        model.setup(opt)
        images = [torch.rand(args.batch, 3, args.size, args.size) * 2 - 1 for _ in range(2)]
        data = {"A": images[0], "B": images[1], "A_paths": ["a.png"] * args.batch, "B_paths": ["b.png"] * args.batch}
        cuda = args.device.startswith("cuda")
        for step in range(args.warmup + args.steps):
            if step == args.warmup:
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
            model.set_input(data)
            model.optimize_parameters()
        if cuda:
            torch.cuda.synchronize()
        steps_per_s = args.steps / (time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {"steps_per_s": steps_per_s, "pairs_per_s": steps_per_s * args.batch, "peak_mb": round(peak / 2**20)}
        )
    )


if __name__ == "__main__":
    main()
