"""The features flow on a local Dask cluster of two worker processes gives the same
tables as the default runner (a local process pool)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with raw data and an ingested lake, made without Prefect."""
    from picme.lake.ingest import ingest_raw
    from picme.settings import get_settings
    from picme.synthetic.instagram import generate_sample

    home = tmp_path_factory.mktemp("dask") / "base"
    settings = get_settings(home=home, workers=1)
    generate_sample(settings.raw_dir, n_accounts=4, posts_per_account=12, seed=3, image_size=64)
    ingest_raw([settings.raw_dir], settings=settings)
    return home


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def _clone(base: Path, name: str) -> Path:
    # The lake stores absolute image paths under base/raw: both clones read the same files.
    target = base.parent / name
    shutil.copytree(base / "lake", target / "lake")
    return target


def _table(path: Path, key: str, drop: tuple[str, ...] = ()) -> list[dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table = table.drop_columns([c for c in drop if c in table.column_names])
    return sorted(table.to_pylist(), key=lambda row: row[key])


def test_dask_runner_gives_the_default_runners_tables(
    lake: Path, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.features import features_flow

    monkeypatch.setenv("PICME_WORKERS", "2")
    local_home, dask_home = _clone(lake, "local"), _clone(lake, "dask")
    with prefect_test_harness(server_startup_timeout=180):
        local = features_flow(home=str(local_home))
        on_dask = features_flow(home=str(dask_home), dask_address=cluster, batch_size=8)

    assert local.image_features.engine == "processes"
    assert on_dask.image_features.engine == "dask"
    n = local.image_features.n_new
    assert n > 8 and on_dask.image_features.n_new == n  # several batches went out

    features = Path("lake/image_features/image_features.parquet")
    got = _table(dask_home / features, "sha256", drop=("computed_at",))
    want = _table(local_home / features, "sha256", drop=("computed_at",))
    assert got == want

    training = Path("lake/training/training.parquet")
    assert _table(dask_home / training, "shortcode") == _table(local_home / training, "shortcode")
    assert on_dask.training.fingerprint == local.training.fingerprint
