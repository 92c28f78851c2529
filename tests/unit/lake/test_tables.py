"""Lake tables: paths, schemas, atomic single-file tables and append-only parts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from picme.lake import tables as lake
from picme.settings import get_settings


def obs_rows(n: int, likes: int = 10) -> pa.Table:
    rows = [
        {
            "shortcode": f"S{i}",
            "owner_username": "alice",
            "observed_at": datetime(2026, 1, 1, i, tzinfo=UTC),
            "likes": likes + i,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows)


def test_absent_tables_read_as_none(picme_home: Path) -> None:
    settings = get_settings()
    for name in ("posts", "post_observations", "profiles", "media", "image_features"):
        assert lake.read_table(settings, name) is None


def test_write_conforms_to_schema_and_reads_back(picme_home: Path) -> None:
    settings = get_settings()
    partial = pa.table({"shortcode": ["A"], "likes": [5], "not_a_column": ["x"]})
    path = lake.write_table(settings, "posts", partial)
    assert path == settings.lake_dir / "posts" / "posts.parquet"
    table = lake.read_table(settings, "posts")
    assert table is not None
    assert table.schema.equals(lake.POSTS_SCHEMA)
    row = table.to_pylist()[0]
    assert row["shortcode"] == "A" and row["likes"] == 5 and row["caption"] is None
    assert table.schema.field("taken_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("hashtags").type == pa.list_(pa.string())
    # Readable by other users as any file the user creates would be.
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_append_part_is_content_addressed(picme_home: Path) -> None:
    settings = get_settings()
    first = lake.append_part(settings, "post_observations", obs_rows(3))
    same = lake.append_part(settings, "post_observations", obs_rows(3))
    other = lake.append_part(settings, "post_observations", obs_rows(2, likes=99).slice(1))
    assert first is not None and first == same and other is not None and other != first
    assert lake.table_files(settings, "post_observations") == sorted([first, other])
    assert lake.append_part(settings, "post_observations", obs_rows(0)) is None
    table = lake.read_table(settings, "post_observations")
    assert table is not None and table.num_rows == 4
    assert table.schema.equals(lake.OBSERVATIONS_SCHEMA)


def test_temporary_files_are_not_part_of_a_table(picme_home: Path) -> None:
    settings = get_settings()
    lake.append_part(settings, "post_observations", obs_rows(1))
    folder = lake.table_path(settings, "post_observations")
    (folder / ".part-x.parquet.abc.tmp").write_bytes(b"half")
    (folder / ".hidden.parquet").write_bytes(b"half")
    assert len(lake.table_files(settings, "post_observations")) == 1
    table = lake.read_table(settings, "post_observations")
    assert table is not None and table.num_rows == 1


def test_wrong_table_kind_is_refused(picme_home: Path) -> None:
    settings = get_settings()
    with pytest.raises(ValueError):
        lake.write_table(settings, "post_observations", obs_rows(1))
    with pytest.raises(ValueError):
        lake.append_part(settings, "posts", obs_rows(1))


def test_other_modules_tables_have_paths(picme_home: Path) -> None:
    settings = get_settings()
    assert lake.table_path(settings, "image_features") == (
        settings.lake_dir / "image_features" / "image_features.parquet"
    )
    assert lake.table_path(settings, "pairs") == settings.lake_dir / "training" / "pairs.parquet"
    lake.write_table(settings, "pairs", pa.table({"shortcode_a": ["A"], "target": [1]}))
    pairs = lake.read_table(settings, "pairs")
    assert pairs is not None and pairs.column_names == ["shortcode_a", "target"]


def test_a_damaged_lake_file_is_a_clear_error(picme_home: Path) -> None:
    from picme.errors import InputError

    settings = get_settings()
    path = lake.write_table(settings, "posts", pa.table({"shortcode": ["A"]}))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(InputError, match=r"posts\.parquet: cannot read this lake file"):
        lake.read_table(settings, "posts")
