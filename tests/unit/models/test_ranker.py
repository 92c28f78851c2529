"""Tabular rankers: every registered name fits, round-trips through JSON and orders the
posts of unseen accounts by a planted image signal better than the heuristic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from picme.dataset.contract import METADATA_COLUMNS
from picme.features.extractors import FEATURE_COLUMNS
from picme.models.metrics import pairs_from_rows, pairwise_accuracy
from picme.models.ranker import RANKERS, TabularRanker, available_rankers, relevance
from picme.training.evaluate import heuristic_scores
from tests.trainingdata import make_training_data

COLUMNS = list(METADATA_COLUMNS) + list(FEATURE_COLUMNS)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    home = tmp_path_factory.mktemp("ranker")
    return make_training_data(Path(home), n_accounts=10, posts=30, image_size=64, seed=3).frame


def _test_accuracy(scores: np.ndarray, test: pd.DataFrame) -> float:
    a, b, t = pairs_from_rows(test["owner_username"].tolist(), test["log_likes"].to_numpy(), 0.2)
    return pairwise_accuracy(scores, a, b, t)


def test_relevance_grades_within_each_account() -> None:
    g = ["a"] * 5 + ["b"] * 5
    v = np.array([1, 2, 3, 4, 5, 100, 200, 300, 400, 500], float)
    assert relevance(g, v).tolist() == [1, 2, 3, 4, 4, 1, 2, 3, 4, 4]


@pytest.mark.parametrize("name", available_rankers())
def test_every_ranker_learns_the_planted_signal(name: str, planted: pd.DataFrame) -> None:
    train = planted[planted["split"] != "test"]
    test = planted[planted["split"] == "test"]
    ranker = RANKERS[name](
        train[train["split"] == "train"], COLUMNS, val=train[train["split"] == "val"]
    )
    acc = _test_accuracy(ranker.predict(test), test)
    heuristic = _test_accuracy(heuristic_scores(test), test)
    assert acc >= 0.75, acc
    assert acc > heuristic, (acc, heuristic)
    again = TabularRanker.from_json(ranker.to_json())
    np.testing.assert_allclose(again.predict(test), ranker.predict(test), rtol=1e-9)
    imp = again.importances()
    assert list(imp.columns) == ["column", "importance"] and len(imp) == len(COLUMNS)
    assert abs(imp["importance"].sum() - 1.0) < 1e-6


def test_images_alone_are_scored_with_neutral_metadata(planted: pd.DataFrame) -> None:
    ranker = RANKERS["ranker"](planted[planted["split"] == "train"], COLUMNS)
    test = planted[planted["split"] == "test"]
    images_only = test[list(FEATURE_COLUMNS)]
    scores = ranker.predict(images_only)
    assert np.isfinite(scores).all()
    assert _test_accuracy(scores, test) >= 0.7
