"""Choosing the model by measurement: grouped cross-validation on the training accounts.

``picme train`` with no model named trains each candidate on K-1 folds of the training
accounts and scores the held-out fold (folds never share an account group, see
``picme.dataset.splits.grouped_folds``). The headline per fold is within-account pairwise
accuracy on the held-out fold's pairs; a candidate's result is the mean over folds with a
t-interval. The candidate with the best mean wins; the table of all candidates and the
reason are logged with the run. The test split is not touched here: it stays for the final
evaluation and the champion gate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from picme.dataset.splits import grouped_folds
from picme.models.metrics import pairs_from_rows, pairwise_accuracy
from picme.util import progress

#: Fit on the first frame, return scores for the second.
FitScore = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


@dataclass
class CandidateResult:
    name: str
    fold_scores: list[float] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def mean(self) -> float:
        ok = [s for s in self.fold_scores if np.isfinite(s)]
        return float(np.mean(ok)) if ok else float("nan")

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        ok = np.array([s for s in self.fold_scores if np.isfinite(s)])
        if ok.size < 2:
            return float("nan"), float("nan")
        half = stats.t.ppf(0.5 + level / 2, ok.size - 1) * ok.std(ddof=1) / np.sqrt(ok.size)
        return float(ok.mean() - half), float(ok.mean() + half)


@dataclass
class Selection:
    best: str
    reason: str
    results: list[CandidateResult]
    k: int

    def table(self) -> pd.DataFrame:
        rows = []
        for r in self.results:
            lo, hi = r.interval()
            rows.append(
                {
                    "candidate": r.name,
                    "cv_pairwise_acc": r.mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "folds": len(r.fold_scores),
                    "seconds": round(r.seconds, 2),
                    "error": r.error or "",
                    "chosen": r.name == self.best,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [f"model chosen by {self.k}-fold cross-validation on the training accounts:"]
        for r in self.results:
            lo, hi = r.interval()
            mark = "*" if r.name == self.best else " "
            what = r.error or f"{r.mean:.3f} (95% interval {lo:.3f} to {hi:.3f})"
            lines.append(f" {mark} {r.name:<16} {what}")
        lines.append(self.reason)
        return "\n".join(lines)


def fold_accuracy(frame: pd.DataFrame, scores: np.ndarray, margin: float) -> float:
    a, b, t = pairs_from_rows(
        frame["owner_username"].tolist(), frame["log_likes"].to_numpy(np.float64), margin
    )
    return pairwise_accuracy(scores, a, b, t)


def cross_validate(
    frame: pd.DataFrame,
    candidates: dict[str, FitScore],
    *,
    k: int,
    groups: Sequence[object] | None = None,
    margin: float = 0.2,
) -> Selection:
    """Each candidate over the same K grouped folds of ``frame`` (the training accounts)."""
    g = frame["owner_username"].tolist() if groups is None else list(groups)
    fold = grouped_folds(g, k)
    results = []
    with progress.task("cross-validating", total=len(candidates) * k) as bar:
        for n, (name, fit_score) in enumerate(candidates.items()):
            res = CandidateResult(name)
            started = time.perf_counter()
            bar.update(completed=n * k, description=f"cross-validating {name} ({k} folds)")
            try:
                for i in range(k):
                    train, held = frame[fold != i], frame[fold == i]
                    res.fold_scores.append(fold_accuracy(held, fit_score(train, held), margin))
                    bar.advance()
            except Exception as exc:  # one broken candidate must not stop the others
                first = str(exc).splitlines()[0] if str(exc) else ""
                res.error = f"failed: {type(exc).__name__}: {first}"
            res.seconds = time.perf_counter() - started
            results.append(res)
        bar.update(completed=len(candidates) * k, description="cross-validated")
    return choose(results, k)


def choose(results: list[CandidateResult], k: int) -> Selection:
    usable = [r for r in results if r.error is None and np.isfinite(r.mean)]
    if not usable:
        why = "; ".join(f"{r.name}: {r.error or 'no pairs in the held-out folds'}" for r in results)
        raise ValueError(f"no candidate could be cross-validated: {why}")
    best = max(usable, key=lambda r: (r.mean, -r.seconds))
    others = [r for r in usable if r is not best]
    if others:
        runner = max(others, key=lambda r: r.mean)
        reason = (
            f"chose {best.name}: mean pairwise accuracy {best.mean:.3f} over {k} folds, "
            f"ahead of {runner.name} at {runner.mean:.3f}"
        )
    else:
        reason = f"chose {best.name}: the only candidate that could be cross-validated"
    return Selection(best.name, reason, results, k)
