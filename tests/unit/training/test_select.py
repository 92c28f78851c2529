"""Model choice by grouped cross-validation on the training accounts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from picme.dataset.contract import METADATA_COLUMNS
from picme.features.extractors import FEATURE_COLUMNS
from picme.models.ranker import RANKERS
from picme.training.select import CandidateResult, choose, cross_validate
from tests.trainingdata import make_training_data

COLUMNS = list(METADATA_COLUMNS) + list(FEATURE_COLUMNS)


@pytest.fixture(scope="module")
def train_frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    home = Path(tmp_path_factory.mktemp("select"))
    frame = make_training_data(home, n_accounts=10, posts=24, image_size=64, seed=5).frame
    return frame[frame["split"] != "test"].reset_index(drop=True)


def _ranker(name: str):  # type: ignore[no-untyped-def]
    return lambda train, held: RANKERS[name](train, COLUMNS).predict(held)


def _random(train: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
    return np.random.default_rng(0).random(len(held))


def _broken(train: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
    raise RuntimeError("out of memory")


def test_the_learner_beats_random_and_a_broken_candidate_is_reported(
    train_frame: pd.DataFrame,
) -> None:
    sel = cross_validate(
        train_frame,
        {"ranker": _ranker("ranker"), "random": _random, "broken": _broken},
        k=4,
    )
    assert sel.best == "ranker"
    table = sel.table().set_index("candidate")
    assert table.loc["ranker", "cv_pairwise_acc"] > table.loc["random", "cv_pairwise_acc"] + 0.15
    assert table.loc["ranker", "folds"] == 4
    assert table.loc["ranker", "ci_low"] < table.loc["ranker", "cv_pairwise_acc"]
    assert table.loc["broken", "error"].startswith("failed: RuntimeError: out of memory")
    assert "chose ranker" in sel.summary() and "broken" in sel.summary()


def test_no_usable_candidate_is_an_error() -> None:
    with pytest.raises(ValueError, match="no candidate could be cross-validated"):
        choose([CandidateResult("x", error="failed: boom")], 3)


def test_ties_go_to_the_faster_candidate() -> None:
    slow = CandidateResult("slow", [0.8, 0.8], seconds=10)
    fast = CandidateResult("fast", [0.8, 0.8], seconds=1)
    assert choose([slow, fast], 2).best == "fast"
