from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from picme.models import metrics as M
from picme.training.evaluate import EvalSplit, baseline_scores, confusion_matrix, evaluate


def test_pairwise_accuracy_counts_ties_as_half_and_skips_unscored() -> None:
    s = np.array([3.0, 1.0, 1.0, np.nan])
    a, b = np.array([0, 1, 0, 3]), np.array([1, 2, 2, 0])
    t = np.array([1, 1, 0, 1])
    # pair 0 right, pair 1 tie, pair 2 wrong, pair 3 has no score
    assert M.pairwise_accuracy(s, a, b, t) == pytest.approx(0.5)
    assert np.isnan(M.pairwise_accuracy(s, a[:0], b[:0], t[:0]))


def test_pairs_from_rows_stay_within_groups_and_respect_margin() -> None:
    groups = ["x", "x", "x", "y", "y"]
    v = np.array([0.0, 1.0, 0.05, 5.0, 3.0])
    a, b, t = M.pairs_from_rows(groups, v, margin=0.1)
    got = {(int(i), int(j), int(k)) for i, j, k in zip(a, b, t, strict=True)}
    assert got == {(0, 1, 0), (1, 2, 1), (3, 4, 1)}


def test_ndcg_is_one_for_the_true_order_and_lower_reversed() -> None:
    groups = ["a"] * 6 + ["b"] * 4
    rel = np.array([1, 2, 3, 4, 5, 6, 10, 20, 30, 40], float)
    assert M.ndcg_at_k(rel, groups, rel, k=3) == pytest.approx(1.0)
    assert M.ndcg_at_k(-rel, groups, rel, k=3) < 0.6


def test_binary_metrics_use_the_training_positive_rate() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    m = M.binary_metrics(scores, labels, positive_rate=0.25)
    assert m["accuracy"] == 1.0 and m["f1"] == 1.0 and m["roc_auc"] == 1.0
    m = M.binary_metrics(scores, labels, positive_rate=0.5)
    assert m["accuracy"] == 0.75


def test_spearman_and_calibrated_mae() -> None:
    x = np.arange(10.0)
    assert M.spearman(x, x**3) == pytest.approx(1.0)
    slope, intercept = M.linear_calibration(x, 2 * x + 1)
    assert (slope, intercept) == pytest.approx((2.0, 1.0))
    assert M.mae(slope * x + intercept, 2 * x + 1) == pytest.approx(0.0, abs=1e-9)
    assert M.linear_calibration(np.ones(4), np.arange(4.0)) == (0.0, 1.5)


def _split(n_acc: int = 4, n: int = 10, seed: int = 0) -> EvalSplit:
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_acc):
        f = 1000 * (a + 1)
        for _ in range(n):
            q = rng.normal()
            rows.append(
                {
                    "owner_username": f"u{a}",
                    "followers": f,
                    "rel_log_likes": q,
                    "log_engagement": q - a,
                    "label": int(q - a > -1),
                    "label_rel": int(q > 0),
                    "brightness": rng.uniform(),
                    "quality": q,
                }
            )
    frame = pd.DataFrame(rows)
    frame["shortcode"] = [f"s{i}" for i in range(len(frame))]
    a, b, t = M.pairs_from_rows(frame["owner_username"].tolist(), frame["rel_log_likes"].to_numpy())
    return EvalSplit(frame, (a, b, t))


def test_evaluation_reports_model_and_baselines() -> None:
    test, val = _split(seed=1), _split(seed=2)
    truth = test.frame["quality"].to_numpy()
    ev = evaluate(
        test, truth, val=val, val_scores=val.frame["quality"].to_numpy(), positive_rate=0.5, seed=0
    )
    m = ev.metrics
    assert m["test/pairwise_acc"] == 1.0 and ev.headline() == 1.0
    assert m["test/ndcg_at_5"] == pytest.approx(1.0)
    assert m["test/followers/pairwise_acc"] == 0.5  # constant within an account
    assert 0.2 < m["test/random/pairwise_acc"] < 0.8
    assert "test/heuristic/pairwise_acc" in m
    for key in ("accuracy", "f1", "roc_auc", "roc_auc_rel", "spearman", "mae"):
        assert np.isfinite(m[f"test/{key}"]), key
    assert m["test/roc_auc_rel"] == 1.0
    assert set(baseline_scores(test.frame)) == {"random", "followers", "heuristic"}


def test_confusion_matrix_counts_every_row() -> None:
    cm = confusion_matrix(np.array([0.1, 0.9, 0.8, 0.2]), np.array([0, 1, 0, 1]), 0.5)
    assert cm.sum() == 4 and cm[1, 1] == 1 and cm[0, 0] == 1
