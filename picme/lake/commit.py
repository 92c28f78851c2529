"""The tables one ingest writes (media, profiles, a part of post_observations, posts) land
together: a write-ahead record makes them one generation.

Every new file is written in full beside its target under a temporary name first. Then a
record listing each (temporary file, target) pair is written atomically to
``lake/.ingest-commit.json``: from that moment the new generation is decided. Then the files
are renamed into place and the record removed. A run killed before the record leaves the
old tables untouched (its temporary files are swept later); one killed after it is rolled
forward by the next ingest, or by the next reader of the lake (:func:`roll_forward`), so no
mix of old and new tables outlives the writer. While a live ingest renames (microseconds)
a reader may still see part of the new set; readers that need more take the ingest lock.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from picme.lake.paths import lake_paths
from picme.util.atomic import atomic_open
from picme.util.generations import pid_alive

if TYPE_CHECKING:
    import pyarrow as pa

    from picme.settings import Settings

RECORD = ".ingest-commit.json"


def record_path(settings: Settings) -> Path:
    return lake_paths(settings).root / RECORD


def staged_name(target: Path) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}.staged.tmp"


def commit(settings: Settings, writes: list[tuple[Path, pa.Table]]) -> None:
    """Write ``writes`` (target, table) as one generation of the lake."""
    if not writes:
        return
    pairs: list[tuple[Path, Path]] = []
    try:
        for target, table in writes:
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = staged_name(target)
            pairs.append((staged, target))
            pq.write_table(table, staged, compression="zstd")
        record = {"pid": os.getpid(), "files": [[str(s), str(t)] for s, t in pairs]}
        with atomic_open(record_path(settings), "w", encoding="utf-8") as fh:
            json.dump(record, fh)
    except BaseException:
        # Not decided yet: the old generation stands, and nothing of this one stays.
        for staged, _ in pairs:
            staged.unlink(missing_ok=True)
        raise
    _apply(settings, pairs)


def _apply(settings: Settings, pairs: list[tuple[Path, Path]]) -> None:
    for staged, target in pairs:
        # Another process finishing the same dead writer's commit may have moved it first.
        with contextlib.suppress(FileNotFoundError):
            os.replace(staged, target)
    record_path(settings).unlink(missing_ok=True)


def roll_forward(settings: Settings) -> bool:
    """Finish the commit of a writer that died after deciding it; True if there was one.
    A live writer's commit is left to it."""
    path = record_path(settings)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except ValueError:  # cannot happen with an atomic write; a foreign file is not ours
        return False
    if pid_alive(int(record.get("pid", 0))) and record.get("pid") != os.getpid():
        return False
    _apply(settings, [(Path(s), Path(t)) for s, t in record.get("files", [])])
    return True
