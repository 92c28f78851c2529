"""The personal ranker beside a general champion: feedback with a planted preference (the
person keeps colourful photos and rejects grey ones, however sharp) is learned, beats the
general champion and the heuristic on held-out albums, is promoted as picme-personal, and
``picme curate`` then uses it and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from picme.curate.run import curate_album
from picme.scoring.api import load_scorer
from picme.scoring.personal import PersonalScorer
from picme.settings import Settings
from picme.training.config import TrainConfig
from picme.training.personal import train_personal
from tests.trainingdata import make_training_data
from tests.unit.suggest.planted import register_champion
from tests.unit.training.personal_feedback import make_albums, photo

pytestmark = pytest.mark.slow


def test_planted_preference_beats_the_champion_and_curate_uses_it(
    picme_home: Path, tmp_path: Path
) -> None:
    make_training_data(picme_home, n_accounts=6, posts=20, image_size=64)
    general = register_champion(picme_home)
    settings = Settings()
    albums = make_albums(settings, tmp_path / "albums", albums=4, photos=30, seed=3)

    result = train_personal(TrainConfig(personal=True, seed=0), settings)
    summary = result.summary()
    assert result.promoted, summary
    assert f"on top of models:/picme-scorer/{general}" in summary
    assert result.gate is not None
    refs = {c.reference: c for c in result.gate.comparisons}
    assert set(refs) == {f"general models:/picme-scorer/{general}", "heuristic", "random"}
    beaten = refs[f"general models:/picme-scorer/{general}"]
    assert beaten.wins and beaten.low > 0 and beaten.n_accounts >= 6
    m = result.metrics
    assert m["personal/pairwise_acc"] > m["personal/base_pairwise_acc"] + 0.1

    scorer = load_scorer(None, settings)
    assert isinstance(scorer, PersonalScorer) and scorer.version == result.version
    rng = np.random.default_rng(9)
    scores = scorer.score_images([photo(s, 0.9, rng) for s in (0.1, 0.9, 0.2, 0.8)])
    assert set(np.argsort(-scores)[:2]) == {1, 3}  # the colourful ones first

    curated = curate_album(albums[0], top=5, workers=1, settings=settings, progress=False)
    assert curated.scorer_name == "picme-personal:linear-pairwise"
    assert f"using your personal ranker picme-personal version {result.version}" in (
        curated.summary()
    )
