"""Scrape flow: instaloader downloads into raw/, one scraper at a time, retried with backoff.

The concurrency limit is a Prefect *global* limit named ``instagram`` (one slot): every
scrape, from any deployment or worker, holds it while it talks to Instagram. In server
mode create it once (``prefect gcl create instagram --limit 1``); when it is missing (a
fresh ephemeral server) the flow creates it with one slot rather than run unguarded.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task, exponential_backoff

from flows.common import (
    INSTAGRAM_LIMIT,
    SCRAPE_KEY,
    load_settings,
    md_escape,
    resolve_settings,
    settings_payload,
)

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
    from picme.errors import InputError
    from picme.scrape.run import RateLimited, RequestBudgetReached

    exc = state.data if isinstance(state.data, BaseException) else None
    if isinstance(exc, RateLimited):
        return True
    return not isinstance(exc, InputError | RequestBudgetReached)


@task(
    name="scrape-instagram",
    retries=SCRAPE_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=SCRAPE_BACKOFF_SECONDS),
    retry_jitter_factor=0.2,
    retry_condition_fn=_retry_unless_bad_input,
)
def scrape_task(
    settings: dict[str, Any],
    profiles: list[str],
    hashtags: list[str],
    max_posts: int | None,
    since: datetime | None,
    login: str | None,
    download_videos: bool,
) -> dict[str, Any]:
    from prefect.concurrency.sync import concurrency

    import picme.scrape.run

    logger = get_run_logger()
    ensure_instagram_limit()
    with concurrency(INSTAGRAM_LIMIT, occupy=1, strict=False):
        logger.info(
            "scraping %d profile(s), %d hashtag(s) into %s",
            len(profiles),
            len(hashtags),
            load_settings(settings).raw_dir,
        )
        report = picme.scrape.run.scrape_targets(
            profiles=profiles,
            hashtags=hashtags,
            max_posts=max_posts,
            since=since,
            login=login,
            download_videos=download_videos,
            settings=load_settings(settings),
        )
    errors = [str(e) for e in (getattr(report, "errors", None) or [])]
    return {"summary": report.summary(), "errors": errors}


@flow(name="scrape", log_prints=True)
def scrape_flow(
    profiles: list[str] | None = None,
    hashtags: list[str] | None = None,
    max_posts: int | None = None,
    since: datetime | None = None,
    login: str | None = None,
    download_videos: bool = False,
    home: str | None = None,
) -> dict[str, Any]:
    """Download posts, images and profile snapshots of ``profiles``/``hashtags`` into raw/.

    ``login`` names an instaloader session file (never a password); it is not logged.
    """
    settings = resolve_settings(home)
    profiles = list(profiles or [])
    hashtags = list(hashtags or [])
    if not profiles and not hashtags:
        get_run_logger().info("nothing to scrape: no profiles or hashtags given")
        return {"summary": "nothing to scrape: no profiles or hashtags given", "errors": []}
    result = scrape_task(
        settings_payload(settings),
        profiles,
        hashtags,
        max_posts,
        since,
        login,
        download_videos,
    )
    lines = [f"# Scrape into `{md_escape(settings.raw_dir)}`", "", md_escape(result["summary"])]
    if result["errors"]:
        lines += ["", "## Errors", ""] + [f"- {md_escape(e)}" for e in result["errors"]]
    create_markdown_artifact("\n".join(lines), key=SCRAPE_KEY, description="Scrape summary")
    print(result["summary"])
    return result
