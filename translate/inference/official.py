"""``translate import``: official pretrained generators as a regular checkpoint for ``translate predict``,
``translate export`` and ``translate.load``.

CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix): our ResnetGenerator and UNetGenerator have the official state_dict
keys, so ``latest_net_G_A.pth`` / ``<name>.pth`` files load 1:1; files saved by 2018-era PyTorch carry InstanceNorm
running statistics that the official code itself drops before loading, and so do we.

StarGAN (yunjey/stargan): ``NNNNNN-G.ckpt`` is a plain state_dict of the official ``Generator`` and
``NNNNNN-D.ckpt`` of the ``Discriminator``; our StarGANGenerator / StarGANDiscriminator have the same keys
(``main.N``, ``conv1``), and the official ``conv2`` domain classifier is our model's ``classifier``. The sizes
(``c_dim``, widths, blocks, layers, image size) are read from the tensors' shapes.

pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix, ``--model pix2pix``): ``latest_net_G.pth`` and the published
``facades_label2photo.pth`` etc. are plain state_dicts of the official ``UnetGenerator`` (unet_256, batch norm,
dropout), which our UNetGenerator loads 1:1, batch-norm running statistics included; the width (``--ngf``) and the
channels are read from the first conv. The official test.py keeps the networks in training mode unless given
``--eval`` (batch norm then normalises with each test batch's own statistics, and dropout stays on, as the paper's
"noise"); ``translate predict`` and ``translate.load`` use eval mode: the running statistics, no dropout, so
outputs are deterministic and match the official ``--eval`` outputs.

CUT and FastCUT (taesungp/contrastive-unpaired-translation): ``latest_net_G.pth`` is a plain state_dict of the
official anti-aliased ``ResnetGenerator``, which our ``ResnetGenerator(antialias=True)`` loads 1:1, its blur kernels
(``model.7.filt``, ...) included; width, channels and blocks are read from the tensors. Both modes share the network.

DCLGAN and SimDCL (JunlinHan/DCLGAN): a run leaves ``<epoch>_net_G_A.pth``, ``_G_B``, ``_D_A``, ``_D_B``, ``_F1``,
``_F2`` (and SimDCL's ``_F3`` to ``_F6``), plain state_dicts; the generators are CUT's, and every network loads 1:1
into ours (``dclgan_from_official``: netD_A, which judges G_A's outputs, is our ``disc_b``; the heads' ``mlp_<i>``
keys are our ``heads.<i>``).
"""

import logging
import pickle
import re
from functools import partial
from pathlib import Path
from typing import Literal

import lightning
import torch
from lightning.pytorch import LightningModule

from translate.checkpoints import checkpoint_format, first_line, what_file_is
from translate.models import CUT, DCLGAN, CycleGAN, Pix2Pix, StarGAN
from translate.networks import (
    AntialiasedPatchDiscriminator,
    PatchDiscriminator,
    ResnetGenerator,
    StarGANDiscriminator,
    StarGANGenerator,
    UNetGenerator,
)
from translate.training.checkpoint_io import AtomicCheckpointIO

log = logging.getLogger(__name__)

OfficialGenerator = Literal["resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256"]
OFFICIAL_GENERATORS = {
    "resnet_9blocks": (ResnetGenerator, {"num_blocks": 9}),
    "resnet_6blocks": (ResnetGenerator, {"num_blocks": 6}),
    "unet_128": (UNetGenerator, {"num_downs": 7}),
    "unet_256": (UNetGenerator, {"num_downs": 8}),
}
_LEGACY_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")


