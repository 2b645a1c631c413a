"""Score two folders under a named protocol: ``score_folders(real, fake, "cut")``."""

import importlib
import sys
from contextlib import redirect_stdout
from pathlib import Path

import torch
from torch import nn

from translate.evaluation.protocols import PROTOCOLS, Protocol
from translate.evaluation.report import Scores


def protocol_named(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOLS)} (docs/evaluation.md)")
    return PROTOCOLS[name]


def load_extractor(protocol: Protocol, *, weights: str | Path | None = None, feature: nn.Module | None = None,
                   device: str | torch.device = "cpu") -> tuple[object, Path | None]:  # fmt: skip
    """The protocol's extractor and the weights file it was built from: ``feature`` when given (no Inception), else
    the Inception from ``weights`` or the library's cache (``WeightsMissingError`` when absent: nothing downloads)."""
    found = None if feature is not None else protocol.weights.find(weights)
    return protocol.load(found, feature, torch.device(device)), found


def feature_module(dotted: str | None) -> nn.Module | None:
    """An instance of the class ``dotted`` names (``package.module.Class``), or None."""
    if dotted is None:
        return None
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)()
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(
            f"--feature-extractor {dotted}: cannot import it ({error}); give package.module.Class"
        ) from None


def score_folders(
    real: str | Path,
    fake: str | Path,
    protocol: str = "cut",
    *,
    weights: str | Path | None = None,
    feature: nn.Module | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 50,
    kid_subset: int | None = None,
    target: str = "-",
) -> Scores:
    """FID and KID of the images in ``fake`` against those in ``real``, read, resized and featurised by the
    protocol's library (each library finds a folder's images its own way: the folder itself, not sub-folders)."""
    chosen = protocol_named(protocol)
    for folder in (real, fake):
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"{folder} is not a folder of images")
    extractor, _ = load_extractor(chosen, weights=weights, feature=feature, device=device)
    return scores_with(chosen, extractor, Path(real), Path(fake), device=device, batch_size=batch_size,
                       kid_subset=kid_subset, target=target)  # fmt: skip


def scores_with(protocol: Protocol, extractor: object, real: Path, fake: Path, *, device: str | torch.device,
                batch_size: int, kid_subset: int | None, target: str) -> Scores:  # fmt: skip
    """``score_folders`` with an extractor already built (one Inception for every translation of an evaluation)."""
    with redirect_stdout(sys.stderr):  # the libraries print notes; stdout stays for the caller's one-line summary
        numbers = protocol.folder_scores(real, fake, extractor, torch.device(device), batch_size, kid_subset)
    return Scores(target=target, real=str(real), fake=str(fake), **numbers)
