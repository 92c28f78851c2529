"""The personal ranker's rows, pairs and held-out split, from real feedback parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from picme.errors import InputError
from picme.lake.feedback import record
from picme.scoring.heuristic import HeuristicScorer
from picme.scoring.personal import BASE_COLUMN
from picme.settings import Settings
from picme.training.personal_data import (
    BLOCK,
    decisions,
    feedback_set,
    pairs_of,
)
from tests.unit.training.personal_feedback import make_albums


def test_split_by_album_holds_out_whole_albums(picme_home: Path, tmp_path: Path) -> None:
    settings = Settings()
    make_albums(settings, tmp_path / "albums", albums=4, photos=12)
    data = feedback_set(settings, HeuristicScorer(), seed=0)
    assert data.split_by == "album"
    test, train = data.part("test"), data.part("train")
    assert set(test["album"]).isdisjoint(set(train["album"]))
    assert test["album"].nunique() == 2  # ceil(0.3 * 4)
    sizes = data.sizes()
    assert sizes["test_photos"] + sizes["train_photos"] == 48
    assert "held out by album: 2 albums, 4 blocks" in data.describe()
    # Each pair: a kept photo over a rejected one of the same block, never two of a kind.
    a, b, t = pairs_of(test, "block")
    assert len(a) == sizes["test_pairs"] > 0
    assert (test["block"].to_numpy()[a] == test["block"].to_numpy()[b]).all()
    assert (test["grade"].to_numpy()[a] != test["grade"].to_numpy()[b]).all()
    assert ((test["grade"].to_numpy()[a] > 0) == (t > 0.5)).all()
    # The base score is the given scorer's: here the heuristic of the features.
    assert np.allclose(data.frame[BASE_COLUMN], data.frame["heuristic_quality"])


def test_one_album_is_split_into_blocks(picme_home: Path, tmp_path: Path) -> None:
    settings = Settings()
    make_albums(settings, tmp_path / "albums", albums=1, photos=40)
    data = feedback_set(settings, HeuristicScorer(), seed=1)
    assert data.split_by == "block"
    assert data.frame["block"].nunique() == 40 // BLOCK
    test_blocks = set(data.part("test")["block"])
    assert len(test_blocks) == 2 and test_blocks.isdisjoint(set(data.part("train")["block"]))


def test_latest_decision_wins_and_clear_drops_it(picme_home: Path, tmp_path: Path) -> None:
    settings = Settings()
    (album,) = make_albums(settings, tmp_path / "albums", albums=1, photos=12)
    before = decisions(settings).set_index("path")["grade"]
    first = sorted(before.index)[0]
    flipped = "reject" if before[first] > 0 else "keep"
    record(settings, album, first, "x", flipped)
    record(settings, album, sorted(before.index)[1], "x", "clear")
    after = decisions(settings).set_index("path")["grade"]
    assert after[first] == 1.0 - before[first]
    assert sorted(before.index)[1] not in after.index and len(after) == 11


def test_too_little_feedback_is_one_clear_line(picme_home: Path, tmp_path: Path) -> None:
    settings = Settings()
    with pytest.raises(InputError, match="not enough feedback.*picme review"):
        feedback_set(settings, HeuristicScorer(), seed=0)
    make_albums(settings, tmp_path / "albums", albums=1, photos=12)
    for p in (tmp_path / "albums" / "album0").glob("IMG_000*.jpg"):
        p.unlink()  # ten photos gone from the album: too few left
    with pytest.raises(InputError, match="not enough feedback"):
        feedback_set(settings, HeuristicScorer(), seed=0)


def test_photos_gone_from_the_album_are_left_out_and_said(picme_home: Path, tmp_path: Path) -> None:
    settings = Settings()
    make_albums(settings, tmp_path / "albums", albums=2, photos=15)
    (tmp_path / "albums" / "album1" / "IMG_0003.jpg").unlink()
    (tmp_path / "albums" / "album1" / "IMG_0004.jpg").write_bytes(b"not a jpeg")
    data = feedback_set(settings, HeuristicScorer(), seed=0)
    assert len(data.frame) == 28
    assert any("1 photos with feedback are no longer" in n for n in data.notes)
    assert any("1 photos with feedback could not be decoded" in n for n in data.notes)
