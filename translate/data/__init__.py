"""Images on disk to batches: decoding, dataset layouts, data sources, datasets, the data module, and dataset
downloads.

``from translate.data import ImageDataModule`` imports the data module (albumentations, OpenCV) on first use, so
that models and inference, which only need ``translate.data.spec`` or ``translate.data.images``, stay light; the
downloader (``translate.data.download``) is imported only by the command that downloads.
"""

import importlib

__all__ = ["ImageDataModule", "UnpairedDataModule"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("translate.data.datamodule"), name)
    raise AttributeError(f"module 'translate.data' has no attribute {name!r}")
