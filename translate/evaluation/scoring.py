"""FID and KID from two feature sets: the protocol's Frechet distance and torch-fidelity's KID estimator, with the
KID subset size chosen (and checked) for the number of images."""

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

KID_SUBSETS = 100  # torch-fidelity's and clean-fid's default number of random subsets
KID_MAX_SUBSET = 1000  # their default subset size, used whenever both sets are at least this large
# Below the Inception feature dimension the covariance FID fits is rank-deficient, and FID's upward bias (about
# proportional to 1/N, Chong & Forsyth 2020) is large: such numbers compare only with ones from the same set sizes.
FID_MIN_IMAGES = 2048


def kid_subset_size(n_real: int, n_fake: int, requested: int | None = None) -> int:
    """The KID subset size: ``requested`` when given, else torch-fidelity's 1000, lowered to the smaller set's size
    (as clean-fid does) so that small test splits (120 horses) still get a KID."""
    smaller = min(n_real, n_fake)
    if smaller < 2:
        raise ValueError(f"KID needs at least 2 images in each set, got {n_real} real and {n_fake} translated")
    if requested is None:
        return min(KID_MAX_SUBSET, smaller)
    if not 2 <= requested <= smaller:
        raise ValueError(f"--kid-subset-size must be between 2 and {smaller} (the smaller set), got {requested}")
    return requested


def kid(real: np.ndarray, fake: np.ndarray, subset_size: int) -> tuple[float, float]:
    """KID mean and standard deviation over ``KID_SUBSETS`` random subsets (torch-fidelity's estimator and seed:
    unbiased MMD^2 with the cubic polynomial kernel)."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    out = kid_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), kid_subset_size=subset_size,
                                 kid_subsets=KID_SUBSETS, verbose=False)  # fmt: skip
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def feature_scores(
    frechet: Callable[[np.ndarray, np.ndarray], float], real: np.ndarray, fake: np.ndarray, kid_subset: int | None
) -> dict[str, float]:
    """FID (``frechet(real, fake)``), KID mean and std, the image counts and the KID subset size used."""
    subset = kid_subset_size(len(real), len(fake), kid_subset)
    kid_mean, kid_std = kid(real, fake, subset)
    return {"fid": frechet(real, fake), "kid_mean": kid_mean, "kid_std": kid_std, "n_real": len(real),
            "n_fake": len(fake), "kid_subset_size": subset}  # fmt: skip


def warn_if_biased(count: int, where: str = "") -> bool:
    """Warn (once per call) when FID from ``count`` images is strongly biased; returns whether it is."""
    if count >= FID_MIN_IMAGES:
        return False
    log.warning(f"FID{where} from {count} images is biased upwards (fewer than {FID_MIN_IMAGES}, the Inception feature "
                "size): compare it only with FIDs from the same number of images; KID is unbiased")  # fmt: skip
    return True


def same_size(files: Sequence[str | Path]) -> bool:
    """Whether all ``files`` are images of one size (read from their headers): the libraries' loaders stack a batch."""
    from PIL import Image

    sizes = set()
    for file in files:
        with Image.open(file) as image:
            sizes.add(image.size)
    return len(sizes) <= 1
