"""Checks every model runs in ``setup()`` against the data it is given."""

from lightning.pytorch import LightningDataModule, LightningModule


def attached_data(model: LightningModule) -> LightningDataModule | None:
    """The datamodule of the trainer the model is attached to, if any."""
    return getattr(model.trainer, "datamodule", None) if model._trainer is not None else None


def check_channels(model: LightningModule, data: LightningDataModule | None) -> None:
    """Raise when the model's and the data's channel counts differ, naming both options."""
    data_channels = getattr(data, "channels", model.hparams.channels)
    if data_channels != model.hparams.channels:
        raise ValueError(
            f"model.init_args.channels={model.hparams.channels} but data.channels={data_channels}: set both the same"
        )
