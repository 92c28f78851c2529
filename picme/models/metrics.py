"""Evaluation metrics as plain numpy functions (no torch), shared by validation, the test
evaluation, the baselines and the champion comparison.

Headline: within-account pairwise accuracy, the share of same-account pairs of posts whose
order the scores get right (a tie counts one half). It asks exactly what curation needs:
of two photos by the same person, which does better?
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, f1_score, ndcg_score, roc_auc_score


def pairwise_accuracy(
    scores: np.ndarray, idx_a: np.ndarray, idx_b: np.ndarray, target: np.ndarray
) -> float:
    """Share of pairs ordered right: target 1 means ``a`` did better. NaN without pairs."""
    if len(idx_a) == 0:
        return float("nan")
    s = np.asarray(scores, np.float64)
    diff = s[idx_a] - s[idx_b]
    t = np.asarray(target) > 0.5
    # Rows without a score (a partial validation pass) leave their pairs out.
    ok = np.isfinite(diff)
    if not ok.any():
        return float("nan")
    diff, t = diff[ok], t[ok]
    right = np.where(diff == 0, 0.5, ((diff > 0) == t).astype(np.float64))
    return float(right.mean())


def pairs_from_rows(
    groups: Sequence[object], value: np.ndarray, margin: float = 0.0, max_per_group: int = 20000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All same-group pairs (i < j) whose ``value`` differs by more than ``margin``.

    Returns (idx_a, idx_b, target) with target 1 when row a has the larger value. A group
    with more than ``max_per_group`` pairs is subsampled with a fixed seed."""
    g = np.asarray(groups, dtype=object)
    v = np.asarray(value, np.float64)
    rng = np.random.default_rng(0)
    out_a, out_b = [], []
    for key in dict.fromkeys(g.tolist()):
        idx = np.flatnonzero(g == key)
        idx = idx[np.isfinite(v[idx])]
        if idx.size < 2:
            continue
        ia, ib = np.triu_indices(idx.size, k=1)
        a, b = idx[ia], idx[ib]
        keep = np.abs(v[a] - v[b]) > margin
        a, b = a[keep], b[keep]
        if a.size > max_per_group:
            pick = rng.choice(a.size, max_per_group, replace=False)
            a, b = a[pick], b[pick]
        out_a.append(a)
        out_b.append(b)
    if not out_a:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    a = np.concatenate(out_a).astype(np.int64)
    b = np.concatenate(out_b).astype(np.int64)
    return a, b, (v[a] > v[b]).astype(np.float32)


def ndcg_at_k(
    scores: np.ndarray, groups: Sequence[object], relevance: np.ndarray, k: int = 5
) -> float:
    """Mean over groups (accounts, at least 2 posts) of NDCG@k of the scores' ranking.

    Relevance is the post's within-account percentile of ``relevance`` (0 worst .. 1 best),
    so accounts of every size and popularity weigh the same."""
    g = np.asarray(groups, dtype=object)
    s = np.asarray(scores, np.float64)
    r = np.asarray(relevance, np.float64)
    values = []
    for key in dict.fromkeys(g.tolist()):
        idx = np.flatnonzero((g == key) & np.isfinite(r))
        if idx.size < 2:
            continue
        ranks = r[idx].argsort().argsort().astype(np.float64)
        gains = ranks / (idx.size - 1)
        values.append(ndcg_score(gains[None, :], s[idx][None, :], k=k))
    return float(np.mean(values)) if values else float("nan")


def labelled(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores as float, labels as int) of the rows where both are known."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels)
    ok = np.isfinite(s) & np.isfinite(y.astype(np.float64))
    return s[ok], y[ok].astype(int)


def predict_positive(scores: np.ndarray, positive_rate: float) -> np.ndarray:
    """1 for the top ``positive_rate`` share of the scores (ties at the threshold included),
    else 0: the one threshold rule of every binary metric and the confusion matrix."""
    s = np.asarray(scores, np.float64)
    rate = min(max(positive_rate, 0.0), 1.0)
    if s.size == 0 or not 0 < rate < 1:
        return np.full(s.shape, int(rate >= 1))
    return (s >= np.quantile(s, 1.0 - rate)).astype(int)


def binary_metrics(
    scores: np.ndarray, labels: np.ndarray, positive_rate: float
) -> dict[str, float]:
    """Accuracy and F1 with the threshold that predicts ``positive_rate`` of the rows as
    positive (the training split's rate, so every model and baseline is judged alike, and a
    score need not be a probability); ROC-AUC needs no threshold.

    With one class in ``labels`` none of them measures anything (every scorer, random
    included, gets the same accuracy), so all three are NaN: "cannot be computed"."""
    s, y = labelled(scores, labels)
    if s.size == 0 or len(np.unique(y)) < 2:
        return {"accuracy": float("nan"), "f1": float("nan"), "roc_auc": float("nan")}
    pred = predict_positive(s, positive_rate)
    auc = float(roc_auc_score(y, s))
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "roc_auc": auc,
    }


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(spearmanr(x[ok], y[ok]).statistic)


def linear_calibration(scores: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of least squares target ~ scores; MAE in target units needs it,
    because ranking scores have no unit. A constant score maps to the target's mean."""
    x, y = np.asarray(scores, np.float64), np.asarray(target, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if y.size == 0:
        return 0.0, 0.0
    if y.size < 2 or np.ptp(x) == 0:
        return 0.0, float(y.mean())
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    ok = np.isfinite(p) & np.isfinite(t)
    return float(np.abs(p[ok] - t[ok]).mean()) if ok.any() else float("nan")