def _read_state_dict(path: Path, what: str = "generator") -> dict:
    """A plain state_dict (tensors by name) from ``path``, without a ``module.`` prefix (saved from DataParallel)."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    if checkpoint_format(path) is None:  # random bytes, an image, text: torch would answer with its pickle advice
        raise ValueError(f"{path} is not an official {what} file ({what_file_is(path)}); pass the .pth or .ckpt file "
                         "the official code saved")  # fmt: skip
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's advice to load it with weights_only=False: not for a file of tensors
        raise ValueError(f"{path} holds pickled Python objects beyond tensors, which could run code when loaded; "
                         f"refused: an official {what} file is a plain state dict of tensors") from None  # fmt: skip
    except Exception as error:  # noqa: BLE001 (a damaged archive)
        raise ValueError(f"{path} is a damaged {what} file ({type(error).__name__}: {first_line(error)}); an "
                         "interrupted copy or download? Copy it again") from None  # fmt: skip
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a plain state dict of tensors (an official {what} file)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _official_state(path: Path, expected: dict, state: dict | None = None) -> dict:
    """The generator state in ``path`` (or already read from it: ``state``) with exactly the ``expected`` keys and
    shapes; InstanceNorm statistics of 2018 files dropped, BatchNorm counters of pre-0.4.1 files filled in."""
    state = _read_state_dict(path) if state is None else state
    state = {k: v for k, v in state.items() if k in expected or not k.endswith(_LEGACY_NORM_KEYS)}
    state = _fill_missing_norm_counters(state, expected)
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    resized = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or resized:
        raise ValueError(
            f"{path} does not match this generator: missing {missing[:3]}, unexpected {unexpected[:3]}, other "
            f"shapes {resized[:3]}; check --netG (resnet_9blocks, resnet_6blocks, unet_128, unet_256), --norm and "
            "--channels"
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
    """Write a CycleGAN checkpoint whose ``gen_ab`` (and ``gen_ba`` when given) hold the official weights.

    The width (``--ngf``) is read from the first conv (``model.1.weight`` of a ResNet, ``model.model.0.weight`` of a
    U-Net); 64, the official default, when the file has no such tensor (the key check then names what is wrong).
    """
    if netG not in OFFICIAL_GENERATORS:
        raise ValueError(f"unknown --netG {netG!r}, expected one of {list(OFFICIAL_GENERATORS)}")
    cls, kwargs = OFFICIAL_GENERATORS[netG]
    state_ab = _read_state_dict(Path(g_ab))
    first = state_ab.get("model.1.weight" if netG.startswith("resnet") else "model.model.0.weight")
    base_channels = first.shape[0] if first is not None and first.ndim == 4 else 64
    generator_args = {"base_channels": base_channels, "norm": norm, **kwargs}
    model = CycleGAN(
        lambda i, o: cls(i, o, **generator_args), lambda i: PatchDiscriminator(i, norm=norm), channels=channels
    )
    model.gen_ab.load_state_dict(_official_state(Path(g_ab), model.gen_ab.state_dict(), state_ab))
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
    return _save_checkpoint(model, hparams, output)


def _save_checkpoint(model: LightningModule, hparams: dict, output: str | Path) -> Path:
    """A checkpoint as `translate fit` writes it (atomically, as fit does), so ``load_model`` rebuilds the same
    networks from ``hparams``."""
    output = Path(output)
    AtomicCheckpointIO().save_checkpoint({"state_dict": model.state_dict(), "hyper_parameters": hparams, "epoch": 0,
                                          "global_step": 0, "pytorch-lightning_version": lightning.__version__},
                                         output)  # fmt: skip
    return output


# pix2pix ---------------------------------------------------------------------------------------------------------

OfficialUNet = Literal["unet_128", "unet_256"]


def pix2pix_from_official(
    generator: str | Path,
    *,
    netG: OfficialUNet = "unet_256",  # noqa: N803 (the official option's name)
    norm: Literal["batch", "instance"] = "batch",
) -> tuple[Pix2Pix, dict]:
    """A Pix2Pix whose ``gen`` holds the official generator, and the hyper-parameters that rebuild it; ``disc`` is
    untrained (the official test needs no D). Width and channels come from the first conv ``model.model.0.weight``
    (``--ngf``, ``--input_nc``)."""
    if netG not in ("unet_128", "unet_256"):
        raise ValueError(f"unknown --netG {netG!r} for pix2pix, expected 'unet_128' or 'unet_256'")
    path = Path(generator)
    state = _read_state_dict(path, "pix2pix generator")
    first = state.get("model.model.0.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 4:
        raise ValueError(f"{path} is not an official U-Net generator (no 4x4 conv model.model.0.weight)")
    base_channels, channels = first.shape[0], first.shape[1]
    # dropout 0.5: the official pix2pix's use_dropout (no parameters; off in eval mode)
    generator_args = {"base_channels": base_channels, "norm": norm, "dropout": 0.5, **OFFICIAL_GENERATORS[netG][1]}
    model = Pix2Pix(partial(UNetGenerator, **generator_args), partial(PatchDiscriminator, norm=norm), channels=channels)
    model.gen.load_state_dict(_official_state(path, model.gen.state_dict(), state))
    hparams = {  # what `translate fit` records, so load_from_checkpoint rebuilds the same networks
        "_class_path": "translate.models.Pix2Pix",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": "translate.networks.UNetGenerator", "init_args": generator_args},
        "discriminator": {"class_path": "translate.networks.PatchDiscriminator", "init_args": {"norm": norm}},
        "channels": channels,
    }
    return model.eval(), hparams


def import_pix2pix(generator: str | Path, output: str | Path, **kwargs) -> Path:
    """Write a Pix2Pix checkpoint holding the official generator; see ``pix2pix_from_official``."""
    model, hparams = pix2pix_from_official(generator, **kwargs)
    return _save_checkpoint(model, hparams, output)


# CUT -------------------------------------------------------------------------------------------------------------

_CUT_BLOCK = re.compile(r"model\.(\d+)\.conv_block\.1\.weight")


def cut_from_official(generator: str | Path, *, mode: Literal["cut", "fastcut"] = "cut") -> tuple[CUT, dict]:
    """A CUT whose ``gen`` holds the official generator, and the hyper-parameters that rebuild it; ``disc`` and the
    PatchNCE heads are untrained (translation needs neither). Width and channels come from the first conv
    ``model.1.weight`` (``--ngf``, ``--input_nc``), the number of blocks from the ``model.N.conv_block`` keys."""
    path = Path(generator)
    state = _read_state_dict(path, "CUT generator")
    generator_args, channels = _antialiased_generator_args(path, state, "CUT")
    model = CUT(partial(ResnetGenerator, **generator_args), AntialiasedPatchDiscriminator, channels=channels, mode=mode)
    _load_with_blur(model.gen, path, state)
    hparams = {  # what `translate fit` records, so load_from_checkpoint rebuilds the same networks
        "_class_path": "translate.models.CUT",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": "translate.networks.ResnetGenerator", "init_args": generator_args},
        "discriminator": {"class_path": "translate.networks.AntialiasedPatchDiscriminator", "init_args": {}},
        "channels": channels,
        "mode": mode,
    }
    return model.eval(), hparams


def import_cut(generator: str | Path, output: str | Path, **kwargs) -> Path:
    """Write a CUT checkpoint holding the official CUT or FastCUT generator; see ``cut_from_official``."""
    model, hparams = cut_from_official(generator, **kwargs)
    return _save_checkpoint(model, hparams, output)


def _antialiased_generator_args(path: Path, state: dict, model: str) -> tuple[dict, int]:
    """ResnetGenerator(antialias=True) arguments and image channels of an official CUT or DCLGAN generator: width and
    channels from the first conv ``model.1.weight`` (``--ngf``, ``--input_nc``), blocks from ``model.N.conv_block``."""
    first = state.get("model.1.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 7 or "model.4.weight" not in state:
        raise ValueError(f"{path} is not an official {model} generator (no 7x7 conv model.1.weight and model.4.weight)")
    if "model.7.weight" in state:  # a conv where CUT has its first blur
        raise ValueError(
            f"{path} has strided convs (a CycleGAN generator or {model} --no_antialias): import it with --g-ab"
        )
    generator_args = {"base_channels": first.shape[0], "num_blocks": len([k for k in state if _CUT_BLOCK.fullmatch(k)]),
                      "norm": "instance", "antialias": True, "init_type": "xavier", "init_gain": 0.02}  # fmt: skip
    return generator_args, first.shape[1]


def _load_with_blur(module: torch.nn.Module, path: Path, state: dict) -> None:
    """Load an official anti-aliased network's ``state``; its fixed blur kernels (``.filt``) are filled in when the
    file lacks them."""
    expected = module.state_dict()
    blur = {k: v for k, v in expected.items() if k.endswith(".filt")}
    module.load_state_dict(_official_state(path, expected, blur | state))


# DCLGAN ----------------------------------------------------------------------------------------------------------

# The official model names (dcl_model.py / simdcl_model.py model_names; files <epoch>_net_<name>.pth) -> our modules.
# netD_A judges G_A's outputs (domain B): our disc_b. netF1 projects G_A's encoder features (A), netF2 G_B's.
DCLGAN_NETWORKS = {"G_A": "gen_ab", "G_B": "gen_ba", "D_A": "disc_b", "D_B": "disc_a", "F1": "heads_ab",
                   "F2": "heads_ba", "F3": "sim_real_a", "F4": "sim_fake_b", "F5": "sim_real_b",
                   "F6": "sim_fake_a"}  # fmt: skip
_DCLGAN_FILE = re.compile(r"(.*)_net_G_A\.pth")
_OFFICIAL_MLP = re.compile(r"mlp_(\d+)\.(.*)")


def official_dclgan_keys(name: str, state: dict) -> dict:
    """An official DCLGAN network's state with our keys: ``PatchSampleF``'s ``mlp_<i>.<j>`` is our heads'
    ``heads.<i>.<j>``; every other network (generators, discriminators, ``MappingF``) has our keys already."""
    if name not in ("F1", "F2"):
        return state
    return {
        (f"heads.{m.group(1)}.{m.group(2)}" if (m := _OFFICIAL_MLP.fullmatch(k)) else k): v for k, v in state.items()
    }


def dclgan_from_official(generator: str | Path) -> tuple[DCLGAN, dict]:
    """A DCLGAN (or SimDCL) holding an official run's networks, and the hyper-parameters that rebuild it.

    ``generator`` is ``<epoch>_net_G_A.pth`` (or the folder holding ``latest_net_G_A.pth``); ``G_B``, and the
    discriminators ``D_A``, ``D_B`` and heads ``F1``, ``F2`` (``F3`` to ``F6``: SimDCL) of the same epoch beside it
    are loaded when present, so a run can also be fine-tuned; without ``G_B`` only a2b translates. Networks absent
    stay untrained. The generators' width, channels and blocks are read from ``G_A``, the discriminators' width and
    layers from ``D_A``."""
    path = Path(generator)
    if path.is_dir():
        path = path / "latest_net_G_A.pth"
    match = _DCLGAN_FILE.fullmatch(path.name)
    if match is None:
        raise ValueError(f"{path}: expected the official <epoch>_net_G_A.pth (or its folder)")
    files = {name: path.with_name(f"{match.group(1)}_net_{name}.pth") for name in DCLGAN_NETWORKS}
    states = {name: _read_state_dict(file, f"DCLGAN {name}") for name, file in files.items() if file.is_file()}
    if "G_A" not in states:
        raise FileNotFoundError(f"DCLGAN generator file not found: {path}")
    generator_args, channels = _antialiased_generator_args(path, states["G_A"], "DCLGAN")
    discriminator_args = {"init_type": "xavier", "init_gain": 0.02}
    if "D_A" in states:  # NLayerDiscriminator: n_layers + 2 convs, the first model.0
        convs = [k for k, v in states["D_A"].items() if k.endswith(".weight") and v.ndim == 4 and "filt" not in k]
        discriminator_args |= {"base_channels": states["D_A"]["model.0.weight"].shape[0], "num_layers": len(convs) - 2}
    mode = "simdcl" if all(f"F{i}" in states for i in (3, 4, 5, 6)) else "dcl"
    model = DCLGAN(partial(ResnetGenerator, **generator_args), partial(AntialiasedPatchDiscriminator,
                   **discriminator_args), channels=channels, mode=mode)  # fmt: skip
    networks = dict(model.named_children())  # F3 to F6 are there for SimDCL only
    for name, state in states.items():
        module = networks.get(DCLGAN_NETWORKS[name])
        if module is None:  # F3 to F6 without all four: not a SimDCL
            raise ValueError(f"{files[name]}: a SimDCL network, but not all of F3 to F6 are beside {path}")
        _load_with_blur(module, files[name], official_dclgan_keys(name, state))
    log.info("loaded %s from %s", ", ".join(f"{n} -> {DCLGAN_NETWORKS[n]}" for n in states), path.parent)
    if "G_B" not in states:
        log.warning("no %s: the checkpoint's b2a generator is untrained; translate with --direction a2b only",
                    files["G_B"])  # fmt: skip
    hparams = {  # what `translate fit` records, so load_from_checkpoint rebuilds the same networks
        "_class_path": "translate.models.DCLGAN",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": "translate.networks.ResnetGenerator", "init_args": generator_args},
        "discriminator": {
            "class_path": "translate.networks.AntialiasedPatchDiscriminator",
            "init_args": discriminator_args,
        },  # fmt: skip
        "channels": channels,
        "mode": mode,
    }
    return model.eval(), hparams


def import_dclgan(generator: str | Path, output: str | Path) -> Path:
    """Write a DCLGAN checkpoint holding an official DCLGAN or SimDCL run's networks; see ``dclgan_from_official``."""
    model, hparams = dclgan_from_official(generator)
    return _save_checkpoint(model, hparams, output)


