"""``translate.load(path)``: a trained model as a callable for notebooks and services.

>>> to_orange = translate.load("runs/apple2orange")             # doctest: +SKIP
>>> orange = to_orange(Image.open("apple.jpg"))                   # doctest: +SKIP
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from translate.data.image_writer import to_pil, to_pixels
from translate.data.images import to_tensor
from translate.inference.loading import load_model
from translate.inference.options import ScaleChoice, TranslationOptions
from translate.inference.plan import plan_translations
from translate.models.contract import TranslationModel


class LoadedTranslator:
    """Translates a PIL image, a (H, W, C) uint8 array or a (B, C, H, W) tensor in [-1, 1] of any size.

    Inputs are translated as ``translate predict`` translates a file: at the model's scale (``scale``, as predict's
    ``--scale``: TraVeLGAN resizes to its training size and back), padded to the generator's size multiple and cropped
    back; PIL and numpy inputs come back as the same type (uint8), tensors as tensors in [-1, 1]. Direction (CycleGAN,
    TraVeLGAN) or target domain (StarGAN) is fixed at load time; the EMA generator is used when the model keeps one.
    """

    def __init__(
        self,
        model: TranslationModel,
        *,
        direction: str = "a2b",
        target_domain: str | None = None,
        scale: ScaleChoice = "auto",
    ):
        self.model = model
        options = TranslationOptions(direction, (target_domain,) if target_domain else None, scale=scale, one=True)
        self.plan = plan_translations(model, options)
        self.translation = self.plan.only()
        self.translator = self.translation.module.eval()
        self.device = model.device
        self.channels = model.channels

    @torch.inference_mode()
    def __call__(self, image: Image.Image | np.ndarray | Tensor) -> Image.Image | np.ndarray | Tensor:
        if isinstance(image, Tensor):
            return self._translate(image.to(self.device)).to(image.device)
        if isinstance(image, Image.Image):
            return to_pil(self._translate_array(np.asarray(image.convert("L" if self.channels == 1 else "RGB"))))
        if isinstance(image, np.ndarray):
            return to_pixels(self._translate_array(image))  # (H, W, C), C = 1 too
        raise TypeError(f"expected a PIL image, a numpy array or a tensor, got {type(image).__name__}")

    def _translate(self, images: Tensor) -> Tensor:
        return self.plan.resized(self.translation, images)

    def _translate_array(self, image: np.ndarray) -> Tensor:
        """(H, W) or (H, W, C) uint8 -> the translation, (C, H, W) in [-1, 1]."""
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"expected a (H, W) or (H, W, C) uint8 array, got {image.dtype} {image.shape}")
        batch = to_tensor(image)[None]  # (1, C, H, W) in [-1, 1]
        if batch.shape[1] != self.channels:
            raise ValueError(f"the model translates {self.channels}-channel images, got {batch.shape[1]}")
        return self._translate(batch.to(self.device))[0]


def load(
    path: str | Path,
    *,
    direction: str = "a2b",
    target_domain: str | None = None,
    scale: ScaleChoice = "auto",
    device: str | torch.device | None = None,
    trust: bool = False,
) -> LoadedTranslator:
    """Load a checkpoint written by ``translate fit`` (or its run folder) as a callable translator."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_model(path, device, trust=trust)
    return LoadedTranslator(model, direction=direction, target_domain=target_domain, scale=scale)
