"""When to post: the champion's sweep over hour and weekday, and whether the data back it.

For one photo (its image features and the metadata the person gives), the champion scores
every hour (0-23, UTC, as in the training table) and weekday. The hour profile is the mean
score per hour over the weekdays, the weekday profile the mean per weekday over the hours;
the best hour (weekday) is the top of its profile.

Evidence (:func:`time_evidence`), from the posts the champion learned on: each post's
*time-free residual* is its log likes minus its account's mean, minus what the champion
expects of it with the posting time hidden (its score with hour and weekday at their
training means, within the account, in log likes by :func:`calibration_slope`). The effect
of hour h is the mean residual of the posts made at h minus the mean of all. Because the
best hour was chosen among 24, its effect is compared with the largest effect of any hour
when each account's posting times are shuffled among its own posts (:data:`PERMUTATIONS`
times; the shuffle keeps the account's rhythm and destroys any relation of time to likes).
The interval of the best hour's gain is its effect minus the 97.5th to 2.5th percentile of
that shuffled maximum: a difference is shown only when it excludes 0, else
:data:`NO_DIFFERENCE`. The same for weekdays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from picme.models.ranker import TabularRanker
from picme.suggest.config import PERMUTATIONS

HOURS = 24
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NO_DIFFERENCE = "no measurable difference"
LEVEL = 0.95


def calibration_slope(scores: np.ndarray, frame: pd.DataFrame) -> float:
    """Log likes per unit of score within an account: the least-squares slope of the
    account-centred ``log_likes`` on the account-centred scores."""
    x, y = centred(frame, scores)
    ok = np.isfinite(x) & np.isfinite(y)
    denom = float(np.sum(x[ok] ** 2))
    return float(np.sum(x[ok] * y[ok]) / denom) if denom > 1e-12 else 0.0


def centred(frame: pd.DataFrame, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, log likes), each minus its account's mean."""
    g = frame["owner_username"].astype(str).to_numpy()
    s = pd.Series(np.asarray(scores, np.float64))
    y = pd.Series(frame["log_likes"].to_numpy(np.float64))
    return (
        (s - s.groupby(g).transform("mean")).to_numpy(),
        (y - y.groupby(g).transform("mean")).to_numpy(),
    )


def sweep(ranker: TabularRanker, rows: pd.DataFrame) -> np.ndarray:
    """Scores of each row at every (hour, weekday): shape (rows, 24, 7)."""
    n = len(rows)
    hours, days = np.meshgrid(np.arange(HOURS), np.arange(len(WEEKDAYS)), indexing="ij")
    grid = rows.loc[rows.index.repeat(HOURS * len(WEEKDAYS))].reset_index(drop=True)
    grid["hour"] = np.tile(hours.ravel(), n).astype(np.float64)
    grid["weekday"] = np.tile(days.ravel(), n).astype(np.float64)
    return ranker.predict(grid).reshape(n, HOURS, len(WEEKDAYS))


@dataclass(frozen=True)
class TimeEffect:
    """One photo's best hour or weekday, with the evidence for it (log likes)."""

    best: int
    gain: float  # log likes at ``best`` over the average time (see Evidence.judge)
    low: float
    high: float
    supported: bool

    def as_dict(self) -> dict[str, float | bool]:
        return {"gain": self.gain, "low": self.low, "high": self.high, "supported": self.supported}


@dataclass(frozen=True)
class Evidence:
    """Per value of one time column: the effect, and the shuffled maxima to judge it by."""

    column: str
    effect: np.ndarray  # (levels,), NaN where no post was made
    null_max: np.ndarray  # (permutations,)

    def judge(self, best: int, level: float = LEVEL) -> TimeEffect:
        """``best``'s effect beyond what choosing the top of the profile gives by chance:
        minus the median of the shuffled maxima (the interval: minus their percentiles)."""
        raw = float(self.effect[best])
        if not self.null_max.size or not np.isfinite(raw):
            return TimeEffect(best, float("nan"), float("nan"), float("nan"), False)
        tail = (1 - level) / 2
        hi_q, mid, lo_q = np.quantile(self.null_max, [1 - tail, 0.5, tail])
        low, high = raw - float(hi_q), raw - float(lo_q)
        return TimeEffect(best, raw - float(mid), low, high, bool(low > 0))


def residuals(ranker: TabularRanker, frame: pd.DataFrame) -> np.ndarray:
    """Each post's log likes beyond its account's mean and what the champion expects of it
    with its posting time hidden (hour and weekday at their training means)."""
    hidden = frame.drop(columns=[c for c in ("hour", "weekday") if c in frame.columns])
    s0 = ranker.predict(hidden)
    slope = calibration_slope(s0, frame)
    x, y = centred(frame, s0)
    return y - slope * x


def _effects(values: np.ndarray, r: np.ndarray, levels: int) -> np.ndarray:
    """Rows of ``values`` (k, n) of level indices: mean residual per level minus the mean."""
    k, n = values.shape
    flat = (values + levels * np.arange(k)[:, None]).ravel()
    sums = np.bincount(flat, weights=np.tile(r, k), minlength=k * levels).reshape(k, levels)
    counts = np.bincount(flat, minlength=k * levels).reshape(k, levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts - r.mean()


def time_evidence(
    ranker: TabularRanker,
    frame: pd.DataFrame,
    column: str,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> Evidence:
    """The effect of each value of ``column`` (hour or weekday) and its shuffled maxima."""
    levels = HOURS if column == "hour" else len(WEEKDAYS)
    ok = frame[column].notna() & frame["log_likes"].notna()
    part = frame[ok.to_numpy()].reset_index(drop=True)
    r = residuals(ranker, part)
    values = part[column].to_numpy(np.float64).astype(np.int64) % levels
    effect = _effects(values[None, :], r, levels)[0]
    rng = np.random.default_rng(seed)
    shuffled = np.empty((permutations, len(values)), np.int64)
    for idx in part.groupby("owner_username").indices.values():
        shuffled[:, idx] = rng.permuted(np.tile(values[idx], (permutations, 1)), axis=1)
    null_max = np.nanmax(_effects(shuffled, r, levels), axis=1) if permutations else np.zeros(0)
    return Evidence(column, effect, null_max)


def best_times(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per photo: the best hour and best weekday of its sweep (``sweep``'s output)."""
    return scores.mean(axis=2).argmax(axis=1), scores.mean(axis=1).argmax(axis=1)
