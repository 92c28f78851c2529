"""Evaluation on the held-out test split, the same for every model, with baselines scored in
the same run:

- ``random``: uniform random scores (seeded);
- ``followers``: the account's follower count (constant within an account, so it cannot
  order two posts of the same account: its pairwise accuracy is 0.5 by construction);
- ``heuristic``: ``picme.features.extract.heuristic_quality`` over the image features.

Metrics (names as logged, ``test/<metric>`` for the model, ``test/<baseline>/<metric>`` for
the baselines):

- ``pairwise_acc`` (headline): within-account pairwise accuracy on the test pairs;
- ``ndcg_at_k``: per-account NDCG@k of the scores' ranking, averaged over accounts;
- ``accuracy``, ``f1``, ``roc_auc`` on the binary ``label`` (the poster's), with the
  threshold that predicts the training split's positive rate; ``roc_auc_rel`` on
  ``label_rel``;
- ``spearman`` and ``mae`` on ``log_engagement``; MAE uses a linear map from scores to log
  engagement fitted on the validation split (clipped to its range), since ranking scores
  have no unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from picme.models import metrics as M

BASELINES = ("random", "followers", "heuristic")
NDCG_K = 5


@dataclass
class EvalSplit:
    """What the metrics need from one split."""

    frame: pd.DataFrame
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]

    def column(self, name: str) -> np.ndarray:
        if name not in self.frame.columns:
            return np.full(len(self.frame), np.nan)
        return pd.to_numeric(self.frame[name], errors="coerce").to_numpy(np.float64)


@dataclass
class Evaluation:
    metrics: dict[str, float] = field(default_factory=dict)
    threshold_rate: float = 0.5

    def headline(self, prefix: str = "test") -> float:
        return self.metrics.get(f"{prefix}/pairwise_acc", float("nan"))


def score_metrics(
    test: EvalSplit,
    scores: np.ndarray,
    *,
    positive_rate: float,
    calibration: tuple[float, float, float, float],
    k: int = NDCG_K,
) -> dict[str, float]:
    a, b, t = test.pairs
    groups = test.frame["owner_username"].tolist()
    out = {"pairwise_acc": M.pairwise_accuracy(scores, a, b, t)}
    rel = test.column("rel_log_likes")
    if not np.isfinite(rel).any():
        rel = test.column("log_likes")
    out[f"ndcg_at_{k}"] = M.ndcg_at_k(scores, groups, rel, k=k)
    out.update(M.binary_metrics(scores, test.column("label"), positive_rate))
    out["roc_auc_rel"] = M.binary_metrics(scores, test.column("label_rel"), 0.5)["roc_auc"]
    log_eng = test.column("log_engagement")
    out["spearman"] = M.spearman(scores, log_eng)
    slope, intercept, lo, hi = calibration
    # Clipped to the calibration split's range: a score far outside what the line was fitted
    # on (follower counts of an unseen account) must not extrapolate into nonsense.
    pred = np.clip(slope * np.asarray(scores, np.float64) + intercept, lo, hi)
    out["mae"] = M.mae(pred, log_eng)
    out["n_pairs"] = float(len(a))
    return out


def baseline_scores(frame: pd.DataFrame, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(frame)
    followers = (
        pd.to_numeric(frame["followers"], errors="coerce").to_numpy(np.float64)
        if "followers" in frame.columns
        else np.full(n, np.nan)
    )
    return {
        "random": rng.random(n),
        "followers": np.log1p(np.nan_to_num(followers, nan=0.0)),
        "heuristic": heuristic_scores(frame),
    }


def heuristic_scores(frame: pd.DataFrame) -> np.ndarray:
    from picme.features.extractors import FEATURE_COLUMNS
    from picme.features.heuristic import heuristic_quality

    cols = [c for c in FEATURE_COLUMNS if c in frame.columns]
    if not cols:
        return np.full(len(frame), np.nan)
    records = frame[cols].to_dict("records")
    return np.array([heuristic_quality(r) for r in records], np.float64)


def evaluate(
    test: EvalSplit,
    test_scores: np.ndarray,
    *,
    val: EvalSplit | None,
    val_scores: np.ndarray | None,
    positive_rate: float,
    seed: int = 0,
    prefix: str = "test",
) -> Evaluation:
    """Model and baselines on ``test``; calibration for MAE fitted on ``val``."""

    def calib(
        test_like: np.ndarray, val_like: np.ndarray | None
    ) -> tuple[float, float, float, float]:
        if val is not None and val_like is not None and len(val.frame):
            x, y = val_like, val.column("log_engagement")
        else:
            x, y = test_like, test.column("log_engagement")
        slope, intercept = M.linear_calibration(x, y)
        finite = y[np.isfinite(y)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-np.inf, np.inf)
        return slope, intercept, lo, hi

    result = Evaluation(threshold_rate=positive_rate)
    model = score_metrics(
        test, test_scores, positive_rate=positive_rate, calibration=calib(test_scores, val_scores)
    )
    result.metrics.update({f"{prefix}/{k}": v for k, v in model.items()})
    test_base = baseline_scores(test.frame, seed)
    val_base = baseline_scores(val.frame, seed + 1) if val is not None else {}
    for name in BASELINES:
        s = test_base[name]
        if not np.isfinite(s).any():
            continue
        m = score_metrics(
            test, s, positive_rate=positive_rate, calibration=calib(s, val_base.get(name))
        )
        result.metrics.update({f"{prefix}/{name}/{k}": v for k, v in m.items() if k != "n_pairs"})
    return result


def confusion_matrix(scores: np.ndarray, labels: np.ndarray, positive_rate: float) -> np.ndarray:
    s, y = np.asarray(scores, np.float64), np.asarray(labels, np.float64)
    ok = np.isfinite(s) & np.isfinite(y)
    s, y = s[ok], y[ok].astype(int)
    cm = np.zeros((2, 2), np.int64)
    if s.size == 0:
        return cm
    thr = np.quantile(s, 1.0 - min(max(positive_rate, 1e-6), 1 - 1e-6))
    pred = (s >= thr).astype(int)
    for yi, pi in zip(y, pred, strict=True):
        cm[yi, pi] += 1
    return cm


def format_table(metrics: Mapping[str, float], prefix: str = "test") -> str:
    """Model and baselines side by side, for summaries and docs."""
    rows = ["model"] + [b for b in BASELINES if f"{prefix}/{b}/pairwise_acc" in metrics]
    names = ["pairwise_acc", f"ndcg_at_{NDCG_K}", "roc_auc", "accuracy", "f1", "spearman", "mae"]
    head = f"{'':<10}" + "".join(f"{n:>13}" for n in names)
    lines = [head]
    for r in rows:
        key = prefix if r == "model" else f"{prefix}/{r}"
        vals = [metrics.get(f"{key}/{n}", float("nan")) for n in names]
        lines.append(f"{r:<10}" + "".join(f"{v:>13.3f}" for v in vals))
    return "\n".join(lines)
