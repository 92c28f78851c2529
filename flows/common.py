"""Helpers shared by the flows: settings that travel between processes, cheap
fingerprints for cache keys, and the dataset-counts artifact.

Tasks receive settings as a plain dict (``settings_payload``) rather than a Settings
object, so a task runs the same in a thread, a worker subprocess or a Dask worker whose
current directory and environment differ from the flow's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from picme.lake.paths import lake_paths
from picme.lake.paths import table_path as lake_table_path
from picme.lake.store import FOLDERS, INGEST, pull
from picme.settings import Settings, get_settings

# Artifact keys: lowercase letters, digits and dashes only (Prefect's rule).
COUNTS_KEY = "picme-dataset-counts"
EVALUATION_KEY = "picme-evaluation"
RETRAIN_KEY = "picme-retrain-decision"
PIPELINE_KEY = "picme-pipeline"
CURATION_KEY = "picme-curation"
SCRAPE_KEY = "picme-scrape"

# Prefect global concurrency limit guarding Instagram: one scraper at a time.
INSTAGRAM_LIMIT = "instagram"


def resolve_settings(home: str | None = None, **overrides: Any) -> Settings:
    """Settings with an absolute home, so processes with another working directory agree.

    The MLflow URI is left to each process's environment (MLFLOW_TRACKING_URI, else SQLite
    under home): a worker's flow-run subprocess inherits it.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    if home:
        clean["home"] = Path(home)
    settings = get_settings(**clean)
    settings.home = settings.home.expanduser().resolve()
    return settings


def settings_payload(settings: Settings) -> dict[str, Any]:
    """JSON-able settings: hashable for cache keys and picklable for Dask."""
    return settings.model_dump(mode="json")


def load_settings(payload: Mapping[str, Any]) -> Settings:
    return Settings(**dict(payload))


# Settings that do not change what a cached stage computes: how it runs, where models go.
_NOT_IN_CACHE_KEYS = frozenset(
    {
        "workers",
        "dask_address",
        "mlflow_tracking_uri",
        "model_name",
        "experiment",
        "max_requests",
        "refresh_days",
        "session_dir",
    }
)


def settings_key(payload: Mapping[str, Any]) -> str:
    """Hash of the settings that decide a stage's output, for cache keys.

    The whole payload would make a cache miss of any unrelated change; unknown fields
    (added later) are kept, so a new setting invalidates rather than goes stale.
    """
    import json

    kept = {k: v for k, v in payload.items() if k not in _NOT_IN_CACHE_KEYS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def tree_fingerprint(roots: Iterable[Path | str]) -> str:
    """Hash of every file's relative path, size and mtime under ``roots``.

    Cheap (one stat per file, no reads) and enough to tell an unchanged raw tree from one
    a scrape or a generator added to, which is what the ingest cache key needs.
    """
    digest = hashlib.sha256()
    for root in sorted(Path(r).resolve() for r in roots):
        digest.update(f"root:{root}\n".encode())
        if not root.exists():
            digest.update(b"missing\n")
            continue
        entries = []
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:  # vanished mid-walk (a download in progress)
                    continue
                entries.append(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}")
        for line in sorted(entries):
            digest.update(line.encode("utf-8", "surrogateescape"))
            digest.update(b"\n")
    return digest.hexdigest()


def content_fingerprint(paths: Iterable[Path | str]) -> str:
    """Hash of the bytes of ``paths`` (missing files count as absent).

    Used for lake tables: ingest rewrites them on every run, so their mtimes change even
    when their content does not; their bytes are what the features stage depends on.
    """
    digest = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        digest.update(f"{p.name}\0".encode())
        if not p.is_file():
            digest.update(b"missing\n")
            continue
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def code_fingerprint(modules: Iterable[str], sql: bool = False) -> str:
    """Hash of the source of library ``modules`` (and of the SQL files when ``sql``).

    Part of the cache keys: a cached stage must rerun when the library code that computes
    it changes, not only when its input data does. Modules are located, not imported.
    """
    import importlib.util

    files: list[Path] = []
    for name in sorted(modules):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise ModuleNotFoundError(name)
        files.append(Path(spec.origin))
    if sql:
        from picme.dataset.sql import sql_dir

        files.extend(sorted(sql_dir().glob("*.sql")))
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def run_cached(task: Any, refresh: bool, *args: Any) -> dict[str, Any]:
    """Run a task keyed by its inputs; its dict result says whether Prefect served it from
    the cache (``cached``), which is how a flow tells an unchanged stage was skipped."""
    state = task.with_options(refresh_cache=refresh)(*args, return_state=True)
    result = dict(state.result())
    result["cached"] = state.name == "Cached"
    return result


def lake_inputs_for_features(settings: Settings) -> list[Path]:
    """The lake files the features stage reads: their bytes make its cache key."""
    pull(settings, INGEST)  # an object-store lake: the published tables, not a stale mirror
    obs = lake_paths(settings).observations_dir
    files = [lake_table_path(settings, n) for n in ("posts", "media", "profiles")]
    if obs.is_dir():
        files.extend(sorted(obs.glob("*.parquet")))
    return files


def _num_rows(path: Path) -> int | None:
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    return int(pq.read_metadata(path).num_rows)


def dataset_counts(settings: Settings) -> list[dict[str, Any]]:
    """One row per lake table: how many rows, plus a detail column (accounts, splits…)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    pull(settings, FOLDERS)  # an object-store lake: count what is published

    def add(table: str, n: int | None, detail: str = "") -> None:
        rows.append({"table": table, "rows": "missing" if n is None else n, "detail": detail})

    posts = lake_table_path(settings, "posts")
    n_posts = _num_rows(posts)
    detail = ""
    if n_posts:
        owners = pq.read_table(posts, columns=["owner_username"]).column(0)
        detail = f"{pc.count_distinct(owners).as_py()} accounts"
    add("posts", n_posts, detail)

    obs_dir = lake_paths(settings).observations_dir
    obs_files = sorted(obs_dir.glob("*.parquet")) if obs_dir.is_dir() else []
    add(
        "post_observations",
        sum(_num_rows(f) or 0 for f in obs_files) if obs_files else None,
        f"{len(obs_files)} files",
    )
    add("profiles", _num_rows(lake_table_path(settings, "profiles")))

    media = lake_table_path(settings, "media")
    n_media = _num_rows(media)
    detail = ""
    if n_media:
        col = pq.read_table(media, columns=["decodable"]).column(0)
        detail = f"{pc.sum(col.cast('int64')).as_py() or 0} decodable"
    add("media", n_media, detail)

    add("image_features", _num_rows(lake_table_path(settings, "image_features")))

    training = lake_table_path(settings, "training")
    n_train = _num_rows(training)
    detail = ""
    if n_train:
        splits = pq.read_table(training, columns=["split"]).column(0).value_counts()
        parts = sorted(f"{s['values']}={s['counts']}" for s in splits.to_pylist())
        detail = ", ".join(parts)
    add("training", n_train, detail)
    add("pairs", _num_rows(lake_table_path(settings, "pairs")))
    return rows


def publish_counts(settings: Settings, stage: str) -> list[dict[str, Any]]:
    """Table artifact of dataset counts; returns the rows for the caller's summary."""
    from prefect.artifacts import create_table_artifact

    rows = dataset_counts(settings)
    create_table_artifact(
        rows, key=COUNTS_KEY, description=f"Lake tables after {stage} ({settings.home})"
    )
    return rows
