"""The training table: labels, metadata features, exclusions, ranking pairs and leak-free
splits, computed by the DuckDB queries in ``sql/`` over the lake's Parquet files.

``build_training_table(settings)`` reads ``lake/posts``, ``lake/media`` and
``lake/image_features`` and writes, all or nothing, under ``lake/training/``:
``training.parquet``, ``pairs.parquet``, ``exclusions.parquet`` and ``split.json``; then
it points views in ``picme.duckdb`` at the lake. docs/features.md explains every column
and rule; the queries are the reference.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import InputError, PicmeError
from picme.features.extractors import FEATURE_COLUMNS
from picme.settings import Settings
from picme.util.atomic import atomic_path

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Numeric metadata known before posting, all DOUBLE, in the table's column order
#: (computed by sql/metadata.sql; docs/features.md gives each one's meaning and range).
METADATA_COLUMNS: list[str] = [
    "hour",
    "weekday",
    "caption_len",
    "n_hashtags",
    "n_mentions",
    "n_tagged",
    "is_carousel",
    "n_images",
    "is_sponsored",
    "has_location",
    "size_bucket",
    "log_followers",
]

#: Columns before METADATA_COLUMNS and FEATURE_COLUMNS in training.parquet.
BASE_COLUMNS: list[str] = [
    "shortcode",
    "owner_username",
    "taken_at",
    "image_path",
    "sha256",
    "likes",
    "followers",
    "engagement",
    "log_engagement",
    "label",
    "log_likes",
    "baseline_log_likes",
    "rel_log_likes",
    "label_rel",
    "split",
]
PAIR_COLUMNS: list[str] = ["owner_username", "shortcode_a", "shortcode_b", "target", "split"]
SPLITS = ("train", "val", "test")
SPLIT_STRATEGIES = ("account", "time")

#: A post needs this many earlier posts for a baseline (capped by settings.baseline_window).
BASELINE_MIN_POSTS = 3
#: Perceptual hashes at most this many bits apart are the same picture for the split.
NEAR_DUPLICATE_BITS = 4
#: A post is paired with at most this many following posts of its account.
PAIR_NEIGHBOURS = 50

# Exclusion reasons in the order the queries test them (docs/features.md explains each).
REASONS: tuple[str, ...] = (
    "missing_shortcode",
    "duplicate_shortcode",
    "missing_owner",
    "invalid_taken_at",
    "invalid_observed_at",
    "invalid_followers",
    "negative_likes",
    "hidden_likes",
    "unsettled",
    "video",
    "no_image",
    "undecodable_image",
    "no_image_features",
    "no_baseline",
    "few_posts",
    "same_image_across_splits",
    "near_duplicate_across_splits",
)

# Input columns: family, DuckDB type, required. Optional columns missing from a file are
# read as NULL (and said so in the report), so an older lake still builds.
_STRING, _TIME, _NUMBER, _BOOL, _LIST, _ANY = "text", "timestamp", "number", "bool", "list", "any"
_POSTS_SCHEMA: dict[str, tuple[str, str, bool]] = {
    "shortcode": (_STRING, "VARCHAR", True),
    "owner_username": (_STRING, "VARCHAR", True),
    "taken_at": (_TIME, "TIMESTAMPTZ", True),
    "likes": (_NUMBER, "BIGINT", True),
    "followers": (_NUMBER, "BIGINT", True),
    "image_path": (_STRING, "VARCHAR", True),
    "observed_at": (_TIME, "TIMESTAMPTZ", False),
    "caption": (_STRING, "VARCHAR", False),
    "hashtags": (_LIST, "VARCHAR[]", False),
    "mentions": (_LIST, "VARCHAR[]", False),
    "tagged_users": (_LIST, "VARCHAR[]", False),
    "typename": (_STRING, "VARCHAR", False),
    "is_video": (_BOOL, "BOOLEAN", False),
    "is_sponsored": (_BOOL, "BOOLEAN", False),
    "location": (_ANY, "VARCHAR", False),
    "n_images": (_NUMBER, "BIGINT", False),
}
_MEDIA_SCHEMA: dict[str, tuple[str, str, bool]] = {
    "path": (_STRING, "VARCHAR", True),
    "sha256": (_STRING, "VARCHAR", True),
    "decodable": (_BOOL, "BOOLEAN", False),
}


_PROFILES_SCHEMA: dict[str, tuple[str, str, bool]] = {
    "username": (_STRING, "VARCHAR", True),
    "observed_at": (_TIME, "TIMESTAMPTZ", True),
    "followers": (_NUMBER, "BIGINT", True),
}


def _features_schema() -> dict[str, tuple[str, str, bool]]:
    schema: dict[str, tuple[str, str, bool]] = {
        "sha256": (_STRING, "VARCHAR", True),
        "decodable": (_BOOL, "BOOLEAN", False),
        "phash_int": (_NUMBER, "BIGINT", False),
    }
    for col in FEATURE_COLUMNS:
        schema[col] = (_NUMBER, "DOUBLE", True)
    return schema


# Columns whose null rate the report shows (data checks).
_NULL_RATE_COLUMNS = (
    "shortcode",
    "owner_username",
    "taken_at",
    "observed_at",
    "likes",
    "followers",
    "image_path",
)


def training_dir(settings: Settings) -> Path:
    return settings.lake_dir / "training"


def _input_paths(settings: Settings) -> dict[str, Path]:
    lake = settings.lake_dir
    return {
        "posts": lake / "posts" / "posts.parquet",
        "media": lake / "media" / "media.parquet",
        "image_features": lake / "image_features" / "image_features.parquet",
        "profiles": lake / "profiles" / "profiles.parquet",
    }


def _output_paths(settings: Settings) -> dict[str, Path]:
    out = training_dir(settings)
    return {
        "training": out / "training.parquet",
        "pairs": out / "pairs.parquet",
        "exclusions": out / "exclusions.parquet",
        "split": out / "split.json",
    }


@dataclass
class BuildReport:
    """What a build produced and what it left out, with counts for every reason."""

    rows: int
    accounts: int
    excluded: dict[str, int]
    fingerprint: str
    split: str
    split_rows: dict[str, int] = field(default_factory=dict)
    split_accounts: dict[str, int] = field(default_factory=dict)
    pairs: int = 0
    split_pairs: dict[str, int] = field(default_factory=dict)
    posts_in: int = 0
    null_rates: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    out_dir: Path | None = None
    views_updated: bool = False

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded.values())

    def summary(self) -> str:
        sides = ", ".join(f"{s} {self.split_rows.get(s, 0)}" for s in SPLITS)
        lines = [
            f"training table: {self.rows} rows from {self.accounts} accounts "
            f"({sides}; split by {self.split}), {self.pairs} ranking pairs",
            f"posts read: {self.posts_in}; excluded: {self.n_excluded}"
            + (
                " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.excluded.items())) + ")"
                if self.excluded
                else ""
            ),
            f"fingerprint {self.fingerprint[:16]}; written to {self.out_dir}",
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# --------------------------------------------------------------------------- inputs


def _family_ok(family: str, typ: pa.DataType) -> bool:
    import pyarrow as pa

    t = typ
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t) or family == _ANY:
        return True
    if family == _STRING:
        return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or _is_view(t))
    if family == _TIME:
        return bool(pa.types.is_timestamp(t) or pa.types.is_date(t))
    if family == _NUMBER:
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
    if family == _BOOL:
        return bool(pa.types.is_boolean(t) or pa.types.is_integer(t))
    if family == _LIST:
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            v = t.value_type
            return bool(pa.types.is_null(v) or pa.types.is_string(v) or pa.types.is_large_string(v))
        return False
    raise AssertionError(family)  # pragma: no cover


def _is_view(t: pa.DataType) -> bool:
    import pyarrow as pa

    check = getattr(pa.types, "is_string_view", None)
    return bool(check and check(t))


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _input_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    schema: Mapping[str, tuple[str, str, bool]],
    warnings: list[str],
    what_to_run: str,
) -> None:
    """A view ``name`` over ``path`` with the columns of ``schema`` in canonical types;
    a wrong or missing required column is an InputError naming the file and column."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError(f"{path} does not exist: run `{what_to_run}` first")
    try:
        found = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(
            f"{path} is not a readable Parquet file ({exc}); rebuild it with `{what_to_run}`"
        ) from exc
    cols: list[str] = []
    missing_optional: list[str] = []
    for col, (family, sqltype, required) in schema.items():
        if col not in found.names:
            if required:
                raise InputError(
                    f"{path}: column {col!r} is missing (expected {family}); "
                    f"rebuild it with `{what_to_run}`"
                )
            missing_optional.append(col)
            cols.append(f"NULL::{sqltype} AS {col}")
            continue
        typ = found.field(col).type
        if not _family_ok(family, typ):
            raise InputError(
                f"{path}: column {col!r} has type {typ}, expected {family}; "
                f"rebuild it with `{what_to_run}`"
            )
        # TRY_CAST: a number that does not fit (NaN likes, say) becomes NULL and the row's
        # check then excludes and counts it, instead of failing the whole build.
        cols.append(f'TRY_CAST("{col}" AS {sqltype}) AS {col}')
    if missing_optional:
        warnings.append(
            f"{path.name} has no column(s) {', '.join(missing_optional)}: read as empty"
        )
    source = f"read_parquet({_sql_literal(str(path))})"
    body = f"SELECT {', '.join(cols)} FROM {source}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")


