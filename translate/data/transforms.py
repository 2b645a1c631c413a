"""Augmentation pipelines: the official CycleGAN's defaults (resize, random crop, flip), CUT's switch to whole images
after its constant epochs, and the pipelines a config may give instead."""

from dataclasses import dataclass
from typing import Any

import albumentations as A
import cv2


class SwitchAtEpoch(A.BaseCompose):
    """Applies ``before`` in the epochs (counted from 0) before ``epoch`` and ``after`` from it on.

    The datasets give it each item's epoch (``set_epoch``), which the sampler draws with the item in the main process
    (``SampleIndex``), so the switch holds in every loader worker and after a resume, mid-epoch too. Seeding and extra
    targets (paired images) reach both pipelines, as albumentations' own compositions pass them on.
    """

    def __init__(self, before: A.BaseCompose, after: A.BaseCompose, epoch: int):
        super().__init__([before, after], p=1.0)
        self.switch_epoch, self.epoch = epoch, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, *args: Any, **data: Any) -> dict[str, Any]:
        before, after = self.transforms
        return (before if self.epoch < self.switch_epoch else after)(*args, **data)


def default_transforms(
    load_size: int, crop_size: int, random_crop_epochs: int | None = None
) -> tuple[A.BaseCompose, A.Compose]:
    """The official CycleGAN pipelines: train resizes to ``load_size``, random-crops ``crop_size`` and flips; eval
    resizes to ``load_size`` and takes the centre ``crop_size``, so validation, sample grids and FID see objects at the
    scale training sees them (a whole image resized to ``crop_size`` would show them at crop/load of it: 0.8x for
    TraVeLGAN's 160 -> 128). Bicubic like the official code, but area-averaged when shrinking (PIL's bicubic
    antialiases there, OpenCV's does not). With ``random_crop_epochs``, training crops in that many epochs and then
    resizes whole images straight to ``crop_size`` and flips, as the official CUT in its decay epochs."""
    resize = {"height": load_size, "width": load_size, "interpolation": cv2.INTER_CUBIC, "area_for_downscale": "image"}
    train = A.Compose([A.Resize(**resize), A.RandomCrop(crop_size, crop_size), A.HorizontalFlip()])
    if random_crop_epochs is not None:
        whole = A.Compose([A.Resize(**{**resize, "height": crop_size, "width": crop_size}), A.HorizontalFlip()])
        train = SwitchAtEpoch(train, whole, random_crop_epochs)
    return train, A.Compose([A.Resize(**resize), A.CenterCrop(crop_size, crop_size)])


Pipeline = A.BaseCompose | A.BasicTransform


@dataclass
class Transforms:
    """albumentations pipelines replacing the default ones (``default_transforms``). Each maps an (H, W, C) uint8
    image to a fixed size and must not normalise: scaling to [-1, 1] happens afterwards.

    Args:
        train: The training pipeline; None: the default one (resize, random crop, flip).
        eval: The evaluation pipeline (validation, test, sample grids); None: the default one (resize to
            ``load_size``, centre ``crop_size``: the training scale).
    """

    train: Pipeline | None = None
    eval: Pipeline | None = None
