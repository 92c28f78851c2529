"""The build's steps: the queries of ``sql/`` run in order, each one materialised as a
temporary table that the later ones read.

The account split is the one step done in Python: ``sql/photo_links.sql`` finds the posts
that show the same photo, and :func:`picme.dataset.splits.plan_split` places whole account
groups (or photo clusters) so that nothing crosses a split (see that module). The
``near_duplicates`` step after it then finds nothing to drop for the account split; it still
guards the time split, whose cut-off can fall between two copies of a photo.

docs/features.md shows how to run them one by one (``run_steps(..., until=...)``) to look
at an intermediate table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from picme.dataset.splits import SplitPlan, plan_split
from picme.dataset.sql import connect, create_table
from picme.settings import Settings

if TYPE_CHECKING:
    import duckdb


#: The step computed in Python (from the ``links`` table) rather than by a query.
GROUP_SPLIT = "group_split"


def steps(split: str) -> list[tuple[str, str]]:
    """(table, query) in build order: each query reads the tables made before it."""
    return [
        ("checked", "checks"),
        ("labelled", "labels"),
        ("metadata", "metadata"),
        ("links", "photo_links"),
        ("assignment", GROUP_SPLIT if split == "account" else f"split_{split}"),
        ("dropped", "near_duplicates"),
        ("training", "training"),
        ("exclusions", "exclusions"),
        ("pairs", "pairs"),
    ]


# Tables only later steps read: dropped once exclusions.sql has read them.
_INTERMEDIATE = ("checked", "labelled", "metadata", "links", "assignment", "dropped")


def run_steps(
    con: duckdb.DuckDBPyConnection,
    params: Mapping[str, Any],
    split: str,
    *,
    until: str | None = None,
    timings: dict[str, float] | None = None,
    keep_intermediate: bool = True,
) -> SplitPlan | None:
    """Create the build's temporary tables in ``con`` (which holds posts, media,
    image_features and profiles), stopping after table ``until`` when given. With
    ``keep_intermediate=False`` the tables only later steps read are dropped as soon as
    the last of those steps has run, which lowers the peak memory of the pairs step.
    Returns the account split's plan (its guarantee and notes), None for the time split."""
    plan = None
    for table, query in steps(split):
        t0 = time.perf_counter()
        if query == GROUP_SPLIT:
            plan = assign_groups(con, params)
        else:
            create_table(con, table, query, params)
        if timings is not None:
            timings[table] = round(time.perf_counter() - t0, 4)
        if table == "exclusions" and not keep_intermediate:
            for name in _INTERMEDIATE:
                con.execute(f"DROP TABLE {name}")
        if table == until:
            break
    return plan


def assign_groups(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> SplitPlan:
    """The ``assignment`` table of the account split: usable posts placed by account group,
    with no photo or near-duplicate on two sides."""
    rows = con.execute(
        "SELECT shortcode, owner_username FROM labelled WHERE reason IS NULL ORDER BY shortcode"
    ).fetchall()
    codes = [r[0] for r in rows]
    pos = {c: i for i, c in enumerate(codes)}
    links = con.execute("SELECT shortcode_a, shortcode_b FROM links").fetchall()
    a = np.array([pos[x] for x, _ in links], np.int64)
    b = np.array([pos[y] for _, y in links], np.int64)
    plan = plan_split(
        [r[1] for r in rows],
        a,
        b,
        test_fraction=float(params["test_fraction"]),
        val_fraction=float(params["val_fraction"]),
        seed=int(params["seed"]),
    )
    table = pa.table({"shortcode": codes, "split": [str(s) for s in plan.split]})
    con.register("assignment_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE assignment AS SELECT * FROM assignment_arrow")
    con.unregister("assignment_arrow")
    return plan


def build_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection of a build: one thread per worker."""
    # Spill to the cache, not to a .tmp folder in whatever directory the user is in.
    return connect(threads=settings.n_workers(), temp_directory=settings.cache_dir / "duckdb-tmp")
