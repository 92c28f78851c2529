"""Scrape Instagram profiles and hashtags into raw/ with instaloader, politely and resumably.

What a run writes, per target (``raw/<profile>/`` or ``raw/#<tag>/``), all in instaloader's
own layout and never rewriting a file that is already there:

- each new post: ``<date>_UTC_<shortcode>.jpg`` (``_1.jpg``, ``_2.jpg``... for carousels, the
  thumbnail for videos; the ``.mp4`` only with ``download_videos``), ``.json.xz`` metadata
  (instaloader's ``save_structure_to_file``) and the caption ``.txt``;
- ``profile_snapshots/<YYYYmmddTHHMMSSZ>.json``: followers, followees, post count, when;
- ``refresh/<YYYYmmddTHHMMSSZ>/<post basename>.json.xz``: a new observation of a post
  already downloaded but younger than ``settings.refresh_days``, whose likes still grow;
- ``<profile>_<userid>.json.xz``: instaloader's profile metadata, written once.

How: staged downloads renamed into place (:mod:`.download`), incremental passes that resume
(:mod:`.feed`, :mod:`.state`), rate control and a request budget (:mod:`.rate`), login by
session file only with secrets masked everywhere (:mod:`.session`).

This module is the stage's entry point; it also names the errors and report its callers
catch and read.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, date, datetime

import requests

from picme.errors import InputError
from picme.scrape.config import ScrapeConfig
from picme.scrape.errors import (
    INSTAGRAM_ERRORS,
    CheckpointRequired,
    LoginRequired,
    PrivateProfile,
    RateLimited,
    RequestBudgetReached,
    ScrapeError,
    SessionError,
    TargetNotFound,
    explain,
)
from picme.scrape.feed import Scraper
from picme.scrape.rate import Politeness, RequestBudget, make_loader
from picme.scrape.report import ScrapeReport, TargetResult
from picme.scrape.session import load_session, login_name
from picme.scrape.state import one_scrape_at_a_time, state_dir
from picme.settings import Settings, get_settings
from picme.util import logsafe, progress

__all__ = [
    "CheckpointRequired",
    "LoginRequired",
    "Politeness",
    "PrivateProfile",
    "RateLimited",
    "RequestBudgetReached",
    "ScrapeError",
    "ScrapeReport",
    "SessionError",
    "TargetNotFound",
    "TargetResult",
    "scrape",
    "scrape_targets",
]

logger = logging.getLogger(__name__)
logsafe.install(__name__)

_PROFILE_NAME = re.compile(r"^[a-z0-9._]{1,30}$")
_HASHTAG_NAME = re.compile(r"^\w{1,150}$")


def scrape(
    config: ScrapeConfig,
    settings: Settings | None = None,
    *,
    politeness: Politeness | None = None,
) -> ScrapeReport:
    """:func:`scrape_targets` with the options of ``config``; its ``max_requests``, when
    set, replaces ``settings.max_requests`` for this run."""
    settings = settings or get_settings()
    if config.max_requests is not None:
        settings = settings.model_copy(update={"max_requests": config.max_requests})
    return scrape_targets(
        profiles=list(config.profiles),
        hashtags=list(config.hashtags),
        max_posts=config.max_posts,
        since=config.since,
        login=config.login,
        download_videos=config.download_videos,
        settings=settings,
        politeness=politeness,
    )


def scrape_targets(
    profiles: Sequence[str] = (),
    hashtags: Sequence[str] = (),
    max_posts: int | None = None,
    since: datetime | date | None = None,
    login: str | None = None,
    download_videos: bool = False,
    settings: Settings | None = None,
    *,
    politeness: Politeness | None = None,
    now: datetime | None = None,
) -> ScrapeReport:
    """Download ``profiles`` and ``hashtags`` into ``settings.raw_dir``; see the module doc.

    ``max_posts`` bounds the new posts per target, ``since`` (UTC when naive) ends a pass
    at older posts, ``login`` names the user whose instaloader session file to load.
    ``now`` pins the run's time (snapshot and refresh names, refresh window).

    Per-target problems (missing or private profile, login needed) are recorded in the
    report and the other targets go on. A rate limit or a session problem ends the run by
    raising :class:`RateLimited` / :class:`SessionError` with ``.report`` attached; reaching
    the request budget ends it with ``report.stopped`` set. Progress is kept in every case.
    """
    settings = settings or get_settings()
    politeness = politeness or Politeness()
    jobs = _jobs(profiles, hashtags)
    user = login_name(login) if login else None
    if not jobs:
        raise InputError("nothing to scrape: give at least one --profile NAME or --hashtag TAG")
    _check_bounds(max_posts, settings)
    run_at = (_as_utc(now) or datetime.now(UTC)).replace(microsecond=0)
    report = ScrapeReport(
        run_at=run_at, raw_dir=settings.raw_dir, max_requests=settings.max_requests
    )
    budget = RequestBudget(settings.max_requests)

    with one_scrape_at_a_time(settings):
        shutil.rmtree(state_dir(settings) / "staging", ignore_errors=True)
        loader = make_loader(politeness, download_videos, budget)
        try:
            if user is not None:
                try:
                    load_session(loader, user, settings)
                except INSTAGRAM_ERRORS as exc:
                    raise explain(exc, "the login check", user) from None
            scraper = Scraper(loader, settings, politeness, run_at, user, max_posts, _as_utc(since))
            with progress.task("scraping", total=len(jobs)) as bar:
                for kind, name in jobs:
                    result = TargetResult(
                        target=name if kind == "profile" else f"#{name}", kind=kind
                    )
                    report.targets.append(result)
                    bar.update(description=f"scraping {result.target}")
                    stopped = _scrape_one(scraper, kind, name, result)
                    bar.advance()
                    if stopped is not None:
                        report.stopped = stopped
                        break
        except ScrapeError as exc:
            exc.report = report
            raise
        finally:
            report.requests = budget.used
            loader.close()
    logger.debug("%s", report.summary())
    return report


def _scrape_one(scraper: Scraper, kind: str, name: str, result: TargetResult) -> str | None:
    """Scrape one target into ``result``; the reason the run must stop early, if any.

    A problem of this target alone is recorded in ``result`` and the run goes on; a rate
    limit, a session problem or a full disk end the run."""
    try:
        if kind == "profile":
            scraper.scrape_profile(name, result)
        else:
            scraper.scrape_hashtag(name, result)
    except RequestBudgetReached as exc:
        return str(exc)
    except (RateLimited, SessionError) as exc:
        result.error = str(exc)
        raise
    except ScrapeError as exc:
        result.error = str(exc)
        logger.warning("%s", exc)
    except KeyError as exc:
        # Instagram changed a response shape under instaloader's feet.
        result.error = (
            f"Instagram answered in a shape instaloader does not know (no {exc}); "
            "update it (pip install -U instaloader) and run again"
        )
        logger.warning("%s: %s", result.target, result.error)
    except requests.RequestException as exc:
        result.error = str(explain(exc, result.target, scraper.login))
    except OSError as exc:
        result.error = f"cannot write under {scraper.settings.home}: {exc}"
        raise ScrapeError(result.error) from exc
    return None


def _jobs(profiles: Sequence[str], hashtags: Sequence[str]) -> list[tuple[str, str]]:
    """(kind, name) of every target, in order, each once."""
    # A lone string would otherwise be read as a list of one-letter names.
    names = _unique(
        [_profile_name(p) for p in ([profiles] if isinstance(profiles, str) else profiles)]
    )
    tags = _unique(
        [_hashtag_name(h) for h in ([hashtags] if isinstance(hashtags, str) else hashtags)]
    )
    return [("profile", n) for n in names] + [("hashtag", t) for t in tags]


def _check_bounds(max_posts: int | None, settings: Settings) -> None:
    if max_posts is not None and max_posts < 1:
        raise InputError(f"--max-posts must be at least 1 (got {max_posts})")
    if settings.max_requests < 1:
        raise InputError(f"PICME_MAX_REQUESTS must be at least 1 (got {settings.max_requests})")


def _profile_name(raw: str) -> str:
    name = raw.strip().lstrip("@").lower()
    if not _PROFILE_NAME.match(name):
        raise InputError(
            f"--profile {raw!r} is not an Instagram username (letters, digits, '.' and '_', "
            "at most 30)"
        )
    return name


def _hashtag_name(raw: str) -> str:
    name = raw.strip().lstrip("#").lower()
    if not _HASHTAG_NAME.match(name):
        raise InputError(f"--hashtag {raw!r} is not a hashtag (letters, digits and '_')")
    return name


def _as_utc(moment: datetime | date | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
