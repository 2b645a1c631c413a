"""The model contract: what inference, export, serving and the metrics may rely on, and nothing else.

A translation model translates images to named targets. ``target_kind`` says what the names are:

- ``"direction"``: a two-domain model (CycleGAN, TraVeLGAN) translates ``"a2b"`` and/or ``"b2a"``; predict writes to
  the output folder itself and takes ``--direction``; FID compares each direction's output with its target domain.
- ``"domain"``: a multi-domain model (StarGAN) translates to each of its domains; predict takes ``--target-domain``
  and writes one sub-folder per target.

Models whose generator is conditioned on a label vector (StarGAN) implement ``LabelConditioned`` as well, so
predict can start from each input's own labels and change some (``--attrs``). A new model subclasses the contract
(after ``LightningModule``) and gets ``translate predict``, ``export``, ``translate.load`` and FID without any change
there: they never ask a model for its class or probe its attributes.
"""

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

TargetKind = Literal["direction", "domain"]
Scale = Literal["native", "training"]
# Where each direction's source and target domain sit in a two-domain batch (real_a, real_b).
DIRECTION_DOMAINS = {"a2b": (0, 1), "b2a": (1, 0)}


class TranslationModel(ABC):
    """Translates (B, channels, H, W) images in [-1, 1], H and W multiples of ``size_multiple``, to ``targets``."""

    target_kind: ClassVar[TargetKind]
    device: torch.device  # where translator() runs (LightningModule provides it)
    # The scale predict translates at by default: "native" (the input's own pixels: networks that see a local window,
    # CycleGAN, StarGAN) or "training" (resized so objects are as large as in training, then back: networks that see
    # the whole image through a bottleneck, TraVeLGAN).
    translates_at: ClassVar[Scale] = "native"
    # The side training images were resized to (data.load_size) when known; inference/loading.py reads it from the
    # checkpoint. None: unknown (a custom training pipeline, official weights, a model built in Python).
    training_size: int | None = None
    # What the model was loaded from: "checkpoint" (or built in Python) or "onnx" (a file of `translate export`, which
    # holds one translation: refusals say how to export another). GET /info reports it.
    source: Literal["checkpoint", "onnx"] = "checkpoint"

    @property
    def name(self) -> str:
        """How messages name the model: its class (``CycleGAN``), or the file it was read from."""
        return type(self).__name__

    @property
    def uses_ema(self) -> bool | None:
        """Whether ``translator`` runs a moving average of the generator's weights (``ema_decay``); None: unknown
        (a model that does not say; an ONNX file without ``translate.ema`` metadata)."""
        return None

    @property
    def label_mode(self) -> Literal["single", "multi"] | None:
        """How the generator reads a label vector (``LabelConditioned``): ``single`` (one-hot) or ``multi``
        (attributes); None for a model with a fixed translator per target, whatever its targets are."""
        return None

    @property
    @abstractmethod
    def channels(self) -> int:
        """Image channels in and out (1 grayscale, 3 RGB)."""

    @property
    @abstractmethod
    def size_multiple(self) -> int:
        """Height and width the translators accept are multiples of this (predict pads to it and crops back)."""

    @property
    def min_side(self) -> int:
        """The smallest height and width predict translates (smaller images are reported, not written)."""
        return self.size_multiple + 1

    @property
    @abstractmethod
    def targets(self) -> tuple[str, ...]:
        """What ``translator`` takes: the directions (``"a2b"``, ``"b2a"``) or domain names this model translates to."""

    @abstractmethod
    def translator(self, target: str) -> nn.Module:
        """A plain image -> image module translating to ``target``: the generator (its moving average when the
        model keeps one), with anything fixed it needs (a target label) folded in; it traces for export. A target
        not in ``targets`` raises ValueError."""

    def own_metrics(self, batch: tuple[Tensor, ...], batch_idx: int = 0) -> dict[str, Tensor]:
        """Metrics of its own over a test batch, for ``translate eval`` (``ReportsOwnMetrics``); none by default."""
        return {}


def translation_model(model: object, where: str) -> TranslationModel:
    """``model`` when it is a translation model, else a ValueError saying that ``where`` (a checkpoint) holds none."""
    if not isinstance(model, TranslationModel):
        raise ValueError(f"{where} holds a {type(model).__name__}, which is not a translation model "
                         "(translate.models.contract.TranslationModel); predict, export and load need one")  # fmt: skip
    return model


def two_domain_model(model: object) -> TranslationModel | None:
    """``model`` when it translates between two domains (``target_kind`` ``"direction"``: each direction's output
    compares with one target domain, as FID during validation needs), else None."""
    return model if isinstance(model, TranslationModel) and model.target_kind == "direction" else None


class ShowsSamples(ABC):
    """A model that shows its progress as sample grids (``translate.training.callbacks.SampleGrid``)."""

    @abstractmethod
    def sample_columns(self, batch: tuple[Tensor, ...]) -> dict[str, Tensor]:
        """The columns of a grid for a fixed batch from the data module: name -> (N, C, H, W) in [-1, 1]."""


def sample_source(model: object) -> ShowsSamples | None:
    """``model`` when it gives the columns of sample grids (``ShowsSamples``), else None (grids are skipped)."""
    return model if isinstance(model, ShowsSamples) else None


