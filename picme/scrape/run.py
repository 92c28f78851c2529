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

How it stays safe and polite:

- A post is downloaded into a staging folder under ``settings.home/state/scrape`` and its
  complete files are renamed into raw/, metadata last; a crash or Ctrl-C leaves at worst a
  staging folder, never half a post in raw/. A post counts as present when its
  ``.json.xz`` is in raw/, so a rerun never downloads it twice.
- Incremental: instaloader's ``LatestStamps`` (in the state folder, not in raw/) remembers
  the newest post of the last complete pass per target; a rerun walks the feed newest
  first, downloads what is new, refreshes recent posts, and stops at the first older post
  it has already seen. A pass cut short (rate limit, request budget, crash) leaves
  instaloader's resume file, and the next run continues from there.
- Rate control is instaloader's ``RateController``, with ``sleep`` replaced: short waits
  sleep, a wait longer than ``Politeness.max_wait_s`` (a 429 asks for ~11 minutes) raises
  :class:`RateLimited` so that the caller (a Prefect retry) waits without holding a worker.
- Every request is counted where instaloader accounts for it (the rate controller for API
  queries, the context for downloads); at ``settings.max_requests`` the run stops cleanly,
  with its progress saved, and says so.
- Login only through instaloader's session files; cookie values are registered with
  :mod:`picme.util.logsafe` as soon as they are read and masked in every log line and message.
"""

from __future__ import annotations

import configparser
import contextlib
import errno
import json
import logging
import lzma
import os
import re
import shutil
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import instaloader
import requests
from instaloader import (
    AbortDownloadException,
    Hashtag,
    InstaloaderContext,
    InstaloaderException,
    LatestStamps,
    LoginRequiredException,
    Post,
    PostChangedException,
    PrivateProfileNotFollowedException,
    Profile,
    ProfileNotExistsException,
    QueryReturnedForbiddenException,
    QueryReturnedNotFoundException,
    RateController,
    TooManyRequestsException,
)

from picme.errors import InputError, PicmeError
from picme.util import logsafe
from picme.util.atomic import atomic_open
from picme.util.logsafe import redact

if TYPE_CHECKING:
    from picme.settings import Settings

logger = logging.getLogger(__name__)
# urllib3 logs request lines (URLs with query variables) at DEBUG.
logsafe.install(__name__, "urllib3.connectionpool")

# {shortcode} keeps two posts taken in the same second apart (the default pattern collides).
FILENAME_PATTERN = "{date_utc}_UTC_{shortcode}"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# Instaloader's own allowance: up to three pinned posts head a profile's feed out of date
# order, so they never end a pass.
POSSIBLY_PINNED = 3
# A like count observed less than this long ago is not worth another request.
MIN_REFRESH_INTERVAL = timedelta(hours=1)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic"}

_PROFILE_NAME = re.compile(r"^[a-z0-9._]{1,30}$")
_LOGIN_NAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_HASHTAG_NAME = re.compile(r"^\w{1,150}$")
_POST_FILE = re.compile(
    r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC(?:_(?P<shortcode>[A-Za-z0-9_-]+))?\.json\.xz$"
)
_RATE_LIMIT_TEXT = re.compile(
    r"(?i)(?:^|[\s:(])429\b|too many requests|please wait a few minutes|rate.?limit"
)
_CHECKPOINT_TEXT = re.compile(r"(?i)checkpoint|challenge_required|feedback_required")


# --------------------------------------------------------------------------- errors


class ScrapeError(PicmeError):
    """A scrape problem with a one-line message saying what to do.

    When it ends a run, ``report`` holds what the run did before it stopped."""

    report: ScrapeReport | None = None


class RateLimited(ScrapeError):
    """Instagram asks us to slow down for longer than a run may wait; run again later.

    ``wait_s`` is instaloader's requested wait when known. Progress is saved."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class RequestBudgetReached(ScrapeError):
    """``settings.max_requests`` requests were made; the run stops with progress saved."""


class SessionError(ScrapeError, InputError):
    """The session file is missing, unreadable or no longer logged in: the user must act."""


class CheckpointRequired(SessionError):
    """Instagram wants a security check in a browser before this session works again."""


