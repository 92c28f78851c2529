"""One module says where every lake file lives."""

from __future__ import annotations

from pathlib import Path

from picme.lake import tables as lake
from picme.lake.paths import lake_paths, table_path
from picme.settings import get_settings


def test_every_lake_file_has_one_path(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "home")
    paths = lake_paths(settings)
    root = settings.lake_dir
    assert paths.posts == root / "posts" / "posts.parquet"
    assert paths.observations_dir == root / "post_observations"
    assert paths.profiles == root / "profiles" / "profiles.parquet"
    assert paths.media == root / "media" / "media.parquet"
    assert paths.image_features == root / "image_features" / "image_features.parquet"
    assert paths.training_dir == root / "training"
    assert paths.training == root / "training" / "training.parquet"
    assert paths.pairs == root / "training" / "pairs.parquet"
    assert paths.exclusions == root / "training" / "exclusions.parquet"
    assert paths.split == root / "training" / "split.json"
    assert paths.ingest_lock == root / ".ingest.lock"
    assert paths.duckdb == settings.duckdb_path
    # The tables module reads and writes where the paths module says.
    for name in ("posts", "post_observations", "profiles", "media", "training", "pairs"):
        assert lake.table_path(settings, name) == table_path(settings, name) == paths.table(name)
