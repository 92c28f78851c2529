"""The ``image_features`` lake table: features computed once per image content (sha256), in
parallel, and kept across runs.

``extract_features_for_paths`` turns files into feature records over the shared process
pool (:func:`picme.util.pool.map_chunks`); ``update_image_features`` computes the records
of the lake's media not yet in the table and appends them.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from picme.errors import InputError
from picme.features.decode import ImageDecodeError, decode_bytes, read_image_bytes
from picme.features.extractors import (
    ANALYSIS_SIDE,
    FEATURE_COLUMNS,
    empty_features,
    features_from_array,
)
from picme.lake.paths import lake_paths
from picme.settings import Settings, get_settings
from picme.util.atomic import write_parquet_atomic
from picme.util.pool import map_chunks

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

# Bump when a formula of picme.features.extractors changes: cached rows of another version
# are recomputed.
FEATURE_VERSION = 1
TABLE_NAME = "image_features"


def features_for_file(
    path: str | os.PathLike[str], max_side: int = ANALYSIS_SIDE
) -> dict[str, Any]:
    """One image file to one feature record; never raises for a bad file."""
    rec: dict[str, Any] = {
        "path": str(path),
        "sha256": None,
        "decodable": False,
        "error": None,
        "width": None,
        "height": None,
    }
    try:
        data = read_image_bytes(path)
        rec["sha256"] = hashlib.sha256(data).hexdigest()
        decoded = decode_bytes(data, max_side=max_side, name=path)
        feats = features_from_array(decoded.rgb)
    except ImageDecodeError as exc:
        rec["error"] = exc.reason
        rec.update(empty_features())
        return rec
    except Exception as exc:  # one odd image must not stop a batch of thousands
        log.warning("features failed for %s: %s", path, exc)
        rec["error"] = f"feature extraction failed ({type(exc).__name__}: {exc})"
        rec.update(empty_features())
        return rec
    rec.update(decodable=True, width=decoded.width, height=decoded.height)
    rec.update(feats)
    return rec


def _features_chunk(paths: Sequence[str], max_side: int) -> list[dict[str, Any]]:
    return [features_for_file(p, max_side) for p in paths]


def _worker_init() -> None:
    # One OpenCV thread per process: the pool already uses every core.
    cv2.setNumThreads(1)


def _resolve_workers(workers: int) -> int:
    return workers if workers > 0 else get_settings().n_workers()


def extract_features_for_paths(
    paths: Iterable[str | os.PathLike[str]],
    workers: int = 0,
    max_side: int = ANALYSIS_SIDE,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Feature records for ``paths``, in the same order; bad files are records too.

    Each record: path, sha256 (None when unreadable), decodable, error, width, height (full
    upright size), FEATURE_COLUMNS, color_hist, phash, phash_int. ``workers=0`` uses the
    settings' worker count (one per core by default), ``workers=1`` runs in this process;
    otherwise chunks of images (never one task per image) go to a process pool, whose
    workers start from a clean server process (call it under ``if __name__ ==
    "__main__":`` in a script, as for any multiprocessing code). A file that crashes its
    worker (a native decoder fault) becomes a failure record. ``progress(done, total)`` is
    called as chunks finish.
    """
    items = [os.fspath(p) for p in paths]
    total = len(items)
    n_workers = min(_resolve_workers(workers), max(1, total // 8))
    # ~4 chunks per worker balances slow images; at most 64 per chunk keeps progress live.
    size = 32 if n_workers <= 1 else max(4, min(64, math.ceil(total / (n_workers * 4))))
    chunks = [items[i : i + size] for i in range(0, total, size)]
    out: list[dict[str, Any]] = []
    for records in map_chunks(
        functools.partial(_features_chunk, max_side=max_side),
        chunks,
        n_workers,
        on_crash=_crashed,
        initializer=_worker_init,
        # Workers fork from a server process that has this module (and OpenCV) imported.
        preload=("__main__", __name__),
    ):
        out.extend(records)
        if progress is not None:
            progress(len(out), total)
    return out


def _crashed(path: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "path": path,
        "sha256": None,
        "decodable": False,
        "error": "the decoder crashed on this file",
        "width": None,
        "height": None,
    }
    rec.update(empty_features())
    return rec


@dataclass
class FeatureReport:
    """What one update of the table did: distinct images, computed, cached, failed."""

    n_total: int = 0
    n_new: int = 0
    n_cached: int = 0
    n_failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    table_path: Path | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        text = (
            f"image features: {self.n_total} images, {self.n_new} computed, "
            f"{self.n_cached} cached, {self.n_failed} failed in {self.seconds:.1f} s"
        )
        if self.table_path is not None:
            text += f" -> {self.table_path}"
        if self.failures:
            path, reason = self.failures[0]
            more = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            text += f"\n  first failure: {path}: {reason}{more}"
        return text


def feature_table_path(settings: Settings) -> Path:
    return Path(settings.lake_dir) / TABLE_NAME / f"{TABLE_NAME}.parquet"


def feature_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("sha256", pa.string()),
            ("path", pa.string()),
            ("decodable", pa.bool_()),
            ("error", pa.string()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            *[(c, pa.float64()) for c in FEATURE_COLUMNS],
            ("color_hist", pa.list_(pa.float32())),
            ("phash", pa.string()),
            ("phash_int", pa.int64()),
            ("feature_version", pa.int32()),
            ("computed_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def records_to_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Feature records (from extract_features_for_paths) as an image_features table."""
    import pyarrow as pa

    schema = feature_schema()
    now = datetime.now(UTC)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for rec in records:
        for name in schema.names:
            if name == "feature_version":
                columns[name].append(rec.get(name, FEATURE_VERSION))
            elif name == "computed_at":
                columns[name].append(rec.get(name, now))
            else:
                columns[name].append(rec.get(name))
    return pa.table(columns, schema=schema)


def _read_media(settings: Settings) -> pa.Table:
    import pyarrow.parquet as pq

    path = lake_paths(settings).media
    if not path.exists():
        raise InputError(f"no media table at {path}: run `picme ingest` first")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise InputError(f"cannot read {path} ({exc}); re-run `picme ingest`") from None
    missing = {"path", "sha256"} - set(table.column_names)
    if missing:
        raise InputError(f"{path} lacks column(s) {sorted(missing)}; re-run `picme ingest`")
    return table


def _read_existing(target: Path) -> pa.Table | None:
    import pyarrow.parquet as pq

    if not target.exists():
        return None
    try:
        table = pq.read_table(target)
    except Exception as exc:
        # The cache is derived data: rebuild it rather than stop the pipeline.
        log.warning("ignoring unreadable %s (%s); recomputing every image", target, exc)
        return None
    if set(table.column_names) != set(feature_schema().names):
        log.warning("%s has an older layout; recomputing every image", target)
        return None
    return table.select(feature_schema().names).cast(feature_schema())


def update_image_features(
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    max_side: int = ANALYSIS_SIDE,
    progress: Callable[[int, int], None] | None = None,
    extract: Callable[[list[str], int], list[dict[str, Any]]] | None = None,
) -> FeatureReport:
    """Compute features for lake media images not yet in lake/image_features (by sha256).

    Decode failures are stored (decodable false, with the reason) so they are not retried
    on every run; a missing file or one changed since ingest is reported and retried later.
    ``extract(paths, max_side)`` replaces the local process pool (the Dask flow sends the
    batches to a cluster); it must return one record per path, in order.
    """
    import pyarrow as pa

    started = time.perf_counter()
    settings = settings or get_settings()
    media = _read_media(settings)
    target = feature_table_path(settings)
    existing, stale = _current_rows(_read_existing(target))
    known = {s for s in existing["sha256"].to_pylist() if s} if existing is not None else set()
    todo, n_total = _todo(media, known)

    report = FeatureReport(n_total=n_total, n_cached=n_total - len(todo))
    paths = [p for _, p in todo]
    if extract is None:
        records = extract_features_for_paths(
            paths,
            workers=workers if workers is not None else settings.n_workers(),
            max_side=max_side,
            progress=progress,
        )
    else:
        records = extract(paths, max_side)
    keep = _keep(todo, records, report)

    if keep or stale or existing is None:
        new_table = records_to_table(keep)
        table = new_table if existing is None else pa.concat_tables([existing, new_table])
        write_parquet_atomic(table, target)
    report.table_path = target
    report.seconds = time.perf_counter() - started
    return report


def _current_rows(existing: pa.Table | None) -> tuple[pa.Table | None, int]:
    """The rows of this FEATURE_VERSION, and how many of another version were dropped (they
    are recomputed)."""
    import pyarrow.compute as pc

    if existing is None or not existing.num_rows:
        return existing, 0
    current = existing.filter(pc.equal(existing["feature_version"], FEATURE_VERSION))
    return current, existing.num_rows - current.num_rows


def _todo(media: pa.Table, known: set[str]) -> tuple[list[tuple[str, str]], int]:
    """(sha256, path) of each content hash still to compute, and how many hashes there are."""
    by_sha: dict[str, list[str]] = {}
    for path, sha in zip(media["path"].to_pylist(), media["sha256"].to_pylist(), strict=True):
        if sha and path:
            by_sha.setdefault(sha, []).append(path)
    todo: list[tuple[str, str]] = []
    for sha, paths in by_sha.items():
        if sha in known:
            continue
        # One file per content hash; prefer a path that exists now.
        chosen = next((p for p in paths if os.path.exists(p)), paths[0])
        todo.append((sha, chosen))
    return todo, len(by_sha)


def _keep(
    todo: Sequence[tuple[str, str]], records: Sequence[dict[str, Any]], report: FeatureReport
) -> list[dict[str, Any]]:
    """The records to store, counting failures into ``report``: a file gone or changed since
    ingest is not stored (it is retried on the next run); an undecodable one is."""
    keep: list[dict[str, Any]] = []
    for (sha, path), rec in zip(todo, records, strict=True):
        if rec["sha256"] is None:
            report.failures.append((path, rec["error"] or "unreadable"))
            continue
        if rec["sha256"] != sha:
            report.failures.append((path, "file changed since ingest; re-run `picme ingest`"))
            continue
        if not rec["decodable"]:
            report.failures.append((path, rec["error"] or "not decodable"))
        keep.append(rec)
    report.n_failed = len(report.failures)
    report.n_new = len(keep) - sum(1 for r in keep if not r["decodable"])
    return keep
