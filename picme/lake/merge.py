"""Merging one ingest's rows into the lake's tables, as DuckDB joins over Arrow tables.

Each merge keeps what the lake holds and adds or updates only what the raw files say anew:

- profiles: new snapshots, deduplicated on (username, observed_at) against the stored ones;
- followers: the owner's count as of an observation (the latest snapshot at or before it,
  else the earliest one), for post files that carry none;
- media: one row per image of an ingested post, rewritten only when it changed;
- post_observations: every observation not stored yet, on (shortcode, observed_at);
- posts: per post, the latest download describes it and the latest observation gives its
  likes; on a tie the stored row wins, so re-ingesting an unchanged tree changes nothing.

Rows come in with an ``ord`` column (their order in the run), so "the first one wins" means
the same here as it did in the scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from picme.lake import tables as lake

# Post columns that change with each observation; the others describe the post itself.
DYNAMIC = (
    "observed_at",
    "likes",
    "likes_raw",
    "likes_hidden",
    "comments",
    "followers",
    "video_view_count",
)
STATIC = tuple(c for c in lake.POSTS_SCHEMA.names if c not in DYNAMIC)
MEDIA_CHECK = ("sha256", "width", "height", "decodable", "error", "size_bytes", "mtime_ns")

# The schema of the static part of a post, plus when that download was observed.
STATICS_SCHEMA = pa.schema(
    [lake.POSTS_SCHEMA.field(c) for c in STATIC]
    + [("seen_at", lake.POSTS_SCHEMA.field("observed_at").type)]
)
INSPECTED_SCHEMA = pa.schema(
    [lake.MEDIA_SCHEMA.field("path")] + [lake.MEDIA_SCHEMA.field(c) for c in MEDIA_CHECK]
)
CANDIDATES_SCHEMA = pa.schema([lake.MEDIA_SCHEMA.field(c) for c in ("path", "shortcode", "idx")])


def numbered(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """``rows`` as an Arrow table of ``schema``, with their position as ``ord``."""
    table = pa.Table.from_pylist(list(rows), schema=schema)
    return table.append_column("ord", pa.array(range(table.num_rows), pa.int64()))


def _cols(names: Sequence[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in names)


def _differs(names: Sequence[str], left: str, right: str) -> str:
    return " OR ".join(f'{left}."{c}" IS DISTINCT FROM {right}."{c}"' for c in names)


@dataclass
class MediaMerge:
    table: pa.Table | None  # the whole media table, when any row changed
    changed: int
    unreadable: int  # changed rows whose image does not decode
    info: dict[str, tuple[bool, str | None]]  # (decodable, error) of every candidate path


@dataclass
class PostsMerge:
    table: pa.Table | None  # the whole posts table, when any post is new or changed
    new: int
    updated: int


class Merger:
    """A DuckDB connection holding the lake's current tables as ``old_<table>``."""

    def __init__(self, existing: dict[str, pa.Table]) -> None:
        self.con = duckdb.connect()
        # Timestamps are compared and returned in UTC whatever the machine's zone.
        self._do("SET TimeZone = 'UTC'")
        self._keep: list[pa.Table] = []
        for name, table in existing.items():
            self._register(f"old_{name}", table)
        observations = existing["post_observations"]
        self._register(
            "old_obs",
            observations.append_column("ord", pa.array(range(observations.num_rows), pa.int64())),
        )

    def _register(self, name: str, table: pa.Table) -> None:
        self._keep.append(table)
        self.con.register(name, table)

    def __enter__(self) -> Merger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.con.close()

    def _do(self, sql: str) -> None:
        self.con.execute(sql).complete()

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def _arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    # ------------------------------------------------------------------ profiles

    def profiles(self, rows: Sequence[dict[str, Any]]) -> tuple[pa.Table, int]:
        """Every profile snapshot after this run, sorted, and how many are new."""
        self._register("run_profiles", numbered(rows, lake.PROFILES_SCHEMA))
        names = lake.PROFILES_SCHEMA.names
        self._do(
            f"""
            CREATE OR REPLACE TEMP TABLE new_profiles AS
            WITH firsts AS (
                SELECT * FROM run_profiles
                QUALIFY row_number() OVER (PARTITION BY username, observed_at ORDER BY ord) = 1
            )
            SELECT {_cols(names)} FROM firsts
            ANTI JOIN old_profiles USING (username, observed_at)
            """
        )
        n_new = self._count("new_profiles")
        table = self._arrow(
            f"""
            SELECT {_cols(names)} FROM old_profiles
            UNION ALL SELECT {_cols(names)} FROM new_profiles
            ORDER BY username, observed_at
            """
        )
        self._register("all_profiles", table)
        return table, n_new

    def followers_asof(self, wanted: Sequence[tuple[str, datetime]]) -> list[int | None]:
        """For each (owner, time): the owner's followers in the latest snapshot at or before
        that time, else in the earliest snapshot; None without any. Needs profiles() first."""
        need = numbered(
            [{"owner": o, "at": t} for o, t in wanted],
            pa.schema(
                [("owner", pa.string()), ("at", lake.PROFILES_SCHEMA.field("observed_at").type)]
            ),
        )
        self._register("need_followers", need)
        rows = self._rows(
            """
            WITH series AS (
                SELECT username, observed_at, followers FROM all_profiles
                WHERE followers IS NOT NULL AND observed_at IS NOT NULL
            ),
            -- Two snapshots of one moment: the larger count at or before, the smaller first.
            latest AS (
                SELECT username, observed_at, max(followers) AS followers
                FROM series GROUP BY ALL
            ),
            earliest AS (
                SELECT username, arg_min(followers, observed_at) AS followers
                FROM (SELECT username, observed_at, min(followers) AS followers
                      FROM series GROUP BY ALL)
                GROUP BY username
            )
            SELECT coalesce(a.followers, e.followers)
            FROM need_followers n
            ASOF LEFT JOIN latest a ON a.username = lower(n.owner) AND n.at >= a.observed_at
            LEFT JOIN earliest e ON e.username = lower(n.owner)
            ORDER BY n.ord
            """
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ media

    def media(
        self, candidates: Sequence[dict[str, Any]], inspected: Sequence[dict[str, Any]]
    ) -> MediaMerge:
        """Rows of the images of this run's posts: a fresh check where the file was checked
        now, else the stored row; a file neither checked nor stored has vanished."""
        self._register("media_candidates", numbered(candidates, CANDIDATES_SCHEMA))
        self._register("media_inspected", pa.Table.from_pylist(list(inspected), INSPECTED_SCHEMA))
        names = lake.MEDIA_SCHEMA.names
        checks = ", ".join(
            f'CASE WHEN i.path IS NOT NULL THEN i."{c}" ELSE m."{c}" END AS "{c}"'
            for c in MEDIA_CHECK
        )
        self._do(
            f"""
            CREATE OR REPLACE TEMP TABLE media_rows AS
            WITH c AS (
                -- An image claimed twice: the later claim describes it.
                SELECT * FROM media_candidates
                QUALIFY row_number() OVER (PARTITION BY path ORDER BY ord DESC) = 1
            ),
            r AS (
                SELECT c.path, c.shortcode, c.idx, {checks}
                FROM c
                LEFT JOIN media_inspected i ON i.path = c.path
                LEFT JOIN old_media m ON m.path = c.path
                WHERE i.path IS NOT NULL OR m.path IS NOT NULL
            )
            SELECT r.*, (m.path IS NULL OR {_differs(names, "r", "m")}) AS changed
            FROM r LEFT JOIN old_media m ON m.path = r.path
            """
        )
        ((changed, unreadable),) = self._rows(
            "SELECT count(*) FILTER (changed), count(*) FILTER (changed AND NOT decodable) "
            "FROM media_rows"
        )
        info = {
            path: (bool(decodable), error)
            for path, decodable, error in self._rows(
                "SELECT path, decodable, error FROM media_rows"
            )
        }
        table = None
        if changed:
            table = self._arrow(
                f"""
                SELECT {_cols(names)} FROM old_media
                ANTI JOIN (SELECT path FROM media_rows WHERE changed) USING (path)
                UNION ALL SELECT {_cols(names)} FROM media_rows WHERE changed
                ORDER BY path
                """
            )
        return MediaMerge(table, int(changed), int(unreadable), info)

    # ------------------------------------------------------------------ observations, posts

    def observations(self, rows: Sequence[dict[str, Any]]) -> pa.Table:
        """This run's observations not stored yet, sorted (the part file to append)."""
        self._register("run_obs", numbered(rows, lake.OBSERVATIONS_SCHEMA))
        return self._arrow(
            f"""
            WITH firsts AS (
                SELECT * FROM run_obs
                QUALIFY row_number() OVER (PARTITION BY shortcode, observed_at ORDER BY ord) = 1
            )
            SELECT {_cols(lake.OBSERVATIONS_SCHEMA.names)} FROM firsts
            ANTI JOIN old_obs USING (shortcode, observed_at)
            ORDER BY shortcode, observed_at
            """
        )

    def posts(self, statics: Sequence[dict[str, Any]]) -> PostsMerge:
        """The posts table after this run. Needs observations() first.

        A post is looked at again when this run downloaded or observed it, or when a stored
        observation is newer than its row (a run that died after writing observations)."""
        self._register("run_statics", numbered(statics, STATICS_SCHEMA))
        names = lake.POSTS_SCHEMA.names
        base = ", ".join(
            f'CASE WHEN s.shortcode IS NOT NULL THEN s."{c}" ELSE p."{c}" END AS "{c}"'
            for c in STATIC
        )
        self._do(
            f"""
            CREATE OR REPLACE TEMP TABLE merged_posts AS
            WITH s AS (
                -- The same post downloaded into two targets: the latest download wins.
                SELECT * FROM run_statics
                QUALIFY row_number() OVER (PARTITION BY shortcode ORDER BY seen_at DESC, ord) = 1
            ),
            stored AS (
                SELECT * FROM old_obs
                QUALIFY row_number() OVER (
                    PARTITION BY shortcode ORDER BY observed_at DESC NULLS LAST, ord) = 1
            ),
            todo AS (
                SELECT shortcode FROM s
                UNION SELECT shortcode FROM run_obs
                UNION SELECT p.shortcode FROM old_posts p JOIN stored o USING (shortcode)
                      WHERE o.observed_at > p.observed_at
            ),
            -- Ties: the stored post row first, then this run's observations, then stored ones.
            candidates AS (
                SELECT shortcode, {_cols(DYNAMIC)}, 0 AS rank, 0 AS ord
                FROM old_posts WHERE observed_at IS NOT NULL
                UNION ALL SELECT shortcode, {_cols(DYNAMIC)}, 1, ord FROM run_obs
                UNION ALL SELECT shortcode, {_cols(DYNAMIC)}, 2, 0 FROM stored
            ),
            latest AS (
                SELECT * FROM candidates
                WHERE shortcode IN (SELECT shortcode FROM todo)
                QUALIFY row_number() OVER (
                    PARTITION BY shortcode ORDER BY observed_at DESC NULLS LAST, rank, ord) = 1
            ),
            merged AS (
                SELECT {base}, {_cols(DYNAMIC, "l")}
                FROM todo t
                JOIN latest l ON l.shortcode = t.shortcode
                LEFT JOIN s ON s.shortcode = t.shortcode
                LEFT JOIN old_posts p ON p.shortcode = t.shortcode
                WHERE s.shortcode IS NOT NULL OR p.shortcode IS NOT NULL
            )
            SELECT {_cols(names, "m")},
                CASE WHEN p.shortcode IS NULL THEN 'new'
                     WHEN {_differs(names, "m", "p")} THEN 'updated'
                     ELSE 'same' END AS change
            FROM merged m LEFT JOIN old_posts p ON p.shortcode = m.shortcode
            """
        )
        ((new, updated),) = self._rows(
            "SELECT count(*) FILTER (change = 'new'), count(*) FILTER (change = 'updated') "
            "FROM merged_posts"
        )
        table = None
        if new or updated:
            table = self._arrow(
                f"""
                SELECT {_cols(names)} FROM old_posts
                ANTI JOIN (SELECT shortcode FROM merged_posts WHERE change <> 'same')
                    USING (shortcode)
                UNION ALL SELECT {_cols(names)} FROM merged_posts WHERE change <> 'same'
                ORDER BY owner_username, taken_at, shortcode
                """
            )
        return PostsMerge(table, int(new), int(updated))

    def _count(self, table: str) -> int:
        ((n,),) = self._rows(f"SELECT count(*) FROM {table}")
        return int(n)
