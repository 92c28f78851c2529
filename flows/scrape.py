"""Scrape flow: instaloader downloads into raw/, one scraper at a time, retried with backoff.

The concurrency limit is a Prefect *global* limit named ``instagram`` (one slot): every
scrape, from any deployment or worker, holds it while it talks to Instagram. In server
mode create it once (``prefect gcl create instagram --limit 1``); when it is missing (a
fresh ephemeral server) the flow creates it with one slot rather than run unguarded.
"""

from __future__ import annotations

import contextlib
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task, exponential_backoff
from pydantic import BaseModel, Field

import picme.scrape.run
from flows.common import (
    INSTAGRAM_LIMIT,
    SCRAPE_KEY,
    load_settings,
    resolve_settings,
    settings_payload,
)
from picme.errors import InputError
from picme.registry.report import md
from picme.scrape.config import ScrapeConfig
from picme.scrape.errors import RateLimited, RequestBudgetReached

# The scraper raises RateLimited instead of sleeping through a long Instagram wait, so the
# wait happens here, between attempts, without blocking a worker slot: 2, 4, 8 minutes.
SCRAPE_RETRIES = 3
SCRAPE_BACKOFF_SECONDS = 120.0


def ensure_instagram_limit(limit: int = 1) -> None:
    """Create the global limit when absent; never change one an operator configured."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(INSTAGRAM_LIMIT)
            return
        except ObjectNotFound:
            pass
        # Another run may create it between the two calls.
        with contextlib.suppress(ObjectAlreadyExists):
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=INSTAGRAM_LIMIT, limit=limit)
            )


def _retry_unless_bad_input(task: Task[..., Any], task_run: TaskRun, state: State) -> bool:
    """Retry network trouble and rate limits. A bad profile name, a missing session file
    or a spent request budget would fail the same way (or overspend) on every attempt."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if isinstance(exc, RateLimited):
        return True
    return not isinstance(exc, InputError | RequestBudgetReached)


class ScrapeResult(BaseModel):
    """What a scrape flow run did: the report's summary, and one line per failed target or
    post (``target: message``)."""

    summary: str
    errors: list[str] = Field(default_factory=list)


@task(
    name="scrape-instagram",
    retries=SCRAPE_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=SCRAPE_BACKOFF_SECONDS),
    retry_jitter_factor=0.2,
    retry_condition_fn=_retry_unless_bad_input,
)
def scrape_task(settings: dict[str, Any], config: ScrapeConfig) -> ScrapeResult:
    from prefect.concurrency.sync import concurrency

    logger = get_run_logger()
    ensure_instagram_limit()
    with concurrency(INSTAGRAM_LIMIT, occupy=1, strict=False):
        logger.info(
            "scraping %d profile(s), %d hashtag(s) into %s",
            len(config.profiles),
            len(config.hashtags),
            load_settings(settings).raw_dir,
        )
        # Looked up on the module at call time, so tests can stand in for Instagram.
        report = picme.scrape.run.scrape(config, settings=load_settings(settings))
    return ScrapeResult(summary=report.summary(), errors=[str(e) for e in report.errors])


@flow(name="scrape", log_prints=True)
def scrape_flow(config: ScrapeConfig = ScrapeConfig(), home: str | None = None) -> ScrapeResult:
    """Download posts, images and profile snapshots of ``config.profiles`` and
    ``config.hashtags`` into raw/.

    ``config.login`` names an instaloader session file (never a password); it is not logged.

    Args:
        config: What to scrape and how, as ``picme scrape`` takes it.
        home: PICME_HOME for this run (default: the worker's environment).
    """
    settings = resolve_settings(home)
    if not config.profiles and not config.hashtags:
        get_run_logger().info("nothing to scrape: no profiles or hashtags given")
        return ScrapeResult(summary="nothing to scrape: no profiles or hashtags given")
    result = scrape_task(settings_payload(settings), config)
    lines = [f"# Scrape into `{md(settings.raw_dir)}`", "", md(result.summary)]
    if result.errors:
        lines += ["", "## Errors", ""] + [f"- {md(e)}" for e in result.errors]
    create_markdown_artifact("\n".join(lines), key=SCRAPE_KEY, description="Scrape summary")
    print(result.summary)
    return result
