"""The scrape's errors, and how an instaloader or requests failure becomes one of them: a
one-line message that says what to do, with every secret masked.

Which class an error is decides what happens next: :class:`RateLimited` and
:class:`SessionError` end the run, :class:`InputError` subclasses are not retried by the
flows, other :class:`ScrapeError` end one target and the run goes on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import requests
from instaloader import (
    AbortDownloadException,
    InstaloaderException,
    LoginRequiredException,
    PrivateProfileNotFollowedException,
    ProfileNotExistsException,
    QueryReturnedForbiddenException,
    QueryReturnedNotFoundException,
    TooManyRequestsException,
)

from picme.errors import InputError, PicmeError
from picme.util.logsafe import redact

if TYPE_CHECKING:
    from picme.scrape.report import ScrapeReport

RATE_LIMIT_TEXT = re.compile(
    r"(?i)(?:^|[\s:(])429\b|too many requests|please wait a few minutes|rate.?limit"
)
CHECKPOINT_TEXT = re.compile(r"(?i)checkpoint|challenge_required|feedback_required")

# What talking to Instagram can raise; anything else is a local problem (disk, a bug).
INSTAGRAM_ERRORS = (InstaloaderException, AbortDownloadException, requests.RequestException)


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


def checkpoint(login: str | None) -> CheckpointRequired:
    who = login or "your account"
    return CheckpointRequired(
        f"Instagram wants a security check (checkpoint) for {who}: log in on instagram.com in "
        f"a browser, complete the check, then recreate the session with "
        f"`instaloader --login {login or 'USER'}`"
    )


def explain(exc: BaseException, what: str, login: str | None) -> ScrapeError:
    """Turn an instaloader or requests failure into a one-line PicMe error."""
    message = first_line(redact(str(exc))) or type(exc).__name__
    if isinstance(exc, TooManyRequestsException) or RATE_LIMIT_TEXT.search(message):
        return RateLimited(
            f"Instagram is rate-limiting this client ({what}: {message}); wait at least 15 "
            "minutes, then run again: complete posts are kept and the run resumes where this "
            "one stopped"
        )
    if CHECKPOINT_TEXT.search(message):
        return checkpoint(login)
    if isinstance(exc, AbortDownloadException):
        if "logged out" in message.lower():
            return SessionError(
                f"Instagram logged the session of {login} out: wait a while, then recreate it "
                f"with `instaloader --login {login}`"
            )
        return SessionError(f"Instagram refused to go on ({message}); try again later")
    return _refusal(exc, what, login, message)


def _refusal(exc: BaseException, what: str, login: str | None, message: str) -> ScrapeError:
    """A target that Instagram will not show (private, login needed, missing, forbidden)."""
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


def first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 300 else line[:297] + "..."


def duration(secs: float) -> str:
    return f"{secs:.0f} s" if secs < 120 else f"{secs / 60:.0f} min"