class LoginRequired(ScrapeError, InputError):
    """The target is visible only with a login (private profile, hashtag, refused visitor)."""


class PrivateProfile(ScrapeError, InputError):
    """A private profile that the logged-in account does not follow."""


class TargetNotFound(ScrapeError, InputError):
    """No such profile or hashtag."""


# --------------------------------------------------------------------------- results


@dataclass
class Politeness:
    """How hard a run may push. Defaults are instaloader's manners plus a bounded wait."""

    sleep: bool = True  # instaloader's short random pause before each request
    max_wait_s: float = 120.0  # longer rate-control waits raise RateLimited instead
    max_connection_attempts: int = 3
    request_timeout_s: float = 60.0
    max_consecutive_failures: int = 3  # posts in a row that fail before a target is dropped
    sleeper: Callable[[float], None] = time.sleep


@dataclass
class TargetResult:
    target: str  # "name" for a profile, "#tag" for a hashtag
    kind: str  # "profile" or "hashtag"
    posts_new: int = 0
    images: int = 0
    posts_refreshed: int = 0
    posts_known: int = 0  # already in raw/ and not due for a refresh
    snapshot: Path | None = None
    followers: int | None = None
    post_errors: list[str] = field(default_factory=list)
    error: str | None = None
    complete: bool = False  # the pass reached its natural end

    def line(self) -> str:
        parts = [f"{self.posts_new} new ({self.images} images)"]
        if self.posts_refreshed:
            parts.append(f"{self.posts_refreshed} likes refreshed")
        if self.posts_known:
            parts.append(f"{self.posts_known} already present")
        if self.followers is not None:
            parts.append(f"{self.followers:,} followers")
        if self.post_errors:
            parts.append(f"{len(self.post_errors)} posts failed")
        if self.error:
            parts.append(f"error: {self.error}")
        elif not self.complete:
            parts.append("incomplete, the next run continues")
        label = self.target if self.kind == "hashtag" else f"@{self.target}"
        return f"  {label}: " + ", ".join(parts)


@dataclass
class ScrapeReport:
    run_at: datetime
    raw_dir: Path
    max_requests: int
    targets: list[TargetResult] = field(default_factory=list)
    requests: int = 0
    stopped: str | None = None  # why the run ended before its last target

    @property
    def posts_new(self) -> int:
        return sum(t.posts_new for t in self.targets)

    @property
    def images(self) -> int:
        return sum(t.images for t in self.targets)

    @property
    def posts_refreshed(self) -> int:
        return sum(t.posts_refreshed for t in self.targets)

    @property
    def snapshots(self) -> int:
        return sum(t.snapshot is not None for t in self.targets)

    @property
    def errors(self) -> list[str]:
        """One line per failed target or post: ``target: message``."""
        out = [f"{t.target}: {t.error}" for t in self.targets if t.error]
        out += [f"{t.target}: post {e}" for t in self.targets for e in t.post_errors]
        return out

    def summary(self) -> str:
        head = (
            f"scraped {len(self.targets)} target(s) into {self.raw_dir}: "
            f"{self.posts_new} new posts ({self.images} images), "
            f"{self.posts_refreshed} like refreshes, {self.snapshots} profile snapshots, "
            f"{self.requests}/{self.max_requests} requests"
        )
        lines = [head] + [t.line() for t in self.targets]
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- instaloader glue


class _Budget:
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


class _PoliteRateController(RateController):
    """Instaloader's rate control, with long waits handed back to the caller."""

    def __init__(
        self,
        context: InstaloaderContext,
        *,
        budget: _Budget,
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
                f"Instagram rate limit: instaloader's rate control asks to wait {_duration(secs)}"
                f" (a run waits at most {_duration(self._max_wait_s)}); run again after"
                f" {until:%H:%M} UTC: complete posts are kept and the run resumes where it"
                " stopped",
                wait_s=secs,
            )
        if secs >= 1:
            logger.info("rate control: waiting %s", _duration(secs))
        self._sleeper(secs)

    def wait_before_query(self, query_type: str) -> None:
        super().wait_before_query(query_type)
        self._budget.charge("api" if query_type != "iphone" else "iphone")


class _PicmeContext(InstaloaderContext):
    """Instaloader's context with its console output routed to redacted logging and its
    downloads counted against the request budget."""

    def __init__(self, budget: _Budget, **kwargs: Any) -> None:
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


