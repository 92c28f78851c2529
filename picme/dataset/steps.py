"""The build's steps: the queries of ``sql/`` run in order, each one materialised as a
temporary table that the later ones read.

docs/features.md shows how to run them one by one (``run_steps(..., until=...)``) to look
at an intermediate table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from picme.dataset.sql import connect, create_table
from picme.settings import Settings

if TYPE_CHECKING:
    import duckdb


def steps(split: str) -> list[tuple[str, str]]:
    """(table, query) in build order: each query reads the tables made before it."""
    return [
        ("checked", "checks"),
        ("labelled", "labels"),
        ("metadata", "metadata"),
        ("assignment", f"split_{split}"),
        ("dropped", "near_duplicates"),
        ("training", "training"),
        ("exclusions", "exclusions"),
        ("pairs", "pairs"),
    ]


# Tables only later steps read: dropped once exclusions.sql has read them.
_INTERMEDIATE = ("checked", "labelled", "metadata", "assignment", "dropped")


def run_steps(
    con: duckdb.DuckDBPyConnection,
    params: Mapping[str, Any],
    split: str,
    *,
    until: str | None = None,
    timings: dict[str, float] | None = None,
    keep_intermediate: bool = True,
) -> None:
    """Create the build's temporary tables in ``con`` (which holds posts, media,
    image_features and profiles), stopping after table ``until`` when given. With
    ``keep_intermediate=False`` the tables only later steps read are dropped as soon as
    the last of those steps has run, which lowers the peak memory of the pairs step."""
    for table, query in steps(split):
        t0 = time.perf_counter()
        create_table(con, table, query, params)
        if timings is not None:
            timings[table] = round(time.perf_counter() - t0, 4)
        if table == "exclusions" and not keep_intermediate:
            for name in _INTERMEDIATE:
                con.execute(f"DROP TABLE {name}")
        if table == until:
            return


def build_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection of a build: one thread per worker."""
    # Spill to the cache, not to a .tmp folder in whatever directory the user is in.
    return connect(threads=settings.n_workers(), temp_directory=settings.cache_dir / "duckdb-tmp")
