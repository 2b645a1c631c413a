"""Checks every model runs in ``setup()`` against the data it is given, and against a checkpoint it loads."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from lightning.pytorch import LightningModule

from translate.data.spec import DataSpec, described_data
from translate.models.contract import TranslationModel


def attached_data(model: LightningModule) -> DataSpec | None:
    """What the data module of the trainer the model is attached to says of its data; None without one (or for a
    data module that does not describe its data)."""
    data = described_data(model.trainer.datamodule if model._trainer is not None else None)
    return data.spec if data is not None else None


def check_precision(model: LightningModule) -> None:
    """Refuse ``16-true``, the one precision these GANs cannot train in (docs/training.md): with fp16 weights and
    optimizer states, Adam's eps (1e-8) and the squares of gradients below 7e-3 round to zero, and the first step
    writes inf and NaN into the weights (measured: every model, on the CPU)."""
    if model._trainer is not None and model.trainer.precision == "16-true":
        raise ValueError("trainer.precision 16-true keeps the weights and Adam's state in fp16, where the first step "
                         "turns them to NaN: use 16-mixed (fp16 compute, fp32 weights)")  # fmt: skip


def check_channels(model: TranslationModel, data: DataSpec | None) -> None:
    """Raise when the model's and the data's channel counts differ, naming both options."""
    if data is not None and data.channels != model.channels:
        raise ValueError(
            f"model.init_args.channels={model.channels} but data.channels={data.channels}: set both the same"
        )


def check_two_domains(model: TranslationModel, data: DataSpec | None) -> None:
    """Raise when a two-domain model is given data with another number of domains (a folder per domain finds every
    sub-folder), naming the option to set."""
    if data is not None and len(data.domains) != 2 and not data.labelled:
        raise ValueError(
            f"{type(model).__name__} translates between two domains but the data has {len(data.domains)}: "
            f"{list(data.domains)}; set data.domains to two of them, or train a StarGAN for more"
        )


def check_checkpoint_fits(model: LightningModule, checkpoint: dict[str, Any]) -> None:
    """Raise one clear error when ``checkpoint`` holds another model class or other network shapes than ``model``.

    Called from the models' ``on_load_checkpoint``, which Lightning runs before ``load_state_dict``: instead of its
    list of every mismatched tensor, the error names both classes and the hyper-parameters that differ.
    """
    saved, own = checkpoint.get("state_dict", {}), model.state_dict()
    unexpected = [key for key in saved if key not in own]
    missing = [key for key in own if key not in saved]
    resized = [key for key in own if key in saved and tuple(saved[key].shape) != tuple(own[key].shape)]
    if not (unexpected or missing or resized):
        return
    hparams = checkpoint.get("hyper_parameters", {})
    saved_class = str(hparams.get("_class_path", "model of unrecorded class")).rsplit(".", 1)[-1]
    theirs, ours = _flat(hparams), _flat(dict(model.hparams))
    differences = [
        f"{key}: checkpoint {theirs.get(key, '-')}, config {ours.get(key, '-')}"
        for key in sorted(set(theirs) | set(ours))
        if theirs.get(key, "-") != ours.get(key, "-") and not key.startswith("_instantiator")
    ]
    if resized:
        first = f"{resized[0]} is {tuple(saved[resized[0]].shape)} there, {tuple(own[resized[0]].shape)} here"
    else:
        first = f"{(unexpected or missing)[0]} is {'only in the checkpoint' if unexpected else 'missing there'}"
    raise ValueError(
        f"the checkpoint holds a {saved_class} that does not fit this {type(model).__name__} "
        f"({'; '.join(differences[:8]) or 'no hyper-parameter differs'}; first tensor: {first}); use the config the "
        "checkpoint was trained with, or start without --ckpt_path"
    )


def _flat(hparams: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested hyper-parameters (class_path/init_args dicts, partials) -> {"generator.init_args.base_channels": "16"}."""
    flat = {}
    for key, value in hparams.items():
        if isinstance(value, partial):  # models built in Python: partial(ResnetGenerator, base_channels=16)
            value = {"class_path": getattr(value.func, "__name__", str(value.func)), "init_args": value.keywords}
        if isinstance(value, Mapping):
            flat.update(_flat(dict(value), f"{prefix}{key}."))
        else:
            text = getattr(value, "__name__", None) or str(value)
            flat[f"{prefix}{key}"] = text.rsplit(".", 1)[-1] if key.endswith("class_path") else text  # as in configs
    return flat
