"""The named FID/KID protocols. Each is one library's way of turning images into Inception features (which weights
file, which resize to 299 x 299, how files are read) and its own Frechet arithmetic; KID is torch-fidelity's
estimator on the same features for all three. Numbers compare only within a protocol.

- ``cut``: pytorch-fid (mseitzer/pytorch-fid), as CUT (Park et al. 2020) and the CycleGAN-family tables after it
  used it: ``pt_inception-2015-12-05-6726825d.pth``, bilinear resize to 299 inside the network.
- ``clean``: clean-fid's ``clean`` mode (Parmar et al. 2022): the StyleGAN2-ADA TorchScript Inception
  ``inception-2015-12-05.pt``, PIL bicubic resize to 299 on float pixels before it.
- ``torch-fidelity``: torch-fidelity's ``inception-v3-compat`` (the UVCGAN tables): TensorFlow-1-compatible
  bilinear resize inside the network, ``weights-inception-2015-12-05-6726825d.pth``.

Weights are never downloaded here: each is looked up where its library caches it, or at a path given; when missing,
``WeightsMissingError`` says which file to fetch from where and where to put it.
"""

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from translate.evaluation.fidelity import FidelityExtractor, fidelity_extractor, fidelity_folder_scores
from translate.evaluation.scoring import feature_scores, same_size


class WeightsMissingError(FileNotFoundError):
    """The Inception weights a protocol needs are not on this machine; the message says what to do."""


@dataclass(frozen=True)
class InceptionWeights:
    """A protocol's Inception weights: the file its library loads, where it is published, where the library caches
    it."""

    file: str
    url: str
    cache: str  # "hub": torch.hub's checkpoints folder; else a folder

    def default_path(self) -> Path:
        folder = Path(torch.hub.get_dir()) / "checkpoints" if self.cache == "hub" else Path(self.cache)
        return folder / self.file

    def find(self, path: str | Path | None = None) -> Path:
        """``path`` if given, else the library's cache; raises ``WeightsMissingError`` naming the file, the URL and
        the place to put it when it is not there."""
        candidate = Path(path) if path is not None else self.default_path()
        if candidate.is_file():
            return candidate
        raise WeightsMissingError(
            f"no Inception weights at {candidate}: download {self.url} to {self.default_path()} (or anywhere, and pass "
            "--inception-weights PATH); nothing is downloaded automatically"
        )


class Protocol(ABC):
    """A named way to compute FID: a library's feature extractor, resize and file reading, and its Frechet distance.

    ``feature`` arguments replace the Inception network with any module mapping (N, 3, H, W) images with values in
    [0, 255] to (N, D) features and exposing ``num_features`` (tests use a tiny one); each protocol wraps it the way its
    library calls an extractor, so the library's own reading and resizing still run.
    """

    name: ClassVar[str]
    library: ClassVar[str]
    extractor: ClassVar[str]
    resize: ClassVar[str]
    image_format: ClassVar[str] = "fakes written as PNG (lossless); reals read as they are stored"
    compare_with: ClassVar[str]
    weights: ClassVar[InceptionWeights]

    def settings(self, weights: Path | None, feature: nn.Module | None) -> dict[str, str]:
        """What a report states about how its numbers were measured."""
        extractor = self.extractor if feature is None else f"custom: {type(feature).__name__} (not Inception)"
        return {"protocol": self.name, "library": self.library, "feature_extractor": extractor,
                "weights_file": str(weights) if weights is not None else "-", "resize": self.resize,
                "image_format": self.image_format, "compare_with": self.compare_with}  # fmt: skip

    @abstractmethod
    def build(self, weights: Path | None, feature: nn.Module | None, device: torch.device) -> Any:
        """The library's extractor: the Inception from ``weights``, or ``feature`` wrapped as the library calls it."""

    def load(self, weights: Path | None, feature: nn.Module | None, device: torch.device) -> Any:
        """``build``, where a weights file the library cannot load (random bytes, another network, a truncated
        download) is one line naming it (``ValueError``), not the library's traceback."""
        try:
            return self.build(weights, feature, device)
        except WeightsMissingError:
            raise
        except Exception as error:
            if feature is not None:
                raise  # a custom extractor's own failure keeps its traceback
            said = (str(error).strip().splitlines() or [""])[0].split(". ")[0].rstrip(".")[:200]
            raise ValueError(
                f"--inception-weights {weights} is not the Inception the {self.name} protocol loads "
                f"({self.weights.file}; {type(error).__name__}: {said}); download {self.weights.url}"
            ) from None

    @abstractmethod
    def folder_features(self, folder: Path, extractor: Any, device: torch.device, batch_size: int) -> np.ndarray:
        """(N, D) features of the images in ``folder``, read and resized by the library."""

    @abstractmethod
    def image_features(self, images: Tensor, extractor: Any) -> np.ndarray:
        """(N, D) features of uint8 (N, 3, H, W) images already in memory (training), resized as the library does."""

    @abstractmethod
    def frechet(self, real: np.ndarray, fake: np.ndarray) -> float:
        """FID between two (N, D) feature sets, with the library's arithmetic."""

    def folder_scores(self, real: Path, fake: Path, extractor: Any, device: torch.device, batch_size: int,
                      kid_subset: int | None) -> dict[str, float]:  # fmt: skip
        """FID and KID (mean, std) between two folders, plus the image counts."""
        real_features = self.folder_features(real, extractor, device, batch_size)
        fake_features = self.folder_features(fake, extractor, device, batch_size)
        return feature_scores(self.frechet, real_features, fake_features, kid_subset)