class _Stamps(LatestStamps):
    """LatestStamps that saves by write-then-rename and survives a damaged file."""

    def __init__(self, path: Path) -> None:
        try:
            super().__init__(str(path))
        except configparser.Error as exc:
            logger.warning("ignoring unreadable scrape state %s (%s); starting afresh", path, exc)
            self.file = str(path)
            self.data = configparser.ConfigParser()

    def _save(self) -> None:
        with atomic_open(self.file, "w", encoding="utf-8") as fh:
            self.data.write(fh)


def _make_loader(politeness: Politeness, download_videos: bool, budget: _Budget) -> Any:
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
    loader.context = _PicmeContext(
        budget,
        sleep=politeness.sleep,
        quiet=True,
        max_connection_attempts=politeness.max_connection_attempts,
        request_timeout=politeness.request_timeout_s,
        rate_controller=lambda ctx: _PoliteRateController(
            ctx, budget=budget, max_wait_s=politeness.max_wait_s, sleeper=politeness.sleeper
        ),
        iphone_support=False,
    )
    return loader


def session_file_for(login: str, settings: Settings) -> Path:
    """Where the instaloader session file of ``login`` is looked for."""
    if settings.session_dir is not None:
        return Path(settings.session_dir).expanduser() / f"session-{login}"
    default = Path(instaloader.instaloader.get_default_session_filename(login))
    legacy = Path(instaloader.instaloader.get_legacy_session_filename(login))
    return legacy if not default.exists() and legacy.exists() else default


def _load_session(loader: Any, login: str, settings: Settings) -> str:
    """Log ``loader`` in from the session file of ``login``; return the session's user."""
    path = session_file_for(login, settings)
    create = (
        f"create it with `instaloader --login {login}` (or `instaloader --load-cookies BROWSER`)"
    )
    if not path.is_file():
        raise SessionError(
            f"no instaloader session file for {login} at {path}: {create}, or set "
            "PICME_SESSION_DIR to the folder that holds session-" + login
        )
    try:
        loader.load_session_from_file(login, str(path))
        cookies = loader.save_session()
    except Exception:  # pickle raises almost anything on a foreign or damaged file
        raise SessionError(f"{path} is not a readable instaloader session file: {create}") from None
    logsafe.register_secrets(v for v in cookies.values() if v)
    context: _PicmeContext = loader.context
    seen = len(context.recent_errors)
    user = loader.test_login()
    if user is None:
        why = " ".join(list(context.recent_errors)[seen:])
        if _RATE_LIMIT_TEXT.search(why):
            raise RateLimited(
                "Instagram rate limit while checking the session; wait a few minutes and run again"
            )
        if _CHECKPOINT_TEXT.search(why):
            raise _checkpoint(login)
        raise SessionError(
            f"the session of {login} is no longer logged in (expired, or Instagram wants a "
            f"security check): log in on instagram.com in a browser, then {create}"
        )
    if user.lower() != login.lower():
        logger.warning("the session file of %s is logged in as %s", login, user)
    context.username = user
    return str(user)


def _checkpoint(login: str | None) -> CheckpointRequired:
    who = login or "your account"
    return CheckpointRequired(
        f"Instagram wants a security check (checkpoint) for {who}: log in on instagram.com in "
        f"a browser, complete the check, then recreate the session with "
        f"`instaloader --login {login or 'USER'}`"
    )


