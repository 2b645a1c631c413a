"""Images on disk to batches: decoding, dataset layouts, datasets, the data module, and dataset downloads.

``from translate.data import UnpairedDataModule`` imports the data module (albumentations, OpenCV) on first use, so
that models and inference, which only need ``translate.data.spec`` or ``translate.data.images``, stay light; the
downloader (``translate.data.download``) is imported only by the command that downloads.
"""

import importlib

__all__ = ["UnpairedDataModule"]


def __getattr__(name: str):
    if name == "UnpairedDataModule":
        return importlib.import_module("translate.data.datamodule").UnpairedDataModule
    raise AttributeError(f"module 'translate.data' has no attribute {name!r}")
