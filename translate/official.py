"""``translate import``: the official CycleGAN generators (junyanz/pytorch-CycleGAN-and-pix2pix) as a checkpoint.

Our ResnetGenerator and UNetGenerator have the official state_dict keys, so official ``latest_net_G_A.pth`` /
``<name>.pth`` files load 1:1; files saved by 2018-era PyTorch carry InstanceNorm running statistics that the
official code itself drops before loading, and so do we. The result is a regular checkpoint for ``translate
predict``, ``translate export`` and ``translate.load``.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Literal

import lightning
import torch

from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator, UNetGenerator

log = logging.getLogger(__name__)

OfficialGenerator = Literal["resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256"]
_GENERATORS = {
    "resnet_9blocks": (ResnetGenerator, {"num_blocks": 9}),
    "resnet_6blocks": (ResnetGenerator, {"num_blocks": 6}),
    "unet_128": (UNetGenerator, {"num_downs": 7}),
    "unet_256": (UNetGenerator, {"num_downs": 8}),
}
_LEGACY_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")


def _official_state(path: Path, expected: dict) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"generator file not found: {path}") from None
    state = {k.removeprefix("module."): v for k, v in state.items()}  # saved from DataParallel
    state = {k: v for k, v in state.items() if k in expected or not k.endswith(_LEGACY_NORM_KEYS)}
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match this generator: missing {missing[:3]}, unexpected {unexpected[:3]}; "
            "check --netG (resnet_9blocks, resnet_6blocks, unet_128, unet_256), --norm and --channels"
        )
    return state


def import_cyclegan(
    g_ab: str | Path,
    output: str | Path,
    *,
    g_ba: str | Path | None = None,
    netG: OfficialGenerator = "resnet_9blocks",  # noqa: N803 (the official option's name)
    norm: Literal["instance", "batch"] = "instance",
    channels: int = 3,
) -> Path:
    """Write a CycleGAN checkpoint whose ``gen_ab`` (and ``gen_ba`` when given) hold the official weights."""
    if netG not in _GENERATORS:
        raise ValueError(f"unknown --netG {netG!r}, expected one of {list(_GENERATORS)}")
    cls, kwargs = _GENERATORS[netG]
    generator_args = {"base_channels": 64, "norm": norm, **kwargs}
    model = CycleGAN(
        lambda i, o: cls(i, o, **generator_args), lambda i: PatchDiscriminator(i, norm=norm), channels=channels
    )
    model.gen_ab.load_state_dict(_official_state(Path(g_ab), model.gen_ab.state_dict()))
    if g_ba is not None:
        model.gen_ba.load_state_dict(_official_state(Path(g_ba), model.gen_ba.state_dict()))
    else:
        log.warning("no --g-ba: the checkpoint's b2a generator is untrained; translate with --direction a2b only")
    hparams = {  # what `translate fit` records, so load_from_checkpoint rebuilds the same networks
        "_class_path": "translate.models.CycleGAN",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": f"translate.networks.{cls.__name__}", "init_args": generator_args},
        "discriminator": {"class_path": "translate.networks.PatchDiscriminator", "init_args": {"norm": norm}},
        "channels": channels,
    }
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams, "epoch": 0, "global_step": 0,
                "pytorch-lightning_version": lightning.__version__}, output)  # fmt: skip
    return output


def import_command(argv: list[str]) -> None:
    """``translate import --g-ab latest_net_G_A.pth [--g-ba latest_net_G_B.pth] --netG NAME --output CKPT``."""
    parser = argparse.ArgumentParser(prog="translate import", description="Official CycleGAN generators -> checkpoint.")
    parser.add_argument("--g-ab", "--g_ab", required=True, help="official A->B generator (latest_net_G_A.pth, X.pth)")
    parser.add_argument("--g-ba", "--g_ba", help="official B->A generator (latest_net_G_B.pth), optional")
    parser.add_argument("--netG", default="resnet_9blocks", choices=list(_GENERATORS), help="official architecture")
    parser.add_argument("--norm", default="instance", choices=["instance", "batch"], help="official --norm")
    parser.add_argument("--channels", type=int, default=3, choices=[1, 3], help="official --input_nc")
    parser.add_argument("--output", required=True, help="checkpoint to write")
    args = parser.parse_args(argv)
    try:
        path = import_cyclegan(args.g_ab, args.output, g_ba=args.g_ba, netG=args.netG, norm=args.norm,
                               channels=args.channels)  # fmt: skip
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"translate import: error: {error}")
    print(f"wrote {path}: translate predict --ckpt {path} --input DIR --output DIR")
