"""The ``feedback`` table: a person's decisions about the photos of an album.

Each decision is stored the moment it is made, as its own small Parquet part file written
with write-then-rename, so nothing is lost when a browser tab or the review server closes,
and two decisions made at the same time (two tabs) land in two files and are both kept.
A part file is never rewritten; the current decision for a photo is the latest one.

Columns (a contract: the personal ranker and exports read them): album (the album folder,
resolved), path (relative to the album, POSIX separators), sha256 (of the photo's bytes, so
a decision follows a photo that moved), decision (one of DECISIONS), decided_at (UTC).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from picme.errors import InputError
from picme.lake.paths import lake_paths
from picme.util.atomic import write_parquet_atomic

if TYPE_CHECKING:
    import pyarrow as pa

    from picme.lake.objstore import Bucket, Location
    from picme.settings import Settings

# keep/reject/star: the person's verdict on a photo; pick: this photo replaces its group's
# pick; clear: withdraw the earlier decision (the photo falls back to picme's status).
DECISIONS = ("keep", "reject", "star", "pick", "clear")
COLUMNS = ("album", "path", "sha256", "decision", "decided_at")


@dataclass(frozen=True)
class Decision:
    album: str
    path: str
    sha256: str
    decision: str
    decided_at: datetime


def album_key(album: Path) -> str:
    """How an album is named in the table: its resolved folder."""
    return str(Path(album).resolve())


def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("album", pa.string()),
            ("path", pa.string()),
            ("sha256", pa.string()),
            ("decision", pa.string()),
            ("decided_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def record(
    settings: Settings,
    album: Path,
    path: str,
    sha256: str,
    decision: str,
    decided_at: datetime | None = None,
) -> Decision:
    """Store one decision now (durable when this returns) and return it."""
    import pyarrow as pa

    if decision not in DECISIONS:
        raise InputError(f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}")
    rel = Path(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(f"{path!r} is not a path inside the album")
    when = decided_at or datetime.now(UTC)
    row = Decision(album_key(album), rel.as_posix(), sha256, decision, when)
    table = pa.Table.from_pylist(
        [{c: getattr(row, c) for c in COLUMNS}],
        schema=_schema(),
    )
    folder = lake_paths(settings).feedback_dir
    # Nanoseconds, pid and a random suffix: unique across tabs, threads and processes.
    name = f"part-{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
    write_parquet_atomic(table, folder / name)
    remote = _remote(settings)
    if remote is not None:
        # An object-store lake: the decision is in the bucket before this returns, so
        # `picme train --personal` on another worker sees it. Parts are immutable and
        # uniquely named, so they need no generation: each is its own object.
        bucket, location = remote
        bucket.upload(folder / name, location.key("feedback", name))
    return row


def _remote(settings: Settings) -> tuple[Bucket, Location] | None:
    from picme.lake.objstore import Bucket, parse_uri

    if not getattr(settings, "lake_uri", None):
        return None
    location = parse_uri(str(settings.lake_uri))
    return Bucket(location), location


def sync(settings: Settings) -> None:
    """An object-store lake: fetch the decisions other workers stored, and send up any of
    this worker's that an interrupted upload left behind. On disk: nothing to do."""
    remote = _remote(settings)
    if remote is None:
        return
    bucket, location = remote
    folder = lake_paths(settings).feedback_dir
    folder.mkdir(parents=True, exist_ok=True)
    prefix = location.key("feedback") + "/"
    there = {key.rsplit("/", 1)[-1]: key for key, _ in bucket.listing(prefix)}
    here = {p.name for p in folder.glob("part-*.parquet")}
    for name, key in there.items():
        if name.startswith("part-") and name.endswith(".parquet") and name not in here:
            # pid and a random part: two threads of the review server may sync at once.
            tmp = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            if bucket.download(key, tmp):
                os.replace(tmp, folder / name)
            tmp.unlink(missing_ok=True)
    for name in sorted(here - set(there)):
        bucket.upload(folder / name, location.key("feedback", name))


def _query(settings: Settings, album: Path | None, sql: str) -> pa.Table:
    """Run ``sql`` over a view ``every`` of the stored decisions (with ``part``, the file)."""
    import duckdb

    sync(settings)
    folder = lake_paths(settings).feedback_dir
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not parts:
        return _schema().empty_table()
    where = "WHERE album = $album" if album is not None else ""
    params: dict[str, object] = {"files": [str(p) for p in parts]}
    if album is not None:
        params["album"] = album_key(album)
    with duckdb.connect() as con:
        con.execute(
            "CREATE TEMP TABLE every AS SELECT album, path, sha256, decision, decided_at, "
            f"filename AS part FROM read_parquet($files, filename = true) {where}",
            params,
        )
        table: pa.Table = con.sql(sql).to_arrow_table()
    return table.cast(_schema())


def read_all(settings: Settings, album: Path | None = None) -> pa.Table:
    """Every decision ever stored (optionally of one album), oldest first."""
    return _query(
        settings,
        album,
        "SELECT album, path, sha256, decision, decided_at FROM every ORDER BY decided_at, part",
    )


def current(settings: Settings, album: Path | None = None) -> pa.Table:
    """The decision in force for each (album, path): the latest, with ``clear`` dropped.
    Part names start with the write time in nanoseconds, so they break timestamp ties."""
    return _query(
        settings,
        album,
        "SELECT album, path, sha256, decision, decided_at FROM ("
        "  SELECT *, row_number() OVER ("
        "    PARTITION BY album, path ORDER BY decided_at DESC, part DESC) AS latest"
        "  FROM every)"
        " WHERE latest = 1 AND decision <> 'clear' ORDER BY album, path",
    )
