"""What ``translate eval`` reports: FID and KID per translation with the protocol's settings, as JSON and one line."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from translate.output_files import atomic_path


@dataclass(frozen=True)
class Scores:
    """FID and KID of one set of translations against the real images of its target."""

    target: str  # the direction ("a2b") or target domain, or "-" for two plain folders
    fid: float
    kid_mean: float
    kid_std: float
    n_real: int
    n_fake: int
    kid_subset_size: int
    real: str  # the folders the library read
    fake: str

    def as_dict(self) -> dict[str, Any]:
        # papers print KID x 100 (CUT, UVCGAN); both are kept so that no one has to guess the scale
        return {**asdict(self), "kid_x100_mean": 100 * self.kid_mean, "kid_x100_std": 100 * self.kid_std}

    def line(self) -> str:
        name = "" if self.target == "-" else f"{self.target}: "
        return (f"{name}FID {self.fid:.2f}, KID x100 {100 * self.kid_mean:.2f} +- {100 * self.kid_std:.2f} "
                f"({self.n_fake} translated vs {self.n_real} real)")  # fmt: skip


@dataclass
class EvalReport:
    """One evaluation: how it was measured (``settings``), what (``source``), the scores, the model's own metrics."""

    settings: dict[str, str]
    source: dict[str, Any]
    scores: list[Scores]
    own_metrics: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "source": self.source, "scores": [s.as_dict() for s in self.scores],
                "own_metrics": self.own_metrics, "warnings": self.warnings}  # fmt: skip

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        with atomic_path(path) as temporary:  # a crash or a full disk never leaves half a report
            temporary.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path

    def summary(self) -> str:
        """One line: the protocol, every translation's FID and KID, the model's own metrics."""
        parts = [score.line() for score in self.scores]
        own = ", ".join(f"{name} {value:.4g}" for name, value in self.own_metrics.items())
        return f"[{self.settings['protocol']}] " + "; ".join(parts) + (f"; own metrics: {own}" if own else "")
