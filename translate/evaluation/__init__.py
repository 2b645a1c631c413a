"""FID and KID under named protocols (Heusel et al. 2017; Binkowski et al. 2018): which Inception, which resize,
which image format, computed by the library each protocol names. Training (``FIDMonitor``) and ``translate eval``
both score with this package, so their numbers mean the same thing."""

from translate.evaluation.folders import score_folders
from translate.evaluation.protocols import PROTOCOLS, Protocol, WeightsMissingError
from translate.evaluation.report import EvalReport, Scores
from translate.evaluation.scoring import kid_subset_size

__all__ = ["PROTOCOLS", "EvalReport", "Protocol", "Scores", "WeightsMissingError", "kid_subset_size", "score_folders"]
