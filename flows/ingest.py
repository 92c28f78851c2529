"""Ingest flow: raw instaloader trees -> Parquet lake, skipped when raw/ has not changed.

The task's cache key is its inputs (settings, raw folders, and a fingerprint of every raw
file's name, size and mtime) plus the task's source, so a second run over an unchanged
tree is a cache hit that costs one directory walk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from flows.common import (
    code_fingerprint,
    lake_table_path,
    load_settings,
    publish_counts,
    resolve_settings,
    run_cached,
    settings_key,
    settings_payload,
    tree_fingerprint,
)

INGEST_MODULES = ("picme.lake.ingest", "picme.lake.tables")
CACHE_POLICY = (INPUTS - "settings") + TASK_SOURCE


@task(name="ingest-raw", cache_policy=CACHE_POLICY, persist_result=True)
def ingest_task(
    settings: dict[str, Any], key: str, raw_dirs: list[str], raw_fingerprint: str, code: str
) -> dict:
    """``key``, ``raw_fingerprint`` and ``code`` are unused in the body: they make the
    cache key (the settings that matter, the raw files, the library code reading them)."""
    from picme.lake.ingest import ingest_raw

    report = ingest_raw([Path(d) for d in raw_dirs], settings=load_settings(settings))
    skipped = list(report.skipped)
    return {
        "summary": report.summary(),
        "posts_new": int(report.posts_new),
        "posts_updated": int(report.posts_updated),
        "skipped": len(skipped),
        "skipped_examples": [f"{f}: {why}" for f, why in skipped[:20]],
    }


@flow(name="ingest", log_prints=True)
def ingest_flow(
    home: str | None = None, raw_dirs: list[str] | None = None, force: bool = False
) -> dict[str, Any]:
    """Read ``raw_dirs`` (default: raw/) into the lake; publish the dataset counts."""
    logger = get_run_logger()
    settings = resolve_settings(home)
    dirs = [str(Path(d).expanduser().resolve()) for d in (raw_dirs or [str(settings.raw_dir)])]
    # A lake deleted under an unchanged raw tree must be rebuilt, not served from cache.
    refresh = force or not lake_table_path(settings, "posts").is_file()
    payload = settings_payload(settings)
    result = run_cached(
        ingest_task,
        refresh,
        payload,
        settings_key(payload),
        dirs,
        tree_fingerprint(dirs),
        code_fingerprint(INGEST_MODULES),
    )
    if result["cached"]:
        logger.info("raw data unchanged since the last ingest: skipped")
    else:
        print(result["summary"])
    result["counts"] = publish_counts(settings, "ingest")
    return result