def _profiles_view(con: duckdb.DuckDBPyConnection, path: Path, warnings: list[str]) -> None:
    """Profile snapshots only fill missing follower counts, so a missing or odd profiles
    table costs those posts, not the build."""
    if path.is_file():
        try:
            _input_view(con, "profiles", path, _PROFILES_SCHEMA, warnings, "picme ingest")
            return
        except InputError as exc:
            warnings.append(f"profile snapshots not used: {exc}")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW profiles AS SELECT NULL::VARCHAR AS username, "
        "NULL::TIMESTAMPTZ AS observed_at, NULL::BIGINT AS followers LIMIT 0"
    )


# --------------------------------------------------------------------------- the build


def query_parameters(settings: Settings, now: datetime) -> dict[str, Any]:
    """The $parameters of the sql/ queries, from settings (validated: a value out of range
    is an InputError naming the setting)."""
    if settings.split not in SPLIT_STRATEGIES:
        raise InputError(
            f"split {settings.split!r} is unknown: use one of {', '.join(SPLIT_STRATEGIES)} "
            "(PICME_SPLIT or --split)"
        )
    tf, vf = settings.test_fraction, settings.val_fraction
    if not (0 < tf < 1 and 0 <= vf < 1 and tf + vf < 1):
        raise InputError(
            f"test_fraction {tf} and val_fraction {vf} must be fractions with "
            "0 < test, 0 <= val and test + val < 1 (PICME_TEST_FRACTION, PICME_VAL_FRACTION)"
        )
    checks = {
        "baseline_window (PICME_BASELINE_WINDOW)": settings.baseline_window >= 1,
        "min_posts_per_account (PICME_MIN_POSTS_PER_ACCOUNT)": settings.min_posts_per_account >= 1,
        "settle_days (PICME_SETTLE_DAYS)": settings.settle_days >= 0,
        "pair_window_days (PICME_PAIR_WINDOW_DAYS)": settings.pair_window_days > 0,
        "pair_margin (PICME_PAIR_MARGIN)": settings.pair_margin >= 0,
        "engagement_threshold (PICME_ENGAGEMENT_THRESHOLD)": math.isfinite(
            settings.engagement_threshold
        ),
    }
    for name, ok in checks.items():
        if not ok:
            raise InputError(f"setting {name} is out of range")
    return {
        "now": now,
        "threshold": float(settings.engagement_threshold),
        "settle_days": float(settings.settle_days),
        "include_videos": bool(settings.include_videos),
        "min_posts": int(settings.min_posts_per_account),
        "baseline_window": int(settings.baseline_window),
        "min_baseline": min(BASELINE_MIN_POSTS, int(settings.baseline_window)),
        "test_fraction": float(tf),
        "val_fraction": float(vf),
        "seed": int(settings.seed),
        "max_distance": NEAR_DUPLICATE_BITS,
        "window_days": float(settings.pair_window_days),
        "margin": float(settings.pair_margin),
        "max_neighbours": PAIR_NEIGHBOURS,
        "feature_columns": list(FEATURE_COLUMNS),
    }