class CutProtocol(Protocol):
    name = "cut"
    library = "pytorch-fid"
    extractor = "pytorch-fid InceptionV3 pool3 (2048-d), the TF FID Inception ported to PyTorch"
    resize = "bilinear to 299x299 inside the network (torch interpolate, align_corners=False)"
    compare_with = "CUT, FastCUT, UNSB and the CycleGAN rows of their tables (horse2zebra, cat2dog, ...)"
    weights = InceptionWeights(
        "pt_inception-2015-12-05-6726825d.pth",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
        "hub",
    )

    def build(self, weights: Path | None, feature: nn.Module | None, device: torch.device) -> nn.Module:
        if feature is not None:
            return _PytorchFidFeatures(feature).to(device).eval()
        from pytorch_fid.inception import InceptionV3

        with _hub_holding(weights, self.weights.file):  # pytorch-fid loads from torch.hub's cache, never elsewhere
            return InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).to(device).eval()

    def folder_features(self, folder: Path, extractor: nn.Module, device: torch.device, batch_size: int) -> np.ndarray:
        from pytorch_fid.fid_score import IMAGE_EXTENSIONS, get_activations

        # the files pytorch-fid's compute_statistics_of_path reads: the folder's own, sorted, by lower-case extension
        files = sorted(file for ext in IMAGE_EXTENSIONS for file in folder.glob(f"*.{ext}"))
        _require(files, folder, self)
        batch = batch_size if same_size(files) else 1  # the loader stacks a batch: mixed sizes go one at a time
        dims = getattr(extractor, "num_features", 2048)
        return get_activations(files, extractor, min(batch, len(files)), dims, device, num_workers=0)

    def image_features(self, images: Tensor, extractor: nn.Module) -> np.ndarray:
        from torch.nn.functional import adaptive_avg_pool2d

        with torch.no_grad():
            pred = extractor(images.float() / 255)[0]  # as torchvision's ToTensor scales the decoded file
        pred = adaptive_avg_pool2d(pred, (1, 1)) if pred.shape[2:] != (1, 1) else pred
        return pred.flatten(1).double().cpu().numpy()

    def frechet(self, real: np.ndarray, fake: np.ndarray) -> float:
        from pytorch_fid.fid_score import calculate_frechet_distance

        return float(calculate_frechet_distance(*_statistics(real), *_statistics(fake)))  # as pytorch_fid REAL FAKE


