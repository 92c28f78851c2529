"""A generated training table whose likes follow one image feature and, when asked, one
posting hour (UTC): what ``picme suggest`` must recover, or must not invent."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from picme.dataset.contract import METADATA_COLUMNS
from picme.features.extractors import FEATURE_COLUMNS
from picme.settings import Settings


def planted_table(
    home: Path,
    *,
    best_hour: int | None,
    lift: float = 1.0,
    accounts: int = 8,
    posts: int = 80,
    seed: int = 0,
) -> pd.DataFrame:
    """Write ``home/lake/training/training.parquet`` (and an empty pairs.parquet): posts at
    every hour alike; ``log_likes`` = account level + 0.5 * sharpness (standardised) +
    ``lift`` at ``best_hour`` + noise. The first account is ``me``."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    rows = []
    for a in range(accounts):
        user = "me" if a == 0 else f"acct{a}"
        followers = int(rng.integers(2_000, 50_000))
        level = np.log(followers * 0.05)
        for i in range(posts):
            taken = start + timedelta(
                days=float(rng.uniform(0, 150)), hours=int(rng.integers(0, 24))
            )
            row = {c: float(rng.normal()) for c in [*METADATA_COLUMNS, *FEATURE_COLUMNS]}
            row.update(hour=float(taken.hour), weekday=float(taken.weekday()))
            row["log_followers"] = float(np.log1p(followers))
            planted = lift if best_hour is not None and taken.hour == best_hour else 0.0
            log_likes = level + 0.5 * row["sharpness"] + planted + rng.normal(0, 0.35)
            row.update(
                shortcode=f"P{a}x{i}", owner_username=user, taken_at=taken, image_path="",
                likes=int(round(np.exp(log_likes))), followers=followers,
                log_likes=float(log_likes), split=("test" if a >= accounts - 2 else "train"),
            )  # fmt: skip
            rows.append(row)
    frame = pd.DataFrame(rows)
    out = home / "lake" / "training"
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out / "training.parquet")
    pairs = pd.DataFrame(
        {c: pd.Series(dtype="object") for c in ["owner_username", "shortcode_a", "shortcode_b"]}
    ).assign(target=pd.Series(dtype="int64"), split=pd.Series(dtype="object"))
    pq.write_table(pa.Table.from_pandas(pairs, preserve_index=False), out / "pairs.parquet")
    return frame


def candidate_photos(folder: Path, n: int = 2, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
        path = folder / f"candidate_{i}.jpg"
        Image.fromarray(img).save(path, quality=90)
        out.append(path)
    return out


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
    with tempfile.TemporaryDirectory() as work, mlflow.start_run(run_id=run.info.run_id):
        version = log_model(fitted, settings, Path(work), register=True)
    assert version is not None
    c.set_registered_model_alias(settings.model_name, CHAMPION, version)
    return version
