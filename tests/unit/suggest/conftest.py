from __future__ import annotations

from pathlib import Path

import pytest

from picme.settings import Settings


def register_champion(home: Path) -> str:
    """Fit the ranker on the table's training rows and register it as the champion (the
    gate is not what these tests are about); returns its version."""
    import mlflow

    from picme.models.table import load_training_set
    from picme.registry.tracking import CHAMPION, client, ensure_experiment
    from picme.training.tabular import fit_tabular, log_model
    from tests.trainingdata import seed_tracking_store

    seed_tracking_store(home)
    settings = Settings()
    frame, pairs = load_training_set(settings)
    fitted = fit_tabular("ranker", frame, pairs, seed=0)
    c = client(settings)
    run = c.create_run(ensure_experiment(settings))
    with mlflow.start_run(run_id=run.info.run_id):
        version = log_model(fitted, settings, home / "work", register=True)
    assert version is not None
    c.set_registered_model_alias(settings.model_name, CHAMPION, version)
    return version


@pytest.fixture
def settings(picme_home: Path) -> Settings:
    (picme_home / "work").mkdir()
    return Settings()
