"""How hard a scrape may push Instagram, and the instaloader it drives.

- :class:`Politeness`: pauses, the longest wait a run sits through, retries, timeouts.
- :class:`RequestBudget`: every request counted where instaloader accounts for it (the rate
  controller for API queries, the context for downloads); at the limit the run stops.
- :class:`PoliteRateController`: instaloader's rate control with ``sleep`` replaced, so a
  wait longer than ``Politeness.max_wait_s`` (a 429 asks for ~11 minutes) raises
  :class:`~picme.scrape.errors.RateLimited` and the caller (a Prefect retry) waits instead.
- :class:`PicmeContext` and :func:`make_loader`: an Instaloader whose console output goes to
  redacted logging and whose downloads are counted.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import instaloader
from instaloader import InstaloaderContext, RateController

from picme.scrape.errors import RateLimited, RequestBudgetReached, duration
from picme.util import logsafe
from picme.util.logsafe import redact

logger = logging.getLogger(__name__)
# urllib3 logs request lines (URLs with query variables) at DEBUG.
logsafe.install(__name__, "urllib3.connectionpool")

# {shortcode} keeps two posts taken in the same second apart (the default pattern collides).
FILENAME_PATTERN = "{date_utc}_UTC_{shortcode}"


@dataclass
class Politeness:
    """How hard a run may push. Defaults are instaloader's manners plus a bounded wait."""

    sleep: bool = True  # instaloader's short random pause before each request
    max_wait_s: float = 120.0  # longer rate-control waits raise RateLimited instead
    max_connection_attempts: int = 3
    request_timeout_s: float = 60.0
    max_consecutive_failures: int = 3  # posts in a row that fail before a target is dropped
    sleeper: Callable[[float], None] = time.sleep


class RequestBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.by_kind: Counter[str] = Counter()

    def charge(self, kind: str) -> None:
        if self.used >= self.limit:
            raise RequestBudgetReached(
                f"the request budget of {self.limit} was reached (PICME_MAX_REQUESTS); "
                "run again to continue where this run stopped"
            )
        self.used += 1
        self.by_kind[kind] += 1


class PoliteRateController(RateController):
    """Instaloader's rate control, with long waits handed back to the caller."""

    def __init__(
        self,
        context: InstaloaderContext,
        *,
        budget: RequestBudget,
        max_wait_s: float,
        sleeper: Callable[[float], None],
    ) -> None:
        super().__init__(context)
        self._budget = budget
        self._max_wait_s = max_wait_s
        self._sleeper = sleeper

    def sleep(self, secs: float) -> None:
        if secs > self._max_wait_s:
            until = datetime.now(UTC) + timedelta(seconds=secs)
            raise RateLimited(
                f"Instagram rate limit: instaloader's rate control asks to wait {duration(secs)}"
                f" (a run waits at most {duration(self._max_wait_s)}); run again after"
                f" {until:%H:%M} UTC: complete posts are kept and the run resumes where it"
                " stopped",
                wait_s=secs,
            )
        if secs >= 1:
            logger.info("rate control: waiting %s", duration(secs))
        self._sleeper(secs)

    def wait_before_query(self, query_type: str) -> None:
        super().wait_before_query(query_type)
        self._budget.charge("api" if query_type != "iphone" else "iphone")


class PicmeContext(InstaloaderContext):
    """Instaloader's context with its console output routed to redacted logging and its
    downloads counted against the request budget."""

    def __init__(self, budget: RequestBudget, **kwargs: Any) -> None:
        self.picme_budget = budget
        self.recent_errors: deque[str] = deque(maxlen=20)
        super().__init__(**kwargs)

    def log(self, *msg: Any, sep: str = "", end: str = "\n", flush: bool = False) -> None:
        text = sep.join(str(m) for m in msg).strip()
        if text:
            logger.debug("instaloader: %s", text)

    def error(self, msg: Any, repeat_at_end: bool = True) -> None:
        text = redact(str(msg))
        self.recent_errors.append(text)
        logger.warning("instaloader: %s", text)
        if repeat_at_end:
            self.error_log.append(text)

    def get_raw(self, url: str) -> Any:
        self.picme_budget.charge("download")
        return super().get_raw(url)

    def head(self, url: str, allow_redirects: bool = False) -> Any:
        self.picme_budget.charge("download")
        return super().head(url, allow_redirects=allow_redirects)


def make_loader(politeness: Politeness, download_videos: bool, budget: RequestBudget) -> Any:
    """An Instaloader that writes instaloader's own layout and talks through PicmeContext."""
    loader = instaloader.Instaloader(
        sleep=politeness.sleep,
        quiet=True,
        filename_pattern=FILENAME_PATTERN,
        download_pictures=True,
        download_videos=download_videos,
        download_video_thumbnails=True,
        download_geotags=False,
        download_comments=False,
        save_metadata=True,
        compress_json=True,
        max_connection_attempts=politeness.max_connection_attempts,
        request_timeout=politeness.request_timeout_s,
        # Resuming is driven here (resume files in the state folder, not in raw/).
        resume_prefix=None,
        # The iPhone endpoints cost one more request per post for a larger image and have
        # the tightest limits; the web display URL is large enough for PicMe.
        iphone_support=False,
    )
    # Instaloader builds a plain context; swap in ours, configured the same way.
    loader.context.close()
    loader.context = PicmeContext(
        budget,
        sleep=politeness.sleep,
        quiet=True,
        max_connection_attempts=politeness.max_connection_attempts,
        request_timeout=politeness.request_timeout_s,
        rate_controller=lambda ctx: PoliteRateController(
            ctx, budget=budget, max_wait_s=politeness.max_wait_s, sleeper=politeness.sleeper
        ),
        iphone_support=False,
    )
    return loader
