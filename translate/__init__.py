"""GAN image-to-image translation on PyTorch Lightning.

``from translate import CUT, CycleGAN, DCLGAN, Pix2Pix, StarGAN, TraVeLGAN, SiameseDiscTraVeLGAN,
ImageDataModule`` and ``translate.load(checkpoint)`` work; the submodules are imported on first use, so
``import translate`` stays cheap.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "CUT": "translate.models",
    "CycleGAN": "translate.models",
    "DCLGAN": "translate.models",
    "Pix2Pix": "translate.models",
    "StarGAN": "translate.models",
    "TraVeLGAN": "translate.models",
    "SiameseDiscTraVeLGAN": "translate.models",
    "ImageDataModule": "translate.data.datamodule",
    "UnpairedDataModule": "translate.data.datamodule",
    "load": "translate.inference.api",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'translate' has no attribute {name!r}")