class LabelConditioned(TranslationModel):
    """A multi-domain model whose generator reads a label vector: one-hot (``single``) or one 0/1 per attribute
    (``multi``, of which ``groups`` hold exactly one on). Predict translates an input by changing its own labels."""

    target_kind: ClassVar[TargetKind] = "domain"
    domains: list[str]  # label names, in label order
    groups: list[list[int]]  # with label_mode "multi": indices of attributes of which exactly one is on

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.domains)

    @property
    @abstractmethod
    def label_mode(self) -> Literal["single", "multi"]:
        """``single``: one domain per image (one-hot labels); ``multi``: independent attributes."""

    @abstractmethod
    def changed(self, labels: Tensor, name: str, value: float | None = None) -> Tensor:
        """``labels`` (B, len(domains)) with ``name`` switched on (or set to ``value``), groups kept one-hot."""

    @abstractmethod
    def estimate_labels(self, images: Tensor) -> Tensor:
        """The labels (B, len(domains)) the model sees in ``images`` of any size."""

    @abstractmethod
    def translate_to(self, images: Tensor, labels: Tensor) -> Tensor:
        """``images`` translated to ``labels`` (B, len(domains)), with the generator ``translator`` would use."""


class ReportsOwnMetrics(ABC):
    """A model with metrics of its own beside FID and KID (StarGAN's domain accuracy, pix2pix's L1 and PSNR against
    the target, CycleGAN's cycle error): ``translate eval`` reports them over the test batches of the data module."""

    @abstractmethod
    def own_metrics(self, batch: tuple[Tensor, ...], batch_idx: int = 0) -> dict[str, Tensor]:
        """Scalar metrics of one batch as the data module gives it (averaged over batches by their size);
        ``batch_idx`` seeds anything random (StarGAN's target domains)."""

    def log_own_metrics(self, batch: tuple[Tensor, ...], batch_idx: int, stage: str) -> None:
        """Log ``own_metrics`` as ``{stage}/{name}`` (val, test), averaged over the epoch by batch size on all ranks:
        what each model's validation_step and test_step do."""
        metrics = self.own_metrics(batch, batch_idx)
        self.log_dict({f"{stage}/{name}": value for name, value in metrics.items()}, sync_dist=True,
                      batch_size=len(batch[0]))  # fmt: skip


class GeneratesFromNoise(ABC):
    """A model that makes images from noise (DCGAN, conditional GAN, InfoGAN, Siamese GAN, VAE-GAN): what ``translate
    sample`` and the sample grids rely on. Images are (N, channels, image_size, image_size) in [-1, 1]; the same
    ``seed`` (and class) gives the same images."""

    @property
    @abstractmethod
    def channels(self) -> int:
        """Image channels (1 grayscale, 3 RGB)."""

    @property
    @abstractmethod
    def image_size(self) -> int:
        """Side of the square images the generator makes."""

    @property
    @abstractmethod
    def latent_dim(self) -> int:
        """Length of the noise vector z."""

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names a conditional model generates (``class_name``); empty for an unconditional one."""
        return ()

    @abstractmethod
    def generate(self, n: int, *, seed: int | None = None, class_name: str | None = None) -> Tensor:
        """``n`` images from fresh noise drawn on the CPU from ``seed`` (None: torch's global generator); of
        ``class_name`` for a conditional model (None: classes in turn)."""

    @abstractmethod
    def grid_columns(self, rows: int, *, seed: int = 0) -> dict[str, Tensor]:
        """The columns of a sample grid, name -> (rows, C, H, W): fresh samples, one column per class, or a code
        swept across the columns (InfoGAN); fixed for a seed, so grids of one run compare across epochs."""

    def sweeps(self, rows: int, *, seed: int = 0) -> dict[str, dict[str, Tensor]]:
        """More grids for ``translate sample --grid``, name -> columns: InfoGAN varies each latent code across the
        columns while the rest of each row's input stays fixed. None by default."""
        return {}


class ReconstructsImages(ABC):
    """A noise model with an encoder (VAE-GAN): ``translate sample --input DIR`` shows its reconstructions."""

    @abstractmethod
    def reconstruct(self, images: Tensor) -> Tensor:
        """(N, C, image_size, image_size) images in [-1, 1] -> their reconstructions (the mean code, decoded)."""


def noise_model(model: object, where: str) -> GeneratesFromNoise:
    """``model`` when it makes images from noise, else a ValueError saying that ``where`` (a checkpoint) holds a model
    that translates images instead."""
    if not isinstance(model, GeneratesFromNoise):
        raise ValueError(f"{where} holds a {type(model).__name__}, which translates images rather than making them "
                         "from noise: use `translate predict`")  # fmt: skip
    return model


def reconstructing_model(model: object) -> ReconstructsImages:
    """``model`` when it has an encoder that reconstructs images (VAE-GAN), else a ValueError saying it has none."""
    if not isinstance(model, ReconstructsImages):
        raise ValueError(f"a {type(model).__name__} has no encoder (models.contract.ReconstructsImages): "
                         "reconstructions need a VAE-GAN")  # fmt: skip
    return model
