"""Checkpoints back into models: ``load_model`` rebuilds what ``translate fit`` or ``translate import`` saved."""

from pathlib import Path

import torch
from lightning.pytorch import LightningModule

import translate.models  # noqa: F401  (load_from_checkpoint only rebuilds classes that are already imported)
from translate.checkpoints import existing_checkpoint, read_checkpoint
from translate.inference.official import is_stargan_generator, stargan_from_official
from translate.models.contract import TranslationModel, translation_model


def load_model(ckpt: str | Path, device: str | torch.device = "cpu", *, trust: bool = False) -> TranslationModel:
    """Rebuild the model that ``translate fit`` saved in ``ckpt`` (any of translate.models), in eval mode.

    Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain data only, so a file crafted to run
    code when unpickled is refused. ``trust=True`` lifts that for files from a source you trust.
    """
    ckpt = existing_checkpoint(ckpt)  # a run or checkpoint folder: its newest last.ckpt
    checkpoint = read_checkpoint(ckpt, trust=trust)
    hparams = checkpoint.get("hyper_parameters", {})
    if "_instantiator" not in hparams and is_stargan_generator(checkpoint):  # yunjey/stargan's NNNNNN-G.ckpt
        return stargan_from_official(ckpt)[0].to(device).eval()
    if "_instantiator" not in hparams:
        raise ValueError(
            f"checkpoint {ckpt} does not record its model class (not written by `translate fit`); "
            "load it in Python with the model class, e.g. CycleGAN.load_from_checkpoint(path)"
        )
    try:
        model = LightningModule.load_from_checkpoint(ckpt, map_location="cpu", weights_only=not trust)
    except ValueError as error:  # e.g. weights that do not fit the recorded architecture (models/_checks.py)
        raise ValueError(f"checkpoint {ckpt}: {error}") from None
    model = translation_model(model, f"checkpoint {ckpt}")
    model.training_size = training_size(checkpoint)
    return model.to(device).eval()


def training_size(checkpoint: dict) -> int | None:
    """The side ``translate fit`` resized training images to (``data.load_size``), from the data module's
    hyper-parameters in the checkpoint; None when a custom training pipeline set the size instead."""
    data = checkpoint.get("datamodule_hyper_parameters") or {}
    # train_transform: what checkpoints of the data modules before data sources (UnpairedDataModule) recorded
    custom = data.get("custom_train_transform") or data.get("train_transform") is not None
    if custom or not isinstance(data.get("load_size"), int):
        return None
    return data["load_size"]
