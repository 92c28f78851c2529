"""The scrape stage's options, declared once.

``picme scrape`` turns the fields into its command-line options (:mod:`picme.cli.options`),
the Prefect flow takes a ``ScrapeConfig`` as its parameter (a deployment shows each
description), and :func:`picme.scrape.run.scrape` reads it. Light on purpose: importing it
must not import instaloader, so ``picme --help`` stays fast.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ScrapeConfig(BaseModel):
    """What to download and how much of it."""

    profiles: list[str] = Field(
        default_factory=list,
        description="Instagram profile to fetch.",
        json_schema_extra={"cli": "--profile"},
    )
    hashtags: list[str] = Field(
        default_factory=list,
        description="Hashtag to fetch (needs login).",
        json_schema_extra={"cli": "--hashtag"},
    )
    max_posts: int | None = Field(default=None, description="At most N new posts a target.")
    since: datetime | None = Field(default=None, description="Only posts on or after DATE (UTC).")
    login: str | None = Field(
        default=None,
        description="Use instaloader's saved session file of USER (never a password; create "
        "it with `instaloader --login USER`).",
    )
    download_videos: bool = Field(
        default=False,
        description="Download video files too.",
        json_schema_extra={"cli": "--videos"},
    )
    max_requests: int | None = Field(
        default=None, description="Stop after N requests (default PICME_MAX_REQUESTS)."
    )
