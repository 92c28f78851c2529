"""One run over its targets: a profile or a hashtag feed, walked newest first.

A pass downloads what is new, refreshes the likes of recent posts it already has, and stops
at the first older post it has seen (instaloader's LatestStamps marks where the last
complete pass ended), at ``since``, or after ``max_posts`` new posts. A pass cut short
leaves instaloader's resume file, and the next run continues from there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import instaloader
from instaloader import Hashtag, Post, Profile

from picme.scrape.download import Downloader
from picme.scrape.errors import (
    INSTAGRAM_ERRORS,
    LoginRequired,
    PrivateProfile,
    RateLimited,
    ScrapeError,
    SessionError,
    explain,
)
from picme.scrape.rate import Politeness
from picme.scrape.report import TargetResult
from picme.scrape.state import (
    Known,
    Stamps,
    basename_time,
    index_existing,
    safe_name,
    save_frozen,
    state_dir,
)
from picme.util import logsafe

if TYPE_CHECKING:
    from picme.settings import Settings

logger = logging.getLogger(__name__)
logsafe.install(__name__)

# Instaloader's own allowance: up to three pinned posts head a profile's feed out of date
# order, so they never end a pass.
POSSIBLY_PINNED = 3
# A like count observed less than this long ago is not worth another request.
MIN_REFRESH_INTERVAL = timedelta(hours=1)


class Scraper:
    """What one run needs for every target: the logged-in loader, its files, its state."""

    def __init__(
        self,
        loader: Any,
        settings: Settings,
        politeness: Politeness,
        run_at: datetime,
        login: str | None,
        max_posts: int | None,
        since: datetime | None,
    ) -> None:
        self.loader = loader
        self.settings = settings
        self.politeness = politeness
        self.run_at = run_at
        self.login = login
        self.max_posts = max_posts
        self.since = since
        self.raw = settings.raw_dir
        state = state_dir(settings)
        self.files = Downloader(loader, state / "staging", run_at)
        self.resume_dir = state / "resume"
        self.stamps = Stamps(state / "latest-stamps.ini")

    @property
    def logged_in(self) -> bool:
        return bool(self.loader.context.is_logged_in)

    def scrape_profile(self, name: str, result: TargetResult) -> None:
        what = f"profile '{name}'"
        try:
            profile = self.loader.check_profile_id(name, self.stamps)
            self._check_access(profile, what)
            snapshot = self.files.snapshot(profile)
        except INSTAGRAM_ERRORS as exc:
            raise explain(exc, what, self.login) from None
        target_dir = self.raw / name
        result.snapshot = self.files.write_snapshot(target_dir, snapshot)
        result.followers = snapshot["followers"]
        self.files.write_profile_json(target_dir, profile)
        try:
            posts = profile.get_posts()
        except INSTAGRAM_ERRORS as exc:
            raise explain(exc, what, self.login) from None
        FeedPass(self, result, name, target_dir, owner=profile).run(posts)

    def scrape_hashtag(self, tag: str, result: TargetResult) -> None:
        what = f"hashtag #{tag}"
        if not self.logged_in:
            raise LoginRequired(
                f"{what} needs a login (Instagram shows hashtag feeds only to logged-in "
                "users): run with --login USER and an instaloader session file (create it "
                "with `instaloader --login USER`)"
            )
        try:
            posts = Hashtag.from_name(self.loader.context, tag).get_posts_resumable()
        except INSTAGRAM_ERRORS as exc:
            raise explain(exc, what, self.login) from None
        target = f"#{tag}"
        FeedPass(self, result, target, self.raw / target, owner=None).run(posts)

    def _check_access(self, profile: Profile, what: str) -> None:
        if not profile.is_private:
            return
        if not self.logged_in:
            raise LoginRequired(
                f"{what} is private: run with --login USER, the instaloader session of an "
                "account that follows it (create it with `instaloader --login USER`)"
            )
        own = profile.username == (self.loader.context.username or "").lower()
        if not own and not profile.followed_by_viewer:
            raise PrivateProfile(
                f"{what} is private and {self.loader.context.username} does not follow it: "
                "follow it from that account, or leave it out"
            )


class FeedPass:
    """One pass over one feed, newest first (see the module docstring)."""

    def __init__(
        self,
        scraper: Scraper,
        result: TargetResult,
        target: str,
        target_dir: Path,
        owner: Profile | None,
    ) -> None:
        self.scraper = scraper
        self.result = result
        self.target = target
        self.target_dir = target_dir
        self.owner = owner
        self.what = f"profile '{target}'" if owner is not None else f"hashtag {target}"
        self.known = index_existing(target_dir)
        self.last_pass = scraper.stamps.get_last_post_timestamp(target)
        self.refresh_window = timedelta(days=scraper.settings.refresh_days)
        self.failures_in_a_row = 0

    def run(self, posts: Iterator[Post]) -> None:
        resume_dir = self.scraper.resume_dir / safe_name(self.target)
        with instaloader.resumable_iteration(
            context=self.scraper.loader.context,
            iterator=posts,
            load=instaloader.load_structure_from_file,
            save=save_frozen,
            format_path=lambda magic: str(resume_dir / f"{magic}.json.xz"),
            check_bbd=True,
        ) as (is_resuming, start_index):
            if is_resuming:
                logger.info(
                    "%s: resuming an interrupted pass at post %d", self.what, start_index + 1
                )
            for number, post in self._numbered(posts, start_index + 1):
                taken = post.date_utc.replace(tzinfo=UTC)
                may_be_pinned = number <= POSSIBLY_PINNED
                recent = self.scraper.run_at - taken < self.refresh_window
                if self._ends_pass(taken, recent, may_be_pinned):
                    break
                if self.scraper.since is not None and taken < self.scraper.since:
                    continue  # a pinned post older than `since`
                self._visit(post, recent)
        self._finish()

    def _numbered(self, posts: Iterator[Post], start: int) -> Iterator[tuple[int, Post]]:
        """The feed's posts with their 1-based position, until ``max_posts`` new ones."""
        numbered = enumerate(posts, start=start)
        while True:
            if (
                self.scraper.max_posts is not None
                and self.result.posts_new >= self.scraper.max_posts
            ):
                return  # before fetching the next post: anonymously that costs a request
            try:
                item = next(numbered)
            except StopIteration:
                return
            except INSTAGRAM_ERRORS as exc:
                raise explain(exc, self.what, self.scraper.login) from None
            yield item

    def _ends_pass(self, taken: datetime, recent: bool, may_be_pinned: bool) -> bool:
        """Past ``since``, or down to what the last complete pass saw and too old to
        refresh; a possibly pinned post is out of date order and never ends a pass."""
        if may_be_pinned:
            return False
        since = self.scraper.since
        if since is not None and taken < since:
            return True
        return taken <= self.last_pass and not recent

    def _visit(self, post: Post, recent: bool) -> None:
        """Refresh a known post when due, download a new one; count what happened."""
        code = post.shortcode
        files = self.scraper.files
        try:
            seen = self.known.get(code)
            if seen is not None:
                self._revisit(post, seen, recent)
                return
            images, basename = files.post(post, self.target, self.target_dir, self.owner)
        except INSTAGRAM_ERRORS as exc:
            self._failed(code, exc)
            return
        self.failures_in_a_row = 0
        self.known[code] = Known(basename, files.now())
        self.result.posts_new += 1
        self.result.images += images
        logger.info("%s: saved post %s (%d images)", self.what, code, images)

    def _revisit(self, post: Post, seen: Known, recent: bool) -> None:
        scraper = self.scraper
        due = scraper.run_at - seen.observed_at >= MIN_REFRESH_INTERVAL
        if recent and due and scraper.files.refresh(post, self.target_dir, seen, self.owner):
            seen.observed_at = scraper.run_at
            self.result.posts_refreshed += 1
        else:
            self.result.posts_known += 1

    def _failed(self, code: str, exc: BaseException) -> None:
        error = explain(exc, f"post {code} of {self.target}", self.scraper.login)
        if isinstance(error, RateLimited | SessionError):
            raise error from None
        self.result.post_errors.append(f"{code}: {error}")
        logger.warning("%s", error)
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.scraper.politeness.max_consecutive_failures:
            raise ScrapeError(
                f"{self.what}: {self.failures_in_a_row} posts in a row failed, the last with "
                f"{error}; the next run retries them"
            ) from None

    def _finish(self) -> None:
        self.result.complete = True
        # A failed post must be retried by the next pass, so the mark only moves when
        # every post of this one made it. After a complete pass raw/ holds the feed down to
        # the previous mark, so its newest post dates the pass (instaloader's first_item
        # would cost a request after a resume).
        newest = max(
            filter(None, (basename_time(k.basename) for k in self.known.values())), default=None
        )
        if newest is not None and not self.result.post_errors:
            self.scraper.stamps.set_last_post_timestamp(self.target, newest)
