"""Where a score stands among the training photos: a small table of the training split's
scores, stored as the model artifact ``percentiles`` (JSON) when the model is logged.

Up to :data:`MAX_POINTS` training photos the table is their sorted scores, so a percentile
is exact; above that it is that many quantiles, one per equal share of the photos (a
resolution of 0.1 percentile). A score's percentile is the share of training photos that
scored lower, ties counting half, times 100: in [0, 100], 0 below every training photo and
100 above every one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_POINTS = 1001
PERCENTILES = "percentiles"


@dataclass(frozen=True)
class PercentileTable:
    values: tuple[float, ...]  # sorted, increasing
    n: int  # training photos the table summarises

    @classmethod
    def from_scores(cls, scores: np.ndarray, max_points: int = MAX_POINTS) -> PercentileTable:
        s = np.sort(np.asarray(scores, np.float64).ravel())
        s = s[np.isfinite(s)]
        if len(s) > max_points:
            # The quantile at the centre of each of max_points equal shares of the photos.
            s = np.quantile(s, (np.arange(max_points) + 0.5) / max_points)
        return cls(tuple(float(v) for v in s), int(np.isfinite(np.asarray(scores)).sum()))

    def percentile(self, scores: np.ndarray) -> np.ndarray:
        """Per score, in [0, 100]; NaN for a NaN score or an empty table."""
        x = np.asarray(scores, np.float64)
        if not self.values:
            return np.full(x.shape, np.nan)
        table = np.asarray(self.values)
        below = np.searchsorted(table, x, side="left")
        upto = np.searchsorted(table, x, side="right")
        out = 100.0 * (below + upto) / (2.0 * len(table))
        return np.where(np.isfinite(x), out, np.nan)

    def to_json(self) -> str:
        return json.dumps({"n": self.n, "values": list(self.values)})

    def save(self, path: Path) -> Path:
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> PercentileTable:
        data = json.loads(Path(path).read_text())
        return cls(tuple(float(v) for v in data["values"]), int(data["n"]))