# StarGAN ---------------------------------------------------------------------------------------------------------

# yunjey/stargan main.py --selected_attrs, the attributes of its pretrained CelebA models; solver.create_labels keeps
# exactly one hair colour on.
CELEBA_DOMAINS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
CELEBA_GROUPS = (("Black_Hair", "Blond_Hair", "Brown_Hair"),)
_RESIDUAL_BLOCK = re.compile(r"main\.(\d+)\.main\.0\.weight")
_STEP_FILE = re.compile(r"(\d+)-G\.ckpt")  # NNNNNN-G.ckpt, saved next to NNNNNN-D.ckpt


def is_stargan_generator(state: dict) -> bool:
    """Whether ``state`` (as read from a file, ``module.`` prefix or not) has the official StarGAN generator's
    layout: a 7x7 first conv and ``main.N.main`` blocks."""
    first = state.get("main.0.weight", state.get("module.main.0.weight"))
    return (
        isinstance(first, torch.Tensor)
        and first.ndim == 4
        and first.shape[-1] == 7
        and any(isinstance(k, str) and _RESIDUAL_BLOCK.match(k.removeprefix("module.")) for k in state)
    )


def _stargan_sizes(g_state: dict, d_state: dict | None, path: Path, d_path: Path | None) -> dict:
    """Network sizes read from the tensors: c_dim from the first conv's input channels (image + label)."""
    convs = sorted(int(k.split(".")[1]) for k in g_state if re.fullmatch(r"main\.\d+\.weight", k))
    channels = g_state[f"main.{convs[-1]}.weight"].shape[0]  # the last 7x7 conv's output: the image channels
    sizes = {
        "channels": channels,
        "c_dim": g_state["main.0.weight"].shape[1] - channels,
        "g_base": g_state["main.0.weight"].shape[0],
        "g_blocks": len({m.group(1) for m in map(_RESIDUAL_BLOCK.match, g_state) if m}),
        "image_size": 128,  # official default; only the classifier (from D) depends on it
    }
    if sizes["c_dim"] < 2:
        raise ValueError(f"{path}: the first conv takes {channels + sizes['c_dim']} channels, so no domain labels")
    if d_state is not None:
        if "conv2.weight" not in d_state or "main.0.weight" not in d_state:
            raise ValueError(f"{d_path} is not an official StarGAN discriminator (no main.0.weight / conv2.weight)")
        layers = len([k for k in d_state if re.fullmatch(r"main\.\d+\.weight", k)])
        classifier = d_state["conv2.weight"]  # (c_dim, features, side, side): side = image_size / 2**layers
        if classifier.shape[0] != sizes["c_dim"]:
            raise ValueError(f"{d_path} classifies {classifier.shape[0]} domains, {path} takes {sizes['c_dim']}")
        sizes |= {"d_base": d_state["main.0.weight"].shape[0], "d_layers": layers}
        sizes["image_size"] = classifier.shape[-1] * 2**layers
    return sizes


