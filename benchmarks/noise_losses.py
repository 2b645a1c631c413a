"""The classic GAN losses side by side on the DCGAN quick start, scored by FID and KID against the training images.

    python datasets/make_fruit.py
    python -m benchmarks.noise_losses                                    # every loss, 150 epochs (2,100 batches)
    python -m benchmarks.noise_losses --losses lsgan hinge --epochs 20 --json out.json
    python -m benchmarks.noise_losses --losses --score runs/cgan_quickstart runs/vaegan_quickstart   # checkpoints only

Each variant is ``translate fit --config configs/dcgan_quickstart.yaml`` plus its overlay of ``configs/dcgan_losses/``
(``nonsaturating`` is the quick start itself), trained the same number of epochs, hence the same number of batches
(a WGAN or WGAN-GP batch is one critic step; its generator steps every fifth batch, as the papers' ``n_critic``), in
its own process with one torch thread. Then ``--num`` samples of the trained generator (seed 0) are scored against
the 400 training images of datasets/fruit (trainA and trainB, resized to 32 px by area) with the evaluation code
(``translate.evaluation.score_folders``, pytorch-fid's Frechet distance and torch-fidelity's KID).

Inception weights are not needed: the features are ``TinyFeatures``, a small CNN trained here first (seeded, a few
seconds) on the same training images to tell apple from orange and which of four rotations an image is in, so that
its features see colour, shape and orientation (the leaf up, the shadow down-right). Its 128-d pooled penultimate
layer is the feature. FID from 128-d features of a few hundred images compares only within this table.
"""

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = "configs/dcgan_quickstart.yaml"
LOSSES = {  # variant -> its overlay on the quick start (None: the quick start as it is)
    "minimax": "configs/dcgan_losses/minimax.yaml",
    "nonsaturating": None,
    "lsgan": "configs/dcgan_losses/lsgan.yaml",
    "hinge": "configs/dcgan_losses/hinge.yaml",
    "wgan": "configs/dcgan_losses/wgan.yaml",
    "wgangp": "configs/dcgan_losses/wgangp.yaml",
    "improved": "configs/dcgan_losses/improved.yaml",
}
IMAGE_SIZE = 32
ROTATIONS = 4


class TinyFeatures(nn.Module):
    """(N, 3, H, W) images in [0, 255] -> (N, 128) features: three stride-2 conv stages and a global average pool,
    trained by ``train_features``; the head (class x rotation) is not part of the feature."""

    num_features = 128

    def __init__(self, classes: int = 2 * ROTATIONS):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1), nn.BatchNorm2d(128), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(self.num_features, classes)

    def embed(self, images: Tensor) -> Tensor:
        """Images in [-1, 1] at 32 px -> (N, 128)."""
        return self.trunk(images).mean(dim=(2, 3))

    def forward(self, images: Tensor) -> Tensor:
        images = F.interpolate(images.float(), (IMAGE_SIZE, IMAGE_SIZE), mode="area")  # a no-op at 32 px
        return self.embed(images / 127.5 - 1)


def load_images(folders: list[Path]) -> tuple[Tensor, Tensor]:
    """(N, 3, 32, 32) images in [-1, 1] (resized by area) and their folder index as the label."""
    from translate.data.images import find_images, read_image, to_tensor

    images, labels = [], []
    for label, folder in enumerate(folders):
        for path in find_images(folder):
            image = to_tensor(read_image(path))[None]
            images.append(F.interpolate(image, (IMAGE_SIZE, IMAGE_SIZE), mode="area")[0])
            labels.append(label)
    return torch.stack(images), torch.tensor(labels)


