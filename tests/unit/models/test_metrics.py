"""The ranking and binary metrics of ``picme.models.metrics``."""

from __future__ import annotations

import numpy as np
import pytest

from picme.models import metrics as M


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


def test_predict_positive_is_the_binary_metrics_threshold() -> None:
    scores = np.array([0.4, 0.1, 0.9, 0.4, 0.7])
    assert M.predict_positive(scores, 0.4).tolist() == [0, 0, 1, 0, 1]
    # Ties at the threshold are all positive, so the share can exceed the rate.
    assert M.predict_positive(scores, 0.6).tolist() == [1, 0, 1, 1, 1]
    assert M.predict_positive(scores, 0.0).tolist() == [0] * 5
    assert M.predict_positive(scores, 1.0).tolist() == [1] * 5
    assert M.predict_positive(np.zeros(0), 0.5).shape == (0,)
    labels = np.array([0, 0, 1, 0, 1])
    assert M.binary_metrics(scores, labels, 0.4)["accuracy"] == 1.0


def test_labelled_keeps_rows_with_a_score_and_a_label() -> None:
    s, y = M.labelled(np.array([0.1, np.nan, 0.3, 0.4]), np.array([1.0, 0.0, np.nan, 0.0]))
    assert s.tolist() == [0.1, 0.4] and y.tolist() == [1, 0] and y.dtype.kind == "i"
