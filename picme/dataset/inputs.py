"""The build's inputs: views over the lake's Parquet files (posts, media, image_features,
profiles) with the columns the queries expect, in canonical types.

A wrong or missing required column is an :class:`~picme.errors.InputError` naming the file,
the column and the command that rebuilds it; a missing optional column is read as NULL and
said so in the report's warnings, so an older lake still builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from picme.dataset.sql import literal
from picme.errors import InputError
from picme.features.extractors import FEATURE_COLUMNS
from picme.lake.commit import roll_forward
from picme.lake.paths import lake_paths
from picme.lake.store import pull
from picme.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


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


def input_paths(settings: Settings) -> dict[str, Path]:
    paths = lake_paths(settings)
    return {name: paths.table(name) for name in ("posts", "media", "image_features", "profiles")}


def load_inputs(
    con: duckdb.DuckDBPyConnection, settings: Settings, warnings: list[str]
) -> tuple[int, dict[str, float]]:
    """Create the input views in ``con``; returns how many posts there are and the null
    rate of each checked posts column (a rate over one half is also a warning)."""
    # An object-store lake: its inputs (and the training set it replaces) into the mirror.
    pull(settings, ("posts", "media", "image_features", "profiles", "training"))
    roll_forward(settings)  # an ingest killed mid-commit: finish it before reading
    inputs = input_paths(settings)
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
    return posts_in, null_rates


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
    source = f"read_parquet({literal(str(path))})"
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
