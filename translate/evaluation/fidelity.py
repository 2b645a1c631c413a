"""torch-fidelity glue: its extractor by registry name (the Inception, or a custom feature module registered under a
name of its own), folder scores from ``calculate_metrics``, and features of images already in memory."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from translate.evaluation.scoring import kid_subset_size, same_size

INCEPTION = "inception-v3-compat"
# The extensions torch-fidelity reads from a folder: its default png,jpg,jpeg, and the other lossless formats
FIND_EXTENSIONS = "png,jpg,jpeg,bmp,tif,tiff,webp"
_CUSTOM: dict[str, nn.Module] = {}  # registry name -> module; torch-fidelity builds extractors by name


class _CustomFeatures(FeatureExtractorBase):
    """A feature module (uint8 images -> (N, D)) as torch-fidelity's extractor interface wants it."""

    def __init__(self, name: str, features_list: list[str], **kwargs: Any):
        super().__init__(name, features_list)
        self.feature = _CUSTOM[name]

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("features",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return "features"

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        return torch.zeros(1, 3, 4, 4, dtype=torch.uint8)

    def forward(self, images: Tensor) -> tuple[Tensor]:
        return (self.feature(images),)


@dataclass
class FidelityExtractor:
    """What torch-fidelity needs to build an extractor: its registry name, the weights file, the device."""

    name: str
    weights: Path | None
    cuda: bool
    _module: nn.Module | None = field(default=None, repr=False)

    def options(self) -> dict[str, Any]:
        """``calculate_metrics`` keywords: this extractor, never a download (weights given), no on-disk cache."""
        return {"feature_extractor": self.name, "feature_extractor_weights_path": None if self.weights is None
                else str(self.weights), "cuda": self.cuda, "verbose": False, "cache": False, "save_cpu_ram": True,
                "samples_find_ext": FIND_EXTENSIONS}  # fmt: skip

    def module(self) -> nn.Module:
        from torch_fidelity.utils import create_feature_extractor

        if self._module is None:
            layer = self._layer()
            self._module = create_feature_extractor(self.name, [layer], **self.options())
        return self._module

    def _layer(self) -> str:
        from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

        return FEATURE_EXTRACTORS_REGISTRY[self.name].get_default_feature_layer_for_metric("fid")

    def image_features(self, images: Tensor) -> np.ndarray:
        with torch.no_grad():
            return self.module()(images.to(torch.uint8))[0].double().cpu().numpy()

    def folder_features(self, folder: Path, batch_size: int) -> np.ndarray:
        from torch_fidelity.datasets import ImagesPathDataset
        from torch_fidelity.utils import get_featuresdict_from_dataset

        files = folder_files(folder)
        dataset = ImagesPathDataset(files)
        features = get_featuresdict_from_dataset(dataset, self.module(), batch_size, self.cuda, True, False)
        return features[self._layer()].double().numpy()


def fidelity_extractor(weights: Path | None, feature: nn.Module | None, device: torch.device) -> FidelityExtractor:
    """torch-fidelity's Inception from ``weights``, or ``feature`` registered with torch-fidelity under its own name."""
    cuda = torch.device(device).type == "cuda"
    if feature is None:
        return FidelityExtractor(INCEPTION, weights, cuda)
    from torch_fidelity.registry import register_feature_extractor

    name = f"translate-{type(feature).__name__}-{id(feature)}"  # _CUSTOM keeps the module, so the id stays unique
    if name not in _CUSTOM:
        _CUSTOM[name] = feature
        register_feature_extractor(name, _CustomFeatures)
    return FidelityExtractor(name, None, cuda)


def folder_files(folder: Path) -> list[str]:
    """The files torch-fidelity reads from ``folder`` (its own, sorted, by extension)."""
    from torch_fidelity.utils import glob_samples_paths

    files = glob_samples_paths(str(folder), False, FIND_EXTENSIONS, verbose=False)
    if not files:
        raise ValueError(f"no images in {folder} that torch-fidelity reads ({FIND_EXTENSIONS}); put images there")
    return files


def fidelity_folder_scores(
    extractor: FidelityExtractor, real: Path, fake: Path, batch_size: int, kid_subset: int | None
) -> dict[str, float]:
    """FID and KID from one ``torch_fidelity.calculate_metrics`` call (input1 the translations, input2 the reals)."""
    from torch_fidelity import calculate_metrics

    real_files, fake_files = folder_files(real), folder_files(fake)
    subset = kid_subset_size(len(real_files), len(fake_files), kid_subset)
    # its loader stacks a batch: a folder of mixed sizes goes one image at a time
    batch = batch_size if same_size(real_files) and same_size(fake_files) else 1
    metrics = calculate_metrics(input1=str(fake), input2=str(real), fid=True, kid=True, kid_subset_size=subset,
                                batch_size=batch, **extractor.options())  # fmt: skip
    return {"fid": float(metrics["frechet_inception_distance"]),
            "kid_mean": float(metrics["kernel_inception_distance_mean"]),
            "kid_std": float(metrics["kernel_inception_distance_std"]), "n_real": len(real_files),
            "n_fake": len(fake_files), "kid_subset_size": subset}  # fmt: skip