class CleanProtocol(Protocol):
    name = "clean"
    library = "clean-fid (mode clean)"
    extractor = "clean-fid's TorchScript Inception (StyleGAN2-ADA's inception-2015-12-05.pt), 2048-d"
    resize = "PIL bicubic to 299x299 on float32 pixels, no quantisation, before the network"
    compare_with = "clean-fid's leaderboard and papers that report clean-fid (mode clean)"
    weights = InceptionWeights(
        "inception-2015-12-05.pt",
        "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
        tempfile.gettempdir(),  # clean-fid downloads it to /tmp on Linux and macOS
    )

    def build(self, weights: Path | None, feature: nn.Module | None, device: torch.device) -> Any:
        if feature is not None:
            feature = feature.to(device).eval()
            return lambda images: feature(images)  # clean-fid calls its extractor on [0, 255] floats, 299 x 299
        from cleanfid.inception_torchscript import InceptionV3W

        if weights.name != self.weights.file:  # clean-fid loads FOLDER/inception-2015-12-05.pt by that name only
            raise WeightsMissingError(f"clean-fid loads its Inception as {self.weights.file}; rename {weights} so")
        model = InceptionV3W(str(weights.parent), download=False, resize_inside=False).to(device).eval()
        return lambda images: model(images)

    def folder_features(self, folder: Path, extractor: Any, device: torch.device, batch_size: int) -> np.ndarray:
        from cleanfid.fid import get_folder_features

        features = get_folder_features(str(folder), extractor, num_workers=0, batch_size=batch_size, device=device,
                                       mode="clean", verbose=False)  # fmt: skip
        _require(features, folder, self)
        return features

    def image_features(self, images: Tensor, extractor: Any) -> np.ndarray:
        from cleanfid.resize import build_resizer

        resize = build_resizer("clean")  # the per-image resize clean-fid's ResizeDataset applies to a decoded file
        pixels = images.permute(0, 2, 3, 1).cpu().numpy()
        batch = torch.stack([torch.from_numpy(resize(pixel)).permute(2, 0, 1) for pixel in pixels])
        with torch.no_grad():
            return extractor(batch.to(images.device)).double().cpu().numpy()

    def frechet(self, real: np.ndarray, fake: np.ndarray) -> float:
        from cleanfid.fid import fid_from_feats

        return float(fid_from_feats(real, fake))


class TorchFidelityProtocol(Protocol):
    name = "torch-fidelity"
    library = "torch-fidelity"
    extractor = "torch-fidelity inception-v3-compat, 2048-d"
    resize = "bilinear to 299x299 inside the network, as TensorFlow 1.x resizes (torch-fidelity)"
    compare_with = "UVCGAN and other tables computed with torch-fidelity (KID subset size stated with them)"
    weights = InceptionWeights(
        "weights-inception-2015-12-05-6726825d.pth",
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
        "hub",
    )

    def build(self, weights: Path | None, feature: nn.Module | None, device: torch.device) -> FidelityExtractor:
        extractor = fidelity_extractor(weights, feature, device)
        if feature is None:
            extractor.module()  # loads the weights now, not at the first folder: a bad file fails before any work
        return extractor

    def folder_features(self, folder: Path, extractor: FidelityExtractor, device: torch.device,
                        batch_size: int) -> np.ndarray:  # fmt: skip
        return extractor.folder_features(folder, batch_size)

    def image_features(self, images: Tensor, extractor: FidelityExtractor) -> np.ndarray:
        return extractor.image_features(images)

    def frechet(self, real: np.ndarray, fake: np.ndarray) -> float:
        from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

        stats = [fid_features_to_statistics(torch.from_numpy(f)) for f in (fake, real)]
        return float(fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"])

    def folder_scores(self, real: Path, fake: Path, extractor: FidelityExtractor, device: torch.device,
                      batch_size: int, kid_subset: int | None) -> dict[str, float]:  # fmt: skip
        return fidelity_folder_scores(extractor, real, fake, batch_size, kid_subset)


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (CutProtocol(), CleanProtocol(), TorchFidelityProtocol())}


class _PytorchFidFeatures(nn.Module):
    """A custom feature module as pytorch-fid calls its InceptionV3: [0, 1] images in, a list of (N, D, 1, 1) out."""

    def __init__(self, feature: nn.Module):
        super().__init__()
        self.feature, self.num_features = feature, feature.num_features

    def forward(self, images: Tensor) -> list[Tensor]:
        return [self.feature(images * 255)[:, :, None, None]]


def _statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.mean(features, axis=0), np.cov(features, rowvar=False)  # pytorch-fid's activation statistics


def _require(found: Any, folder: Path, protocol: Protocol) -> None:
    if len(found) == 0:
        raise ValueError(f"no images in {folder} that {protocol.library} reads; put PNG or JPEG files there")


@contextmanager
def _hub_holding(weights: Path, file: str) -> Iterator[None]:
    """torch.hub pointed, for the duration, at a folder whose checkpoints/``file`` is ``weights``: pytorch-fid loads
    its weights from the hub cache by URL name, and this makes it load a file kept anywhere, without a download."""
    cached = Path(torch.hub.get_dir()) / "checkpoints" / file
    if cached.is_file() and cached.resolve() == weights.resolve():
        yield
        return
    previous = torch.hub.get_dir()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "checkpoints").mkdir()
        (Path(folder) / "checkpoints" / file).symlink_to(weights.resolve())
        torch.hub.set_dir(folder)
        try:
            yield
        finally:
            torch.hub.set_dir(previous)
