"""Evaluation of a model beside the baselines, and the confusion matrix's threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from picme.models import metrics as M
from picme.training.evaluate import (
    EvalSplit,
    baseline_scores,
    confusion_matrix,
    evaluate,
    split_fingerprint,
)


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


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.6, 1.0])
def test_confusion_matrix_uses_the_threshold_of_accuracy_and_f1(rate: float) -> None:
    rng = np.random.default_rng(4)
    scores = np.round(rng.random(40), 1)  # ties at the threshold
    labels = (rng.random(40) < 0.4).astype(float)
    scores[3], labels[5] = np.nan, np.nan  # neither row is counted
    cm = confusion_matrix(scores, labels, rate)
    assert cm.shape == (2, 2) and cm.sum() == 38
    accuracy = M.binary_metrics(scores, labels, rate)["accuracy"]
    assert (cm[0, 0] + cm[1, 1]) / cm.sum() == pytest.approx(accuracy)
    s, y = M.labelled(scores, labels)
    pred = M.predict_positive(s, rate)
    assert cm[:, 1].sum() == pred.sum() and cm[1].sum() == y.sum()


def test_confusion_matrix_of_no_labelled_rows_is_empty() -> None:
    cm = confusion_matrix(np.array([0.5, np.nan]), np.array([np.nan, 1.0]), 0.5)
    assert cm.tolist() == [[0, 0], [0, 0]]


def test_split_fingerprint_follows_posts_and_pair_targets() -> None:
    split = _split()
    fp = split_fingerprint(split.frame, split.pairs)
    a, b, t = split.pairs
    assert fp == split_fingerprint(split.frame, (a[::-1], b[::-1], t[::-1]))  # order is no part
    assert fp != split_fingerprint(split.frame, (a, b, 1 - t))
    other = split.frame.assign(shortcode=[f"t{i}" for i in range(len(split.frame))])
    assert fp != split_fingerprint(other, split.pairs)