def _explain(exc: BaseException, what: str, login: str | None) -> ScrapeError:
    """Turn an instaloader or requests failure into a one-line PicMe error."""
    message = _first_line(redact(str(exc))) or type(exc).__name__
    if isinstance(exc, TooManyRequestsException) or _RATE_LIMIT_TEXT.search(message):
        return RateLimited(
            f"Instagram is rate-limiting this client ({what}: {message}); wait at least 15 "
            "minutes, then run again: complete posts are kept and the run resumes where this "
            "one stopped"
        )
    if _CHECKPOINT_TEXT.search(message):
        return _checkpoint(login)
    if isinstance(exc, AbortDownloadException):
        if "logged out" in message.lower():
            return SessionError(
                f"Instagram logged the session of {login} out: wait a while, then recreate it "
                f"with `instaloader --login {login}`"
            )
        return SessionError(f"Instagram refused to go on ({message}); try again later")
    if isinstance(exc, PrivateProfileNotFollowedException):
        return PrivateProfile(
            f"{what} is private and {login or 'the logged-in account'} does not follow it: "
            "follow it from that account, or leave it out"
        )
    if isinstance(exc, LoginRequiredException) or "redirected to login" in message.lower():
        return LoginRequired(
            f"Instagram shows {what} only to logged-in users (a private profile, or anonymous "
            "access refused): run with --login USER and an instaloader session file "
            "(create it with `instaloader --login USER`)"
        )
    if isinstance(exc, ProfileNotExistsException):
        return TargetNotFound(f"{what} does not exist (or has blocked you): check the spelling")
    if isinstance(exc, QueryReturnedNotFoundException):
        return TargetNotFound(f"{what} was not found on Instagram (404): check the name")
    if isinstance(exc, QueryReturnedForbiddenException):
        return ScrapeError(f"{what}: Instagram refused access (403): {message}")
    return ScrapeError(
        f"{what}: {message} (a network or Instagram error; run again later: complete posts "
        "are kept)"
    )


# What talking to Instagram can raise; anything else is a local problem (disk, a bug).
_INSTAGRAM_ERRORS = (InstaloaderException, AbortDownloadException, requests.RequestException)


# --------------------------------------------------------------------------- raw layout


@dataclass
class _Known:
    basename: str
    observed_at: datetime


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def _parse_stamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _basename_time(basename: str) -> datetime | None:
    """The UTC time a post was taken, from its instaloader file name."""
    try:
        return datetime.strptime(basename[:19], "%Y-%m-%d_%H-%M-%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _shortcode_in(path: Path) -> str | None:
    """Shortcode stored in a post's .json.xz (files named without one, e.g. instaloader's
    default ``<date>_UTC.json.xz``)."""
    try:
        with lzma.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, lzma.LZMAError, ValueError, EOFError):
        return None
    node = data.get("node") if isinstance(data, dict) else None
    kind = (data.get("instaloader") or {}).get("node_type") if isinstance(data, dict) else None
    if not isinstance(node, dict) or kind not in (None, "Post"):
        return None
    code = node.get("shortcode") or node.get("code")
    return str(code) if code else None


def index_existing(target_dir: Path) -> dict[str, _Known]:
    """Posts already in ``target_dir`` (their .json.xz is present), by shortcode, with the
    time of their latest observation (metadata file or latest like refresh)."""
    known: dict[str, _Known] = {}
    if not target_dir.is_dir():
        return known
    for path in target_dir.iterdir():
        match = _POST_FILE.match(path.name)
        if match is None or not path.is_file():
            continue
        code = match.group("shortcode") or _shortcode_in(path)
        if code is None:
            continue
        observed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        known[code] = _Known(path.name[: -len(".json.xz")], observed)
    refresh_root = target_dir / "refresh"
    if refresh_root.is_dir():
        by_basename = {k.basename: k for k in known.values()}
        for folder in refresh_root.iterdir():
            moment = _parse_stamp(folder.name)
            if moment is None or not folder.is_dir():
                continue
            for path in folder.glob("*.json.xz"):
                entry = by_basename.get(path.name[: -len(".json.xz")])
                if entry is not None and moment > entry.observed_at:
                    entry.observed_at = moment
    return known


def _publish(src: Path, dst: Path) -> bool:
    """Move a finished file into raw/; an existing file is kept (raw/ is never rewritten)."""
    if dst.exists():
        src.unlink(missing_ok=True)
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # raw/ on another disk than the state folder: copy beside the target, then rename.
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
        src.unlink()
    return True


def _publish_post(stage: Path, target_dir: Path) -> int:
    """Move a staged post into raw/, metadata last so that a present .json.xz always means
    a complete post; return how many image files arrived."""
    files = [p for p in stage.iterdir() if p.is_file() and not p.name.endswith(".temp")]
    images = 0
    for path in sorted(files, key=lambda p: (p.name.endswith(".json.xz"), p.name)):
        if _publish(path, target_dir / path.name) and path.suffix.lower() in IMAGE_SUFFIXES:
            images += 1
    return images