def _json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k != "feature_columns"}
    out["now"] = params["now"].isoformat()
    return out


def _count_by(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in con.execute(sql).fetchall()}


def build_training_table(settings: Settings, *, now: datetime | None = None) -> BuildReport:
    """Build the training table, pairs and exclusions from the lake (see module doc).

    ``now`` (default: the current time) decides which posts are too young to count and is
    recorded in split.json; pass it to rebuild a table exactly.
    """

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    params = query_parameters(settings, now)
    warnings: list[str] = []
    timings: dict[str, float] = {}

    def timed(label: str, t0: float) -> float:
        t1 = time.perf_counter()
        timings[label] = round(t1 - t0, 4)
        return t1

    inputs = _input_paths(settings)
    con = _connect(settings)
    try:
        t = time.perf_counter()
        _input_view(con, "posts", inputs["posts"], _POSTS_SCHEMA, warnings, "picme ingest")
        _input_view(con, "media", inputs["media"], _MEDIA_SCHEMA, warnings, "picme ingest")
        _input_view(
            con,
            "image_features",
            inputs["image_features"],
            _features_schema(),
            warnings,
            "picme features",
        )
        _profiles_view(con, inputs["profiles"], warnings)
        posts_in, null_rates = _null_rates(con)
        if posts_in == 0:
            raise InputError(f"{inputs['posts']} has no posts: scrape or generate, then ingest")
        for col, rate in null_rates.items():
            if rate > 0.5 and col not in ("observed_at",):
                warnings.append(f"posts.{col} is null in {rate:.0%} of rows")
        t = timed("inputs", t)

        run_steps(con, params, settings.split, timings=timings, keep_intermediate=False)
        _check_columns(con)
        t = time.perf_counter()

        excluded = _count_by(con, "SELECT reason, count(*) FROM exclusions GROUP BY reason")
        split_rows = _count_by(con, "SELECT split, count(*) FROM training GROUP BY split")
        split_accounts = _count_by(
            con, "SELECT split, count(DISTINCT owner_username) FROM training GROUP BY split"
        )
        split_pairs = _count_by(con, "SELECT split, count(*) FROM pairs GROUP BY split")
        rows, accounts, fingerprint = _fingerprint(con)
        _check_sides(settings, rows, split_rows, split_accounts, excluded)
        cutoffs = _cutoffs(con)
        t = timed("counts", t)

        report = BuildReport(
            rows=rows,
            accounts=accounts,
            excluded=excluded,
            fingerprint=fingerprint,
            split=settings.split,
            split_rows={s: split_rows.get(s, 0) for s in SPLITS},
            split_accounts={s: split_accounts.get(s, 0) for s in SPLITS},
            pairs=sum(split_pairs.values()),
            split_pairs={s: split_pairs.get(s, 0) for s in SPLITS},
            posts_in=posts_in,
            null_rates=null_rates,
            timings=timings,
            warnings=warnings,
            out_dir=training_dir(settings),
        )
        record = {
            "strategy": settings.split,
            "seed": settings.seed,
            "test_fraction": settings.test_fraction,
            "val_fraction": settings.val_fraction,
            "rows": rows,
            "accounts": accounts,
            "fingerprint": fingerprint,
            "counts": report.split_rows,
            "accounts_per_split": report.split_accounts,
            "pairs": report.split_pairs,
            "cutoffs": cutoffs,
            "excluded": excluded,
            "posts_in": posts_in,
            "null_rates": null_rates,
            "params": _json_params(params),
            "feature_columns": list(FEATURE_COLUMNS),
            "metadata_columns": list(METADATA_COLUMNS),
            "built_at": datetime.now(UTC).isoformat(),
        }
        _write_outputs(con, _output_paths(settings), record)
        t = timed("write", t)
    finally:
        con.close()

    report.views_updated = _update_views(settings, warnings)
    timings["views"] = round(time.perf_counter() - t, 4)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.info("%s", report.summary())
    return report


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
    from picme.dataset.sql import create_table

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


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    from picme.dataset.sql import connect

    # Spill to the cache, not to a .tmp folder in whatever directory the user is in.
    return connect(threads=settings.n_workers(), temp_directory=settings.cache_dir / "duckdb-tmp")


