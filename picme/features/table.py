"""The ``image_features`` lake table: features computed once per image content (sha256), in
parallel, and kept across runs.

``extract_features_for_paths`` turns files into feature records over the shared process
pool (:func:`picme.util.pool.map_chunks`); ``update_image_features`` computes the records
of the lake's media not yet in the table and appends them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import InputError
from picme.features.compute import extract_features_for_paths
from picme.features.extractors import (
    ANALYSIS_SIDE,
    FEATURE_COLUMNS,
)
from picme.lake.commit import roll_forward
from picme.lake.paths import lake_paths
from picme.lake.store import publish, pull
from picme.settings import Settings, get_settings
from picme.util import progress as progress_api
from picme.util.atomic import write_parquet_atomic
from picme.util.generations import sweep
from picme.util.locks import exclusive

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

# Bump when a formula of picme.features.extractors changes: cached rows of another version
# are recomputed.
FEATURE_VERSION = 1
TABLE_NAME = "image_features"


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

    roll_forward(settings)  # an ingest killed mid-commit: finish it before reading
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


#: Images per saved chunk: a kill or a full disk loses at most this much work.
CHUNK_IMAGES = 256
#: Seconds a second features run waits for the first before giving up.
LOCK_WAIT = 3600.0


def parts_dir(settings: Settings) -> Path:
    """Where computed chunks wait to be folded into the table (beside it, hidden)."""
    return feature_table_path(settings).parent / ".parts"


def _read_parts(folder: Path) -> tuple[pa.Table | None, list[Path]]:
    """Chunks saved by earlier (possibly killed) runs: they are computed work, kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    tables = []
    for f in files:
        try:
            tables.append(pq.read_table(f).select(feature_schema().names).cast(feature_schema()))
        except Exception as exc:  # a part cut short by a crash: its images are recomputed
            log.warning("ignoring unreadable chunk %s (%s)", f, exc)
    return (pa.concat_tables(tables) if tables else None), files


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

    Work is saved as it goes: every :data:`CHUNK_IMAGES` images become a part file, folded
    into the table at the end, so a kill or a full disk loses at most one chunk and the
    next run starts from the parts. One run at a time per PICME_HOME: a second one waits
    for the first and then finds its images done (the two share the work).
    """
    settings = settings or get_settings()
    with exclusive(
        settings.home / "locks" / "features.lock",
        f"another `picme features` kept {settings.home} busy for {LOCK_WAIT:.0f} s",
        wait=LOCK_WAIT,
    ):
        return _update(settings, workers, max_side, progress, extract)


def _update(
    settings: Settings,
    workers: int | None,
    max_side: int,
    progress: Callable[[int, int], None] | None,
    extract: Callable[[list[str], int], list[dict[str, Any]]] | None,
) -> FeatureReport:
    import pyarrow as pa

    started = time.perf_counter()
    pull(settings, ("media", TABLE_NAME))  # an object-store lake: into this worker's mirror
    media = _read_media(settings)
    target = feature_table_path(settings)
    sweep(target.parent)
    sweep(parts_dir(settings))
    parts, part_files = _read_parts(parts_dir(settings))
    existing, stale = _current_rows(_merge(_read_existing(target), parts))
    known = {s for s in existing["sha256"].to_pylist() if s} if existing is not None else set()
    todo, n_total = _todo(media, known)

    report = FeatureReport(n_total=n_total, n_cached=n_total - len(todo))
    with progress_api.task("image features", total=len(todo)) as bar:
        keep = _extract_parts(
            settings, todo, part_files, report, bar, workers, max_side, progress, extract
        )
    _count(keep, report)
    if keep or stale or parts is not None or not target.exists():
        new_table = records_to_table(keep)
        table = new_table if existing is None else pa.concat_tables([existing, new_table])
        write_parquet_atomic(table, target)
    publish(settings, (TABLE_NAME,))
    for f in part_files:
        f.unlink(missing_ok=True)
    report.table_path = target
    report.seconds = time.perf_counter() - started
    return report


def _extract_parts(
    settings: Settings,
    todo: list[tuple[str, str]],
    part_files: list[Path],
    report: FeatureReport,
    bar: progress_api.Task,
    workers: int | None,
    max_side: int,
    progress: Callable[[int, int], None] | None,
    extract: Callable[[list[str], int], list[dict[str, Any]]] | None,
) -> list[dict[str, Any]]:
    """The records of ``todo``, saved as part files chunk by chunk."""
    if extract is None:
        n_workers = workers if workers is not None else settings.n_workers()

        def extract(paths: list[str], side: int) -> list[dict[str, Any]]:
            done = 0

            def step(count: int, _total: int) -> None:
                # Chunk by chunk within the batch: the bar moves while a batch runs.
                nonlocal done
                bar.advance(count - done)
                done = count

            return extract_features_for_paths(
                paths, workers=n_workers, max_side=side, progress=step
            )

    keep: list[dict[str, Any]] = []
    for start in range(0, len(todo), CHUNK_IMAGES):
        batch = todo[start : start + CHUNK_IMAGES]
        kept = _keep(batch, extract([p for _, p in batch], max_side), report)
        if kept:
            part = parts_dir(settings) / f"part-{os.getpid()}-{start:09d}.parquet"
            write_parquet_atomic(records_to_table(kept), part)
            part_files.append(part)
        keep.extend(kept)
        end = min(start + CHUNK_IMAGES, len(todo))
        bar.update(completed=end)
        if progress is not None:
            progress(end, len(todo))
    return keep


def _merge(existing: pa.Table | None, parts: pa.Table | None) -> pa.Table | None:
    import pyarrow as pa

    if parts is None:
        return existing
    return parts if existing is None else pa.concat_tables([existing, parts])


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
    return keep


def _count(keep: Sequence[dict[str, Any]], report: FeatureReport) -> None:
    report.n_failed = len(report.failures)
    report.n_new = len(keep) - sum(1 for r in keep if not r["decodable"])
