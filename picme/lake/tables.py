"""The Parquet lake: table names, schemas, and atomic reads and writes (paths: lake.paths).

Every table is plain Parquet under ``settings.lake_dir`` so any DuckDB or pandas user can read
it, e.g. ``select * from read_parquet('picme-data/lake/posts/**/*.parquet')``. Files are
written to a temporary name and renamed into place (picme.util.atomic); a reader never sees a
half-written file. docs/data.md describes each column.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from picme.errors import InputError
from picme.lake.paths import PARTITIONED, table_path
from picme.util.atomic import write_parquet_atomic

if TYPE_CHECKING:
    from picme.settings import Settings

_TS = pa.timestamp("us", tz="UTC")

POSTS_SCHEMA = pa.schema(
    [
        ("shortcode", pa.string()),
        ("owner_username", pa.string()),
        ("owner_id", pa.int64()),
        ("taken_at", _TS),
        # Null when hidden: instaloader's -1, or a tiny count from a hidden-likes post.
        ("likes", pa.int64()),
        ("likes_raw", pa.int64()),
        ("likes_hidden", pa.bool_()),
        ("comments", pa.int64()),
        ("followers", pa.int64()),
        ("observed_at", _TS),
        ("caption", pa.string()),
        ("hashtags", pa.list_(pa.string())),
        ("mentions", pa.list_(pa.string())),
        ("tagged_users", pa.list_(pa.string())),
        ("typename", pa.string()),
        ("is_video", pa.bool_()),
        ("is_sponsored", pa.bool_()),
        ("accessibility_caption", pa.string()),
        ("location", pa.string()),
        ("video_view_count", pa.int64()),
        ("image_path", pa.string()),
        ("n_images", pa.int64()),
        ("metadata_path", pa.string()),
    ]
)

OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("shortcode", pa.string()),
        ("owner_username", pa.string()),
        ("observed_at", _TS),
        ("likes", pa.int64()),
        ("likes_raw", pa.int64()),
        ("likes_hidden", pa.bool_()),
        ("comments", pa.int64()),
        ("followers", pa.int64()),
        ("video_view_count", pa.int64()),
        ("source_path", pa.string()),
        # The source file as it was read: an unchanged file need not be parsed again.
        ("source_size", pa.int64()),
        ("source_mtime_ns", pa.int64()),
    ]
)

PROFILES_SCHEMA = pa.schema(
    [
        ("username", pa.string()),
        ("userid", pa.int64()),
        ("followers", pa.int64()),
        ("followees", pa.int64()),
        ("mediacount", pa.int64()),
        ("is_private", pa.bool_()),
        ("observed_at", _TS),
        ("source_path", pa.string()),
    ]
)

MEDIA_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("shortcode", pa.string()),
        ("idx", pa.int64()),
        ("sha256", pa.string()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("decodable", pa.bool_()),
        ("error", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "posts": POSTS_SCHEMA,
    "post_observations": OBSERVATIONS_SCHEMA,
    "profiles": PROFILES_SCHEMA,
    "media": MEDIA_SCHEMA,
}


def write_parquet(table: pa.Table, target: Path) -> Path:
    """Write, then rename into place (picme.util.atomic)."""
    return write_parquet_atomic(table, target)


def table_files(settings: Settings, name: str) -> list[Path]:
    """The Parquet files that make up a table now (temporary files excluded), sorted."""
    path = table_path(settings, name)
    if name in PARTITIONED:
        if not path.is_dir():
            return []
        return sorted(p for p in path.glob("*.parquet") if not p.name.startswith("."))
    return [path] if path.is_file() else []


def read_table(settings: Settings, name: str) -> pa.Table | None:
    """A lake table as one Arrow table, or None when it has not been written yet."""
    files = table_files(settings, name)
    if not files:
        return None
    tables = []
    for f in files:
        try:
            tables.append(pq.read_table(f))
        except (pa.ArrowException, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise InputError(
                f"{f}: cannot read this lake file ({first}); restore it from a backup or move "
                "it away and run `picme ingest` again"
            ) from None
    schema = SCHEMAS.get(name)
    if schema is not None:
        tables = [conform(t, schema) for t in tables]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast to ``schema``, adding missing columns as nulls (older lakes) and dropping extras."""
    cols = []
    for fld in schema:
        if fld.name in table.column_names:
            cols.append(table.column(fld.name).cast(fld.type))
        else:
            cols.append(pa.nulls(table.num_rows, fld.type))
    return pa.Table.from_arrays(cols, schema=schema)


def prepared(settings: Settings, name: str, table: pa.Table) -> tuple[Path, pa.Table]:
    """(target, table) of a single-file table's new content, conformed to its schema."""
    if name in PARTITIONED:
        raise ValueError(f"{name} is append-only; use prepared_part()")
    if name in SCHEMAS:
        table = conform(table, SCHEMAS[name])
    return table_path(settings, name), table


def prepared_part(settings: Settings, name: str, table: pa.Table) -> tuple[Path, pa.Table]:
    """(target, table) of one new part file of an append-only table; its name is a hash of
    its content, so writing the same rows twice (say, after a crash) lands on one file."""
    if name not in PARTITIONED:
        raise ValueError(f"{name} is not an append-only table")
    if name in SCHEMAS:
        table = conform(table, SCHEMAS[name])
    digest = hashlib.sha256()
    for col in ("shortcode", "observed_at"):
        if col in table.column_names:
            digest.update(repr(table.column(col).to_pylist()).encode("utf-8"))
    return table_path(settings, name) / f"part-{digest.hexdigest()[:20]}.parquet", table


def write_table(settings: Settings, name: str, table: pa.Table) -> Path:
    """Replace a single-file table atomically (write a temporary file, then rename)."""
    target, table = prepared(settings, name, table)
    return write_parquet(table, target)


def append_part(settings: Settings, name: str, table: pa.Table) -> Path | None:
    """Add one part file to an append-only table (see :func:`prepared_part`)."""
    if table.num_rows == 0:
        return None
    target, table = prepared_part(settings, name, table)
    return write_parquet(table, target)


def empty_table(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()
