"""FID and KID of translated validation images (Heusel et al. 2017; Binkowski et al. 2018), under a named protocol
of translate.evaluation: the same extractor, resize and arithmetic as ``translate eval``."""

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor, nn

from translate.data.images import to_uint8
from translate.evaluation.protocols import PROTOCOLS, WeightsMissingError
from translate.evaluation.scoring import feature_scores, warn_if_biased
from translate.models.contract import DIRECTION_DOMAINS, two_domain_model
from translate.training.callbacks import checkpoint_dir

log = logging.getLogger(__name__)

DEFAULT_PROTOCOL = "torch-fidelity"  # the weights file FIDMonitor has always used (docs/training.md)
INCEPTION_FILE = PROTOCOLS[DEFAULT_PROTOCOL].weights.file
INCEPTION_URL = PROTOCOLS[DEFAULT_PROTOCOL].weights.url


def find_inception_weights(path: str | Path | None = None) -> Path | None:
    """The default protocol's Inception weights: ``path`` if given, else the torch hub cache; None when absent."""
    try:
        return PROTOCOLS[DEFAULT_PROTOCOL].weights.find(path)
    except WeightsMissingError:
        return None


class FIDMonitor(Callback):
    """Every ``every_n_epochs`` validation epochs, FID and KID between each domain's real validation images and the
    other domain's validation images translated into it, under ``protocol`` (docs/evaluation.md); logs
    ``val/fid_a2b``, ``val/kid_a2b``, ``..._b2a``, ``val/fid`` (their mean) and ``val/fid_best`` (the lowest so far:
    papers report the best epoch, while ``val/fid`` is the last: what a deployed ``last.ckpt`` scores). With
    ``save_best``, the checkpoint with the lowest ``val/fid`` is kept as ``best_fid.ckpt`` beside the run's others.

    The Inception weights are never downloaded: they are looked up at ``inception_weights`` or in the protocol's
    library cache; when missing, a warning says which file to put where and training goes on without the metric.
    ``feature`` swaps in any module mapping images with values in [0, 255] (N, 3, H, W) to (N, D) features, with
    ``num_features`` (tests use a tiny one). FID is biased upwards for small sets (warned); KID is unbiased.
    Validation images are scored as they come from the data module (the training scale), so these numbers follow
    training; ``translate eval`` scores the test split as the papers' tables do.
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        *,
        protocol: Literal["cut", "clean", "torch-fidelity"] = DEFAULT_PROTOCOL,
        inception_weights: str | None = None,
        save_best: bool = True,
        feature: nn.Module | None = None,
        kid_subset_size: int | None = None,
    ):
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        self.every_n_epochs, self.inception_weights, self.feature = every_n_epochs, inception_weights, feature
        self.protocol, self.kid_subset_size = PROTOCOLS[protocol], kid_subset_size
        self.save_best, self.best_fid, self.last_fid = save_best, float("inf"), float("nan")
        self.extractor: Any = None
        self._real: dict[str, list[np.ndarray]] = {d: [] for d in DIRECTION_DOMAINS}
        self._fake: dict[str, list[np.ndarray]] = {d: [] for d in DIRECTION_DOMAINS}
        self._disabled = self._real_seen = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.extractor is not None or self._disabled:
            return
        weights = None
        if self.feature is None:
            try:
                weights = self.protocol.weights.find(self.inception_weights)
            except WeightsMissingError as error:
                log.warning(f"FID/KID off: {error}")
                self._disabled = True
                return
        self.extractor = self.protocol.load(weights, self.feature, pl_module.device)
        log.info(f"FID/KID under the {self.protocol.name} protocol ({self.protocol.library}; docs/evaluation.md)")
        if trainer.logger is not None:
            trainer.logger.log_hyperparams({"fid_protocol": self.protocol.name})

    def _active(self, trainer: Trainer) -> bool:
        return self.extractor is not None and not trainer.sanity_checking and self._epoch_due(trainer)

    def _epoch_due(self, trainer: Trainer) -> bool:
        return (trainer.current_epoch + 1) % self.every_n_epochs == 0 or trainer.current_epoch + 1 == trainer.max_epochs

    @torch.no_grad()
    def on_validation_batch_end(self, trainer, pl_module, outputs, batch: tuple[Tensor, ...], batch_idx, dl_idx=0):
        if not self._active(trainer):
            return
        model = two_domain_model(pl_module)
        if model is None:
            return  # FID here compares a direction's translations with its target domain's images
        for direction in model.targets:  # one direction only for a one-way TraVeLGAN
            source, target = DIRECTION_DOMAINS[direction]
            fake = _rgb(to_uint8(model.translator(direction)(batch[source])))
            self._fake[direction].append(self.protocol.image_features(fake, self.extractor))
            if not self._real_seen:  # the validation images are the same every epoch: featurised once
                real = _rgb(to_uint8(batch[target]))
                self._real[direction].append(self.protocol.image_features(real, self.extractor))

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._active(trainer):
            return
        self._real_seen = True
        scores = {}
        for direction in DIRECTION_DOMAINS:
            if not self._fake[direction]:  # a direction the model doesn't translate
                continue
            real, fake = (_gathered(pl_module, parts) for parts in (self._real[direction], self._fake[direction]))
            self._fake[direction] = []  # fakes only: the real features stay
            if min(len(real), len(fake)) < 2:  # a covariance and a KID subset need two images
                log.warning(f"FID/KID ({direction}) skipped: {len(real)} real and {len(fake)} translated images")
                continue
            if trainer.is_global_zero:
                warn_if_biased(min(len(real), len(fake)), f" ({direction})")
            numbers = feature_scores(self.protocol.frechet, real, fake, self.kid_subset_size)
            scores[f"val/fid_{direction}"] = numbers["fid"]
            scores[f"val/kid_{direction}"] = numbers["kid_mean"]
        fids = [value for key, value in scores.items() if key.startswith("val/fid_")]
        if not fids:
            return
        self.last_fid = scores["val/fid"] = sum(fids) / len(fids)
        improved = self.last_fid < self.best_fid
        self.best_fid = min(self.best_fid, self.last_fid)
        scores["val/fid_best"] = self.best_fid
        pl_module.log_dict({k: float(v) for k, v in scores.items()}, sync_dist=False)  # same on every rank: gathered
        if self.save_best and trainer.state.fn == "fit" and improved:
            trainer.save_checkpoint(checkpoint_dir(trainer) / "best_fid.ckpt")

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid, "last_fid": self.last_fid, "protocol": self.protocol.name}

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict.get("protocol", self.protocol.name) != self.protocol.name:
            log.warning(f"FIDMonitor: the checkpoint's best FID was measured under {state_dict['protocol']}, this run "
                        f"measures under {self.protocol.name}: the best is restarted")  # fmt: skip
            return
        self.best_fid = state_dict.get("best_fid", float("inf"))
        self.last_fid = state_dict.get("last_fid", float("nan"))


def _gathered(pl_module: LightningModule, parts: list[np.ndarray]) -> np.ndarray:
    """This rank's features, with every other rank's under DDP (the validation sampler gives each rank as many)."""
    local = np.concatenate(parts)
    if pl_module.trainer.world_size == 1:
        return local
    everyone = pl_module.all_gather(torch.from_numpy(local).to(pl_module.device))  # (world, N, D)
    return everyone.flatten(0, 1).double().cpu().numpy()


def _rgb(images: Tensor) -> Tensor:
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images  # Inception wants 3 channels
