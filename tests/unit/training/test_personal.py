"""``picme train --personal`` without a general champion: random feedback is not promoted
and says why; a model that is not a tabular ranker is refused. (A planted preference,
beside a general champion: tests/integration/test_personal.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from picme.cli.app import app
from picme.scoring.api import load_scorer
from picme.scoring.personal import PERSONAL_MODEL, PersonalScorer
from picme.settings import Settings
from tests.trainingdata import seed_tracking_store
from tests.unit.training.personal_feedback import make_albums


@pytest.mark.slow
def test_random_feedback_is_not_promoted(picme_home: Path, tmp_path: Path) -> None:
    seed_tracking_store(picme_home)
    make_albums(Settings(), tmp_path / "albums", albums=3, photos=30, seed=5, planted=False)
    out = CliRunner().invoke(app, ["train", "--personal"])
    assert out.exit_code == 0, out.output
    assert "personal ranker on top of heuristic" in out.output
    assert f"registered {PERSONAL_MODEL} version 1 as challenger" in out.output
    assert "challenger: does not beat" in out.output
    assert "held out by album: 1 albums, 4 blocks of up to 8 photos, 30 photos" in out.output
    assert not isinstance(load_scorer(None, Settings()), PersonalScorer)


def test_unknown_model_is_refused(picme_home: Path) -> None:
    out = CliRunner().invoke(app, ["train", "--personal", "--model", "seed-cnn"])
    assert out.exit_code == 2
    assert "--personal trains a tabular ranker" in out.output