# --------------------------------------------------------------------------- the run


class _Run:
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
        self.run_stamp = _stamp(run_at)
        # A pinned run time shifts every observation time of the run alike.
        self._clock_offset = run_at - datetime.now(UTC)
        self.login = login
        self.max_posts = max_posts
        self.since = since
        self.raw = settings.raw_dir
        state = _state_dir(settings)
        self.staging = state / "staging"
        self.resume_dir = state / "resume"
        self.stamps = _Stamps(state / "latest-stamps.ini")

    @property
    def logged_in(self) -> bool:
        return bool(self.loader.context.is_logged_in)

    # ---- targets

    def scrape_profile(self, name: str, result: TargetResult) -> None:
        what = f"profile '{name}'"
        try:
            profile = self.loader.check_profile_id(name, self.stamps)
            self._check_access(profile, what)
            snapshot = self._snapshot(profile)
        except _INSTAGRAM_ERRORS as exc:
            raise _explain(exc, what, self.login) from None
        target_dir = self.raw / name
        result.snapshot = self._write_snapshot(target_dir, snapshot)
        result.followers = snapshot["followers"]
        self._write_profile_json(target_dir, profile)
        try:
            posts = profile.get_posts()
        except _INSTAGRAM_ERRORS as exc:
            raise _explain(exc, what, self.login) from None
        self._walk(result, name, target_dir, posts, owner=profile)

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
        except _INSTAGRAM_ERRORS as exc:
            raise _explain(exc, what, self.login) from None
        target = f"#{tag}"
        self._walk(result, target, self.raw / target, posts, owner=None)

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

    # ---- the feed

    def _walk(
        self,
        result: TargetResult,
        target: str,
        target_dir: Path,
        posts: Iterator[Post],
        owner: Profile | None,
    ) -> None:
        """Walk a feed newest first: download new posts, refresh recent ones, stop where the
        last complete pass stopped (or at ``since`` / ``max_posts``)."""
        known = index_existing(target_dir)
        last_pass = self.stamps.get_last_post_timestamp(target)
        refresh_window = timedelta(days=self.settings.refresh_days)
        what = f"profile '{target}'" if owner is not None else f"hashtag {target}"
        resume_dir = self.resume_dir / _safe_name(target)
        failures_in_a_row = 0
        with contextlib.ExitStack() as stack:
            is_resuming, start_index = stack.enter_context(
                instaloader.resumable_iteration(
                    context=self.loader.context,
                    iterator=posts,
                    load=instaloader.load_structure_from_file,
                    save=_save_frozen,
                    format_path=lambda magic: str(resume_dir / f"{magic}.json.xz"),
                    check_bbd=True,
                )
            )
            if is_resuming:
                logger.info("%s: resuming an interrupted pass at post %d", what, start_index + 1)
            numbered = enumerate(posts, start=start_index + 1)
            while True:
                if self.max_posts is not None and result.posts_new >= self.max_posts:
                    break  # before fetching the next post: anonymously that costs a request
                try:
                    number, post = next(numbered)
                except StopIteration:
                    break
                except _INSTAGRAM_ERRORS as exc:
                    raise _explain(exc, what, self.login) from None
                taken = post.date_utc.replace(tzinfo=UTC)
                may_be_pinned = number <= POSSIBLY_PINNED
                recent = self.run_at - taken < refresh_window
                if self.since is not None and taken < self.since:
                    if may_be_pinned:
                        continue
                    break
                if taken <= last_pass and not recent and not may_be_pinned:
                    break
                code = post.shortcode
                try:
                    seen = known.get(code)
                    if seen is not None:
                        due = self.run_at - seen.observed_at >= MIN_REFRESH_INTERVAL
                        if recent and due and self._refresh(post, target_dir, seen, owner):
                            seen.observed_at = self.run_at
                            result.posts_refreshed += 1
                        else:
                            result.posts_known += 1
                        continue
                    images, basename = self._download(post, target, target_dir, owner)
                except _INSTAGRAM_ERRORS as exc:
                    error = _explain(exc, f"post {code} of {target}", self.login)
                    if isinstance(error, RateLimited | SessionError):
                        raise error from None
                    result.post_errors.append(f"{code}: {error}")
                    logger.warning("%s", error)
                    failures_in_a_row += 1
                    if failures_in_a_row >= self.politeness.max_consecutive_failures:
                        raise ScrapeError(
                            f"{what}: {failures_in_a_row} posts in a row failed, the last with "
                            f"{error}; the next run retries them"
                        ) from None
                    continue
                failures_in_a_row = 0
                known[code] = _Known(basename, datetime.now(UTC) + self._clock_offset)
                result.posts_new += 1
                result.images += images
                logger.info("%s: saved post %s (%d images)", what, code, images)
        result.complete = True
        # A failed post must be retried by the next pass, so the mark only moves when
        # every post of this one made it. After a complete pass raw/ holds the feed down to
        # the previous mark, so its newest post dates the pass (instaloader's first_item
        # would cost a request after a resume).
        newest = max(
            filter(None, (_basename_time(k.basename) for k in known.values())), default=None
        )
        if newest is not None and not result.post_errors:
            self.stamps.set_last_post_timestamp(target, newest)

    def _download(
        self, post: Post, target: str, target_dir: Path, owner: Profile | None
    ) -> tuple[int, str]:
        stage = self.staging / _safe_name(target) / post.shortcode
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        try:
            # Braces in the path would be read as instaloader format fields.
            self.loader.dirname_pattern = str(stage).replace("{", "{{").replace("}", "}}")
            post = _with_owner(self.loader.context, post, owner)
            try:
                self.loader.download_post(post, target=target)
            except PostChangedException:
                # Instaloader's own loop retries once the post's new identity is known.
                self.loader.download_post(post, target=target)
            metadata = next(stage.glob("*.json.xz"), None)
            if metadata is None:
                raise ScrapeError(f"instaloader wrote no metadata for post {post.shortcode}")
            # The metadata file's time is the post's observation time (the raw contract).
            observed = (datetime.now(UTC) + self._clock_offset).timestamp()
            os.utime(metadata, (observed, observed))
            basename = metadata.name[: -len(".json.xz")]
            images = _publish_post(stage, target_dir)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return images, basename

    def _refresh(self, post: Post, target_dir: Path, seen: _Known, owner: Profile | None) -> bool:
        dest = target_dir / "refresh" / self.run_stamp / f"{seen.basename}.json.xz"
        if dest.exists():
            return False
        stage = self.staging / "_refresh" / f"{seen.basename}.json.xz"
        stage.parent.mkdir(parents=True, exist_ok=True)
        post = _with_owner(self.loader.context, post, owner)
        instaloader.save_structure_to_file(post, str(stage))
        return _publish(stage, dest)

    # ---- profile files

    def _snapshot(self, profile: Profile) -> dict[str, Any]:
        def optional(read: Callable[[], Any]) -> Any:
            try:
                return read()
            except (KeyError, InstaloaderException):
                return None

        return {
            "username": profile.username,
            "userid": int(profile.userid),
            "followers": int(profile.followers),
            "followees": optional(lambda: profile.followees),
            "mediacount": optional(lambda: profile.mediacount),
            "is_private": bool(profile.is_private),
            "observed_at": self.run_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _write_snapshot(self, target_dir: Path, snapshot: dict[str, Any]) -> Path:
        dest = target_dir / "profile_snapshots" / f"{self.run_stamp}.json"
        if not dest.exists():
            stage = self.staging / "_profiles" / f"{_safe_name(target_dir.name)}.json"
            stage.parent.mkdir(parents=True, exist_ok=True)
            stage.write_text(json.dumps(snapshot, sort_keys=True) + "\n", encoding="utf-8")
            _publish(stage, dest)
        return dest

    def _write_profile_json(self, target_dir: Path, profile: Profile) -> None:
        dest = target_dir / f"{profile.username}_{profile.userid}.json.xz"
        if dest.exists():
            return
        stage = self.staging / "_profiles" / dest.name
        stage.parent.mkdir(parents=True, exist_ok=True)
        instaloader.save_structure_to_file(profile, str(stage))
        _publish(stage, dest)


def _with_owner(context: InstaloaderContext, post: Post, owner: Profile | None) -> Post:
    """The post, carrying its owner's full profile when the owner is the scraped profile,
    so that its saved metadata records the follower count at the time of download (as
    instaloader's own profile downloads do)."""
    if owner is None:
        return post
    try:
        if int(post.owner_id) != int(owner.userid):
            return post
    except (KeyError, TypeError, ValueError, InstaloaderException):
        return post
    node = instaloader.get_json_structure(post)["node"]
    return Post(context, node, owner_profile=owner)


def _save_frozen(frozen: Any, path: str) -> None:
    """Instaloader's resume file, written by write-then-rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.json.xz")
    instaloader.save_structure_to_file(frozen, str(tmp))
    os.replace(tmp, target)


def _state_dir(settings: Settings) -> Path:
    return settings.home / "state" / "scrape"


@contextlib.contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One scrape per PICME_HOME at a time: two would share the rate limit and race on
    raw/ (instaloader itself warns against parallel instances)."""
    state = _state_dir(settings)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one scrape at a time is on the user
        yield
        return
    lock_path = state / "scrape.lock"
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScrapeError(
                f"another `picme scrape` is running on {settings.home} (lock {lock_path}); "
                "wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- inputs


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


def _login_name(raw: str) -> str:
    name = raw.strip().lstrip("@")
    if not _LOGIN_NAME.match(name):
        # Never echo the value: it may be a password typed in the wrong place.
        raise InputError(
            "--login takes the Instagram username whose instaloader session file to use "
            "(never a password); the value given is not a username"
        )
    return name


def _as_utc(moment: datetime | date | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _safe_name(target: str) -> str:
    return re.sub(r"[^\w.-]", "_", target)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 300 else line[:297] + "..."


def _duration(secs: float) -> str:
    return f"{secs:.0f} s" if secs < 120 else f"{secs / 60:.0f} min"


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- entry point


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
    from picme.settings import get_settings

    settings = settings or get_settings()
    politeness = politeness or Politeness()
    # A lone string would otherwise be read as a list of one-letter names.
    names = _unique(
        [_profile_name(p) for p in ([profiles] if isinstance(profiles, str) else profiles)]
    )
    tags = _unique(
        [_hashtag_name(h) for h in ([hashtags] if isinstance(hashtags, str) else hashtags)]
    )
    user = _login_name(login) if login else None
    if not names and not tags:
        raise InputError("nothing to scrape: give at least one --profile NAME or --hashtag TAG")
    if max_posts is not None and max_posts < 1:
        raise InputError(f"--max-posts must be at least 1 (got {max_posts})")
    if settings.max_requests < 1:
        raise InputError(f"PICME_MAX_REQUESTS must be at least 1 (got {settings.max_requests})")
    run_at = _as_utc(now) or datetime.now(UTC)
    run_at = run_at.replace(microsecond=0)
    report = ScrapeReport(
        run_at=run_at, raw_dir=settings.raw_dir, max_requests=settings.max_requests
    )
    budget = _Budget(settings.max_requests)

    with _exclusive(settings):
        shutil.rmtree(_state_dir(settings) / "staging", ignore_errors=True)
        loader = _make_loader(politeness, download_videos, budget)
        try:
            if user is not None:
                try:
                    _load_session(loader, user, settings)
                except _INSTAGRAM_ERRORS as exc:
                    raise _explain(exc, "the login check", user) from None
            run = _Run(loader, settings, politeness, run_at, user, max_posts, _as_utc(since))
            jobs: list[tuple[str, str]] = [("profile", n) for n in names]
            jobs += [("hashtag", t) for t in tags]
            for kind, name in jobs:
                result = TargetResult(target=name if kind == "profile" else f"#{name}", kind=kind)
                report.targets.append(result)
                try:
                    if kind == "profile":
                        run.scrape_profile(name, result)
                    else:
                        run.scrape_hashtag(name, result)
                except RequestBudgetReached as exc:
                    report.stopped = str(exc)
                    break
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
                    result.error = str(_explain(exc, result.target, user))
                except OSError as exc:
                    result.error = f"cannot write under {settings.home}: {exc}"
                    raise ScrapeError(result.error) from exc
        except ScrapeError as exc:
            exc.report = report
            raise
        finally:
            report.requests = budget.used
            loader.close()
    logger.debug("%s", report.summary())
    return report
