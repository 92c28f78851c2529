"""The CLI's early input checks judge a lake on disk, never an object-store lake's mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

from picme.cli.checks import need_lake, need_training_table
from picme.errors import InputError
from picme.settings import get_settings


def test_a_lake_on_disk_that_was_never_made_fails_early(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "home")
    with pytest.raises(InputError, match="run `picme ingest` first"):
        need_lake(settings)
    with pytest.raises(InputError, match="no training table yet"):
        need_training_table(settings)


def test_an_empty_mirror_of_an_object_store_lake_is_left_to_the_stage(tmp_path: Path) -> None:
    # A fresh worker has no mirror yet; the bucket may hold the whole lake. The stages
    # pull it first and then raise the same lines when a table really is missing.
    settings = get_settings(home=tmp_path / "home", lake_uri="s3://picme-lake/team")
    assert not settings.lake_dir.exists()
    need_lake(settings)
    need_training_table(settings)
