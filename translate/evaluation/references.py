"""clean-fid's precomputed statistics of image-to-image test splits (horse2zebra's 140 zebras, cat2dog's 500 dogs,
at 256 px): FID and KID of translations against them, without the real images. Looked up where clean-fid keeps
them (its package's ``stats`` folder), never downloaded."""

import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch

from translate.evaluation.protocols import PROTOCOLS, WeightsMissingError
from translate.evaluation.report import Scores
from translate.evaluation.scoring import kid, kid_subset_size

STATS_URL = "https://www.cs.cmu.edu/~clean-fid/stats"
REFERENCES = {"horse2zebra": 256, "cat2dog": 256}  # clean-fid's image-to-image statistics: name -> resolution, test


def reference_files(name: str, mode: str = "clean") -> tuple[Path, Path]:
    """Where clean-fid's ``get_reference_statistics`` looks for ``name``'s FID statistics (mu, sigma) and KID
    features."""
    import cleanfid

    stats = Path(cleanfid.__file__).parent / "stats"
    stem = f"{name}_{mode}_test_{REFERENCES[name]}".lower()
    return stats / f"{stem}.npz", stats / f"{stem}_kid.npz"


def require_reference(name: str) -> tuple[Path, Path]:
    if name not in REFERENCES:
        raise ValueError(f"--reference {name!r}: clean-fid has test statistics of {', '.join(REFERENCES)}")
    files = reference_files(name)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise WeightsMissingError(
            "no clean-fid statistics at " + " and ".join(str(f) for f in missing) + ": download "
            + " and ".join(f"{STATS_URL}/{f.name}" for f in missing) + " there; nothing is downloaded automatically"
        )  # fmt: skip
    return files


def reference_scores(name: str, fake: Path, extractor: object, *, device: str | torch.device, batch_size: int,
                     kid_subset: int | None) -> Scores:  # fmt: skip
    """FID by clean-fid's ``fid_folder`` (the precomputed mu and sigma), KID on its precomputed features, for the
    images in ``fake`` under the ``clean`` protocol."""
    from cleanfid.fid import fid_folder

    _, kid_file = require_reference(name)
    device = torch.device(device)
    with redirect_stdout(sys.stderr):  # clean-fid prints notes; stdout stays for the one-line summary
        fid = fid_folder(str(fake), name, REFERENCES[name], "test", model=extractor, mode="clean", num_workers=0,
                         batch_size=batch_size, device=device, verbose=False)  # fmt: skip
        fake_features = PROTOCOLS["clean"].folder_features(fake, extractor, device, batch_size)
    real_features = np.load(kid_file)["feats"]
    subset = kid_subset_size(len(real_features), len(fake_features), kid_subset)
    kid_mean, kid_std = kid(real_features, fake_features, subset)
    return Scores(target="-", fid=float(fid), kid_mean=kid_mean, kid_std=kid_std, n_real=len(real_features),
                  n_fake=len(fake_features), kid_subset_size=subset, real=f"clean-fid statistics: {name} test",
                  fake=str(fake))  # fmt: skip
