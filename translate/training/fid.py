"""FID and KID of translated validation images (Heusel et al. 2017; Binkowski et al. 2018), via torchmetrics."""

import logging
from pathlib import Path

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from translate.data.images import to_uint8
from translate.models.contract import DIRECTION_DOMAINS, TranslationModel
from translate.training.callbacks import checkpoint_dir

log = logging.getLogger(__name__)

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's FID Inception, as TF's original
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"


def find_inception_weights(path: str | Path | None = None) -> Path | None:
    """The FID Inception weights: ``path`` if given, else the torch hub cache, where torch-fidelity would put them."""
    candidate = Path(path) if path is not None else Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    return candidate if candidate.is_file() else None


class FIDMonitor(Callback):
    """Every ``every_n_epochs`` validation epochs, FID and KID between each domain's real validation images and the
    other domain's validation images translated into it; logs ``val/fid_a2b``, ``val/kid_a2b``, ``..._b2a`` and
    ``val/fid`` (their mean). With ``save_best``, the checkpoint with the lowest ``val/fid`` so far is kept as
    ``best_fid.ckpt`` beside the run's other checkpoints.

    The Inception weights are never downloaded: they are looked up at ``inception_weights`` or in the torch hub cache;
    when missing, a warning says which file to put where and training goes on without the metric. ``feature`` swaps
    in any module mapping uint8 images (N, 3, H, W) to (N, D) features (tests use a tiny one). FID is biased upwards
    for small sets (warned below 1000 images); KID is unbiased.
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        *,
        inception_weights: str | None = None,
        save_best: bool = True,
        feature: nn.Module | None = None,
    ):
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs, self.inception_weights, self.feature = every_n_epochs, inception_weights, feature
        self.save_best, self.best_fid = save_best, float("inf")
        self.metrics: dict[str, tuple[FrechetInceptionDistance, KernelInceptionDistance]] | None = None
        self._disabled = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.metrics is not None or self._disabled:
            return
        feature = self.feature
        if feature is None:
            weights = find_inception_weights(self.inception_weights)
            if weights is None:
                where = self.inception_weights or Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
                log.warning(f"FID/KID off: no Inception weights at {where}; download {INCEPTION_URL} to that path")
                self._disabled = True
                return
            feature = str(weights)
        self.metrics = {}
        for direction in DIRECTION_DOMAINS:
            kwargs = {"feature": 2048, "feature_extractor_weights_path": feature} if isinstance(feature, str) else {}
            fid = FrechetInceptionDistance(**(kwargs or {"feature": feature}), reset_real_features=False)
            # subset_size is set per compute from the number of images; KID needs it <= that number
            kid = KernelInceptionDistance(**(kwargs or {"feature": feature}), reset_real_features=False, subset_size=2)
            self.metrics[direction] = (fid.to(pl_module.device), kid.to(pl_module.device))
        self._real_seen = False

    def _active(self, trainer: Trainer) -> bool:
        return self.metrics is not None and not trainer.sanity_checking and self._epoch_due(trainer)

    def _epoch_due(self, trainer: Trainer) -> bool:
        return (trainer.current_epoch + 1) % self.every_n_epochs == 0 or trainer.current_epoch + 1 == trainer.max_epochs

    @torch.no_grad()
    def on_validation_batch_end(self, trainer, pl_module, outputs, batch: tuple[Tensor, ...], batch_idx, dl_idx=0):
        if not self._active(trainer):
            return
        if not isinstance(pl_module, TranslationModel) or pl_module.target_kind != "direction":
            return  # FID here compares a direction's translations with its target domain's images
        for direction in pl_module.targets:  # one direction only for a one-way TraVeLGAN
            source, target = DIRECTION_DOMAINS[direction]
            fid, kid = self.metrics[direction]
            fake = _rgb(to_uint8(pl_module.translator(direction)(batch[source])))
            if not self._real_seen:  # real features are kept across epochs (reset_real_features=False)
                real = _rgb(to_uint8(batch[target]))
                fid.update(real, real=True)
                kid.update(real, real=True)
            fid.update(fake, real=False)
            kid.update(fake, real=False)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._active(trainer):
            return
        self._real_seen = True
        scores = {}
        for direction, (fid, kid) in self.metrics.items():
            count = int(fid.fake_features_num_samples)
            if count == 0:  # a direction the model doesn't translate
                continue
            if count < 1000 and trainer.is_global_zero:
                log.warning(f"FID from {count} images is biased upwards; compare runs by KID, or use >= 1000 images")
            kid.subset_size = max(2, min(1000, count))
            scores[f"val/fid_{direction}"] = fid.compute()
            scores[f"val/kid_{direction}"] = kid.compute()[0]
            fid.reset()  # fakes only: the real statistics stay
            kid.reset()
        fids = [value for key, value in scores.items() if key.startswith("val/fid_")]
        scores["val/fid"] = sum(fids) / len(fids)
        pl_module.log_dict(scores, sync_dist=False)  # torchmetrics already gathered the features from every rank
        fid = float(scores["val/fid"])
        if self.save_best and trainer.state.fn == "fit" and fid < self.best_fid:
            self.best_fid = fid
            trainer.save_checkpoint(checkpoint_dir(trainer) / "best_fid.ckpt")

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_fid = state_dict.get("best_fid", float("inf"))


def _rgb(images: Tensor) -> Tensor:
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images  # Inception wants 3 channels