def _fill_missing_norm_counters(state: dict, expected: dict) -> dict:
    """Files from PyTorch < 0.4.1 lack InstanceNorm's ``num_batches_tracked``, which no output depends on."""
    missing = {k: torch.tensor(0) for k in expected if k.endswith("num_batches_tracked") and k not in state}
    return state | missing


def _load_strict(module: torch.nn.Module, state: dict, path: Path) -> None:
    state = _fill_missing_norm_counters(state, module.state_dict())
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    shapes = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or shapes:
        raise ValueError(f"{path} is not an official StarGAN network: missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]}, other shapes {shapes[:3]}")  # fmt: skip
    module.load_state_dict(state)


def stargan_from_official(
    generator: str | Path,
    *,
    discriminator: str | Path | None = None,
    domains: list[str] | None = None,
    label_mode: Literal["single", "multi"] | None = None,
    exclusive_groups: list[list[str]] | None = None,
) -> tuple[StarGAN, dict]:
    """A StarGAN holding the official weights, and the hyperparameters that rebuild it from a checkpoint.

    ``discriminator`` defaults to the ``NNNNNN-D.ckpt`` next to ``NNNNNN-G.ckpt`` when there is one; it gives predict
    the input's own attributes (the official ``conv2``). Without it the classifier is zero, so every input is taken
    to have all attributes off (multi-label) or the first domain (single). ``domains`` default to the official CelebA
    selection for c_dim 5 (multi-label, hair colour exclusive); other c_dim need them named.
    """
    generator = Path(generator)
    g_state = _read_state_dict(generator, "StarGAN generator")
    if not is_stargan_generator(g_state):
        raise ValueError(f"{generator} is not an official StarGAN generator (expected keys main.0.weight with a 7x7 "
                         "kernel and residual blocks main.N.main.*)")  # fmt: skip
    step = _STEP_FILE.fullmatch(generator.name)
    if discriminator is None and step and (generator.parent / f"{step.group(1)}-D.ckpt").is_file():
        discriminator = generator.parent / f"{step.group(1)}-D.ckpt"
    d_state = None if discriminator is None else _read_state_dict(Path(discriminator), "StarGAN discriminator")
    sizes = _stargan_sizes(g_state, d_state, generator, discriminator)
    if domains is None:
        if sizes["c_dim"] != len(CELEBA_DOMAINS):
            raise ValueError(f"{generator} translates between {sizes['c_dim']} domains; name them in label order "
                             "with translate import --domains A B ... (and --label-mode)")  # fmt: skip
        domains, label_mode = list(CELEBA_DOMAINS), label_mode or "multi"
        exclusive_groups = [list(g) for g in CELEBA_GROUPS] if exclusive_groups is None else exclusive_groups
    if len(domains) != sizes["c_dim"]:
        raise ValueError(f"--domains names {len(domains)} domains but {generator} takes {sizes['c_dim']} labels")
    generator_args = {"base_channels": sizes["g_base"], "num_blocks": sizes["g_blocks"]}
    # without the official D, a small stand-in: its classifier is zeroed below
    discriminator_args = {"base_channels": sizes.get("d_base", 4), "num_layers": sizes.get("d_layers", 2)}
    model_args = {"domains": list(domains), "channels": sizes["channels"], "image_size": sizes["image_size"],
                  "label_mode": label_mode or "single", "exclusive_groups": exclusive_groups or []}  # fmt: skip
    model = StarGAN(
        partial(StarGANGenerator, **generator_args), partial(StarGANDiscriminator, **discriminator_args), **model_args
    )
    _load_strict(model.gen, g_state, generator)
    if d_state is None:
        first_of_group = {group[0] for group in exclusive_groups or []}  # a group (hair colour) needs one member on
        example = ",".join(f"{d}={int(d in first_of_group)}" for d in domains)
        log.warning("no StarGAN discriminator file (NNNNNN-D.ckpt): the input's own attributes are unknown and taken "
                    "as all off; give every attribute in --attrs (e.g. %s)", example)  # fmt: skip
        torch.nn.init.zeros_(model.classifier.weight)
    else:
        _load_strict(model.disc, {k: v for k, v in d_state.items() if k != "conv2.weight"}, Path(discriminator))
        model.classifier.weight.data.copy_(d_state["conv2.weight"])
    hparams = {
        "_class_path": "translate.models.StarGAN",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": "translate.networks.StarGANGenerator", "init_args": generator_args},
        "discriminator": {"class_path": "translate.networks.StarGANDiscriminator", "init_args": discriminator_args},
        **model_args,
    }
    return model.eval(), hparams


def import_stargan(generator: str | Path, output: str | Path, **kwargs) -> Path:
    """Write a StarGAN checkpoint holding the official generator (and discriminator); see ``stargan_from_official``."""
    model, hparams = stargan_from_official(generator, **kwargs)
    return _save_checkpoint(model, hparams, output)