def _null_rates(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, float]]:
    counts = ", ".join(f"count({c})" for c in _NULL_RATE_COLUMNS)
    row = con.execute(f"SELECT count(*), {counts} FROM posts").fetchone()
    assert row is not None
    n = int(row[0])
    if n == 0:
        return 0, {}
    return n, {
        c: round(1 - int(v) / n, 6) for c, v in zip(_NULL_RATE_COLUMNS, row[1:], strict=True)
    }


def _check_columns(con: duckdb.DuckDBPyConnection) -> None:
    got = [r[0] for r in con.execute("DESCRIBE training").fetchall()]
    want = BASE_COLUMNS + METADATA_COLUMNS + list(FEATURE_COLUMNS)
    if got != want:
        # The SQL and the Python column lists drifted apart: a bug, not bad input.
        raise PicmeError(f"training table columns {got} differ from the contract {want}")


def _fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[int, int, str]:
    from picme.dataset.sql import run_query

    row = run_query(con, "fingerprint").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


def _check_sides(
    settings: Settings,
    rows: int,
    split_rows: Mapping[str, int],
    split_accounts: Mapping[str, int],
    excluded: Mapping[str, int],
) -> None:
    if rows == 0:
        why = ", ".join(f"{k} {v}" for k, v in sorted(excluded.items())) or "none"
        raise InputError(
            f"no post is usable for training (excluded: {why}); scrape more posts or relax "
            "the settings (PICME_SETTLE_DAYS, PICME_MIN_POSTS_PER_ACCOUNT, PICME_INCLUDE_VIDEOS)"
        )
    if split_rows.get("train", 0) == 0 or split_rows.get("test", 0) == 0:
        if settings.split == "account":
            raise InputError(
                f"split by account needs at least 2 usable accounts, found "
                f"{sum(split_accounts.values())}: add accounts or use the time split "
                "(PICME_SPLIT=time or --split time)"
            )
        raise InputError(
            "split by time left train or test empty (all posts share one time?): "
            "add posts or use the account split"
        )


