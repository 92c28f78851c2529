"""Evaluation on the held-out test split, the same for every model, with baselines scored in
the same run (``evaluate``; ``evaluate_trained`` for a fitted model):

- ``random``: uniform random scores (seeded);
- ``followers``: the account's follower count (constant within an account, so it cannot
  order two posts of the same account: its pairwise accuracy is 0.5 by construction);
- ``heuristic``: ``picme.features.heuristic.heuristic_quality`` over the image features.

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

The confusion matrix uses the threshold of ``accuracy`` and ``f1``; ``split_fingerprint``
identifies the test split, so a champion's score is compared only on the same split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from picme.features.extractors import FEATURE_COLUMNS
from picme.features.heuristic import heuristic_quality
from picme.models import metrics as M
from picme.models.infer import predict_prepared

if TYPE_CHECKING:
    from picme.training.fit import Trained

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
    """2x2 counts (rows: actual 0/1, columns: predicted 0/1) of the labelled rows, predicted
    with the threshold of ``accuracy`` and ``f1`` (``picme.models.metrics.predict_positive``)."""
    s, y = M.labelled(scores, labels)
    if s.size == 0:  # sklearn refuses empty input; a split without labels counts nothing
        return np.zeros((2, 2), np.int64)
    pred = M.predict_positive(s, positive_rate)
    return np.asarray(sk_confusion_matrix(y, pred, labels=[0, 1]), np.int64)


def format_table(metrics: Mapping[str, float], prefix: str = "test") -> str:
    """Model and baselines side by side, for summaries and docs."""
    rows = ["model"] + [b for b in BASELINES if f"{prefix}/{b}/pairwise_acc" in metrics]
    names = ["pairwise_acc", f"ndcg_at_{NDCG_K}", "roc_auc", "accuracy", "f1", "spearman", "mae"]
    head = f"{'':<10}" + "".join(f"{n:>13}" for n in names)
    lines = [head]
    missing: set[str] = set()
    for r in rows:
        key = prefix if r == "model" else f"{prefix}/{r}"
        vals = [metrics.get(f"{key}/{n}", float("nan")) for n in names]
        missing |= {n for n, v in zip(names, vals, strict=True) if not np.isfinite(v)}
        lines.append(f"{r:<10}" + "".join(_cell(v) for v in vals))
    if missing:
        lines.append(f"n/a: {', '.join(sorted(missing, key=names.index))} cannot be computed "
                     f"on this {prefix} split ({_why_missing(missing)})")  # fmt: skip
    return "\n".join(lines)


def _cell(value: float) -> str:
    return f"{value:>13.3f}" if np.isfinite(value) else f"{'n/a':>13}"


def _why_missing(names: set[str]) -> str:
    if names & {"roc_auc", "accuracy", "f1"}:
        return "its labels are all of one class, or it has none"
    return "too few rows or pairs"


def split_fingerprint(frame: pd.DataFrame, pairs: tuple[np.ndarray, ...]) -> str:
    """Identity of the test split: its posts and its pair targets."""
    h = hashlib.sha256()
    for code in sorted(frame["shortcode"].astype(str)):
        h.update(code.encode())
        h.update(b"\0")
    a, b, t = pairs
    codes = frame["shortcode"].astype(str).to_numpy()
    triples = sorted(zip(codes[a].tolist(), codes[b].tolist(), t.astype(int).tolist(), strict=True))
    h.update(repr(triples).encode())
    return h.hexdigest()[:16]


def split_scores(trained: Trained, split: str) -> np.ndarray:
    """Model scores for one split, through the same path as the logged model (on the GPU
    when there is one: Lightning hands the model back on the CPU after fit)."""
    d = trained.dm.splits[split]
    n, s = len(d.frame), trained.prep.image_size
    images = d.images if d.images is not None else np.zeros((n, s, s, 3), np.uint8)
    trained.net.to("cuda" if torch.cuda.is_available() else "cpu")
    return predict_prepared(trained.net, trained.prep, images, d.meta_raw)


def evaluate_trained(trained: Trained, seed: int = 0) -> tuple[dict[str, float], np.ndarray]:
    """The test metrics of a fitted model and its baselines, and its test scores."""
    dm = trained.dm
    test = dm.splits["test"]
    val_name = "val" if len(dm.splits["val"].frame) else None
    test_scores = split_scores(trained, "test")
    val_scores = split_scores(trained, val_name) if val_name else None
    train_labels = dm.splits["train"].frame.get("label")
    rate = 0.5
    if train_labels is not None and train_labels.notna().any():
        rate = float(np.nanmean(train_labels.astype(float)))
    result = evaluate(
        EvalSplit(test.frame, test.pairs),
        test_scores,
        val=EvalSplit(dm.splits["val"].frame, dm.splits["val"].pairs) if val_name else None,
        val_scores=val_scores,
        positive_rate=rate,
        seed=seed,
    )
    result.metrics["test/positive_rate"] = rate
    return result.metrics, test_scores