def rotated(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Every image in its four rotations, labelled class * 4 + quarter turns."""
    turns = [torch.rot90(images, k, dims=(2, 3)) for k in range(ROTATIONS)]
    targets = [labels * ROTATIONS + k for k in range(ROTATIONS)]
    return torch.cat(turns), torch.cat(targets)


def train_features(images: Tensor, labels: Tensor, *, epochs: int = 15, seed: int = 0) -> TinyFeatures:
    """TinyFeatures fitted to (class, rotation) of ``images`` (with horizontal flips), in eval mode."""
    torch.manual_seed(seed)
    model, (inputs, targets) = TinyFeatures(), rotated(images, labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(inputs)).split(64):
            x = inputs[batch]
            flip = torch.rand(len(x)) < 0.5  # a flip keeps the class; it mirrors the rotation's leaf side only
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(model.head(model.embed(x)), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: TinyFeatures, images: Tensor, labels: Tensor) -> float:
    inputs, targets = rotated(images, labels)
    return (model.head(model.embed(inputs)).argmax(1) == targets).float().mean().item()


def save_png(images: Tensor, folder: Path) -> None:
    """Images in [-1, 1] as 8-bit PNGs, written by ``translate sample``'s own writer."""
    from translate.data.image_writer import write_image

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        write_image(image, folder / f"{i:05d}.png")


def train(variant: str, epochs: int, out: Path) -> dict:
    """``translate fit`` of the quick start with the variant's overlay in a process of its own, one torch thread."""
    command = [sys.executable, "-m", "translate.cli", "fit", "--config", QUICKSTART]
    if LOSSES[variant] is not None:
        command += ["--config", LOSSES[variant]]
    command += [f"--trainer.max_epochs={epochs}", f"--trainer.default_root_dir={out}", "--data.init_args.num_workers=0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{variant}: translate fit failed:\n{done.stderr[-3000:]}")
    per_epoch = int(re.search(r"(\d+) batches an epoch", done.stdout + done.stderr).group(1))
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"batches": per_epoch * epochs, "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1)}


def sample_scores(ckpt: Path, real: Path, feature: TinyFeatures, num: int, work: Path) -> dict:
    """FID and KID of ``num`` samples (seed 0) of the checkpoint's generator against the images in ``real``."""
    from translate.training.sampling import load_noise_model

    model = load_noise_model(str(ckpt), "cpu")
    fake = work / "fake"
    save_png(torch.cat([model.generate(min(100, num - i), seed=i) for i in range(0, num, 100)]), fake)
    return folder_scores(real, fake, feature)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--losses", nargs="*", default=list(LOSSES), choices=list(LOSSES))
    parser.add_argument("--epochs", type=int, default=150, help="epochs of the 432 fruit images (14 batches each)")
    parser.add_argument("--num", type=int, default=1000, help="samples scored per variant")
    parser.add_argument("--score", nargs="*", default=[], help="also score these checkpoints or run folders")
    parser.add_argument("--data", default="datasets/fruit", help="the fruit folder (trainA, trainB, testA, testB)")
    parser.add_argument("--json", default="benchmarks/results-noise-losses.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = ROOT / args.data
    images, labels = load_images([data / "trainA", data / "trainB"])
    test_images, test_labels = load_images([data / "testA", data / "testB"])
    feature = train_features(images, labels)
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, 1 torch thread",
               "features": "custom: TinyFeatures (not Inception), 128-d, trained on the fruit training images",
               "feature_test_accuracy": round(accuracy(feature, test_images, test_labels), 3), "epochs": args.epochs,
               "num_samples": args.num, "rows": []}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="noise_losses_") as tmp:
        work = Path(tmp)
        save_png(images, work / "real")
        save_png(test_images, work / "test")
        rows = [{"variant": "real test images (32)", **folder_scores(work / "real", work / "test", feature)}]
        print(f"TinyFeatures test accuracy (class x rotation): {results['feature_test_accuracy']:.3f}", flush=True)
        for i, variant in enumerate([*args.losses, *args.score]):
            if variant in LOSSES:
                row, ckpt = {"variant": variant, **train(variant, args.epochs, work / variant)}, work / variant
            else:
                row, ckpt = {"variant": variant}, Path(variant)
            row.update(sample_scores(ckpt, work / "real", feature, args.num, work / f"samples{i}"))
            rows.append(row)
            print(json.dumps(row), flush=True)
    results["rows"] = rows
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print_table(results)


def folder_scores(real: Path, fake: Path, feature: TinyFeatures) -> dict:
    """FID and KID x 100 (mean, std) of the images in ``fake`` against those in ``real`` (translate.evaluation)."""
    from translate.evaluation import score_folders

    scores = score_folders(real, fake, "cut", feature=feature, batch_size=100)
    return {"fid": round(scores.fid, 2), "kid_x100": round(100 * scores.kid_mean, 3),
            "kid_x100_std": round(100 * scores.kid_std, 3), "n_fake": scores.n_fake,
            "n_real": scores.n_real}  # fmt: skip


def print_table(results: dict) -> None:
    print(f"\n{results['features']}; {results['num_samples']} samples; {results['machine']}")
    print("| loss | batches | train wall s | train CPU s | FID | KID x100 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in results["rows"]:
        batches = row.get("batches", "-")
        wall, cpu = row.get("train_wall_s", "-"), row.get("train_cpu_s", "-")
        print(f"| {row['variant']} | {batches} | {wall} | {cpu} | {row['fid']:.2f} | "
              f"{row['kid_x100']:.3f} ± {row['kid_x100_std']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