def _cutoffs(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for split, lo, hi in con.execute(
        "SELECT split, min(taken_at), max(taken_at) FROM training GROUP BY split ORDER BY split"
    ).fetchall():
        out[str(split)] = {
            "first": lo.isoformat() if lo else None,
            "last": hi.isoformat() if hi else None,
        }
    return out


def _write_outputs(
    con: duckdb.DuckDBPyConnection, paths: Mapping[str, Path], record: Mapping[str, Any]
) -> None:
    """Write every file to a temporary name first and rename them only when all are
    written, so a failure leaves the previous table, pairs and split.json as they were."""
    with contextlib.ExitStack() as stack:
        for table in ("training", "pairs", "exclusions"):
            tmp = stack.enter_context(atomic_path(paths[table]))
            con.execute(
                f"COPY {table} TO {_sql_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
            )
        tmp = stack.enter_context(atomic_path(paths["split"]))
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _update_views(settings: Settings, warnings: list[str]) -> bool:
    """Point views in picme.duckdb at the lake, so `duckdb picme-data/picme.duckdb` can
    explore it. The file is single-writer: when someone holds it, the build still succeeds
    and says how to refresh the views later."""
    import duckdb

    lake = settings.lake_dir
    sources = {
        "posts": lake / "posts" / "posts.parquet",
        "media": lake / "media" / "media.parquet",
        "image_features": lake / "image_features" / "image_features.parquet",
        "profiles": lake / "profiles" / "profiles.parquet",
        "training": lake / "training" / "training.parquet",
        "pairs": lake / "training" / "pairs.parquet",
        "exclusions": lake / "training" / "exclusions.parquet",
    }
    statements = [
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
        f"{_sql_literal(str(path.resolve()))})"
        for name, path in sources.items()
        if path.is_file()
    ]
    observations = lake / "post_observations"
    if observations.is_dir() and any(observations.glob("*.parquet")):
        pattern = str((observations / "*.parquet").resolve())
        statements.append(
            "CREATE OR REPLACE VIEW post_observations AS SELECT * FROM read_parquet("
            f"{_sql_literal(pattern)}, union_by_name = true)"
        )
    try:
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.duckdb_path)) as con:
            for stmt in statements:
                con.execute(stmt)
    except duckdb.Error as exc:
        warnings.append(
            f"views in {settings.duckdb_path} not updated ({str(exc).splitlines()[0]}); "
            "close other DuckDB sessions on it and run `picme features` again"
        )
        return False
    return True


def table_fingerprint(settings: Settings) -> dict[str, Any]:
    """rows, accounts and content fingerprint of lake/training/training.parquet, computed
    from the file itself (the same value build_training_table reported for it)."""
    from picme.dataset.sql import connect, run_query

    path = _output_paths(settings)["training"]
    if not path.is_file():
        raise InputError(f"{path} does not exist: run `picme features` first")
    import duckdb

    con = connect(threads=settings.n_workers())
    try:
        con.execute(
            f"CREATE TEMP VIEW training AS SELECT * FROM read_parquet({_sql_literal(str(path))})"
        )
        row = run_query(con, "fingerprint").fetchone()
    except (duckdb.Error, PicmeError) as exc:
        cause = exc.__cause__ if isinstance(exc, PicmeError) and exc.__cause__ else exc
        first = str(cause).strip().splitlines()[0]
        raise InputError(f"{path} cannot be read ({first}); run `picme features` again") from exc
    finally:
        con.close()
    assert row is not None
    return {"rows": int(row[0]), "accounts": int(row[1]), "fingerprint": str(row[2])}


def read_split(settings: Settings) -> dict[str, Any]:
    """The split record written with the table (split.json)."""
    path = _output_paths(settings)["split"]
    if not path.is_file():
        raise InputError(f"{path} does not exist: run `picme features` first")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is unreadable ({exc}); run `picme features` again") from exc
    return data
