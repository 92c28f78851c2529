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
from pydantic import BaseModel

from flows.common import (
    code_fingerprint,
    load_settings,
    publish_counts,
    resolve_settings,
    run_cached,
    settings_key,
    settings_payload,
    tree_fingerprint,
)
from picme.lake.config import IngestConfig
from picme.lake.ingest import ingest
from picme.lake.paths import lake_paths

INGEST_MODULES = (
    "picme.lake.config",
    "picme.lake.ingest",
    "picme.lake.scan",
    "picme.lake.parse",
    "picme.lake.media",
    "picme.lake.stored",
    "picme.lake.merge",
    "picme.lake.tables",
    "picme.lake.paths",
    "picme.lake.report",
)
# The raw folders are in the key as ``raw_dirs``; the rest of the config (worker count)
# does not change what an ingest writes.
CACHE_POLICY = (INPUTS - "settings" - "config") + TASK_SOURCE


class IngestResult(BaseModel):
    """What an ingest task did (or, served from the cache, what it did then)."""

    summary: str
    posts_new: int
    posts_updated: int
    skipped: int
    skipped_examples: list[str]


class IngestFlowResult(IngestResult):
    cached: bool  # raw/ unchanged since the last ingest: nothing was read
    counts: list[dict[str, Any]]  # rows of the dataset-counts artifact


@task(name="ingest-raw", cache_policy=CACHE_POLICY, persist_result=True)
def ingest_task(
    settings: dict[str, Any],
    key: str,
    raw_dirs: list[str],
    raw_fingerprint: str,
    code: str,
    config: IngestConfig,
) -> IngestResult:
    """``key``, ``raw_fingerprint`` and ``code`` are unused in the body: they make the
    cache key (the settings that matter, the raw files, the library code reading them)."""
    config = config.model_copy(update={"raw_dirs": [Path(d) for d in raw_dirs]})
    report = ingest(config, settings=load_settings(settings))
    return IngestResult(
        summary=report.summary(),
        posts_new=report.posts_new,
        posts_updated=report.posts_updated,
        skipped=len(report.skipped),
        skipped_examples=[f"{f}: {why}" for f, why in report.skipped[:20]],
    )


@flow(name="ingest", log_prints=True)
def ingest_flow(
    config: IngestConfig = IngestConfig(), home: str | None = None, force: bool = False
) -> IngestFlowResult:
    """Read ``config.raw_dirs`` (default: raw/) into the lake; publish the dataset counts.

    Args:
        config: What to ingest and how, as ``picme ingest`` takes it.
        home: PICME_HOME for this run (default: the worker's environment).
        force: Ingest even when raw/ is unchanged since the last run.
    """
    logger = get_run_logger()
    settings = resolve_settings(home)
    raw_dirs = config.raw_dirs or [settings.raw_dir]
    dirs = [str(Path(d).expanduser().resolve()) for d in raw_dirs]
    # A lake deleted under an unchanged raw tree must be rebuilt, not served from cache.
    refresh = force or not lake_paths(settings).posts.is_file()
    payload = settings_payload(settings)
    result = run_cached(
        ingest_task,
        refresh,
        payload,
        settings_key(payload),
        dirs,
        tree_fingerprint(dirs),
        code_fingerprint(INGEST_MODULES),
        config,
    )
    flow_result = IngestFlowResult(**result, counts=publish_counts(settings, "ingest"))
    if flow_result.cached:
        logger.info("raw data unchanged since the last ingest: skipped")
    else:
        print(flow_result.summary)
    return flow_result
