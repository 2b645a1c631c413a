"""FID and KID under named protocols (Heusel et al. 2017; Binkowski et al. 2018): which Inception, which resize,
which image format, computed by the library each protocol names. Training (``FIDMonitor``) and ``translate eval``
both score with this package, so their numbers mean the same thing."""

from translate.metrics.folders import score_folders
from translate.metrics.protocols import PROTOCOLS, Protocol, WeightsMissingError
from translate.metrics.report import EvalReport, Scores
from translate.metrics.scoring import kid_subset_size

__all__ = ["PROTOCOLS", "EvalReport", "Protocol", "Scores", "WeightsMissingError", "kid_subset_size", "score_folders"]
