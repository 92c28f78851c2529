"""Login through instaloader's session files only, never a password.

The cookies of a session are registered with :mod:`picme.util.logsafe` the moment they are
read, so no log line, message or file written afterwards can show them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import instaloader

from picme.errors import InputError
from picme.scrape.errors import (
    CHECKPOINT_TEXT,
    RATE_LIMIT_TEXT,
    RateLimited,
    SessionError,
    checkpoint,
)
from picme.scrape.rate import PicmeContext
from picme.util import logsafe

if TYPE_CHECKING:
    from picme.settings import Settings

logger = logging.getLogger(__name__)
logsafe.install(__name__)

_LOGIN_NAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")


def login_name(raw: str) -> str:
    name = raw.strip().lstrip("@")
    if not _LOGIN_NAME.match(name):
        # Never echo the value: it may be a password typed in the wrong place.
        raise InputError(
            "--login takes the Instagram username whose instaloader session file to use "
            "(never a password); the value given is not a username"
        )
    return name


def session_file_for(login: str, settings: Settings) -> Path:
    """Where the instaloader session file of ``login`` is looked for."""
    if settings.session_dir is not None:
        return Path(settings.session_dir).expanduser() / f"session-{login}"
    default = Path(instaloader.instaloader.get_default_session_filename(login))
    legacy = Path(instaloader.instaloader.get_legacy_session_filename(login))
    return legacy if not default.exists() and legacy.exists() else default


#: What a failed request says when the network, not Instagram, is the problem.
NETWORK_TEXT = re.compile(
    r"Failed to establish|Name or service not known|Temporary failure in name resolution|"
    r"Network is unreachable|Connection refused|Max retries exceeded|No route to host|"
    r"timed out|ConnectionError|NewConnectionError",
    re.IGNORECASE,
)


def offline(why: object) -> SessionError:
    first = str(why).strip().splitlines()[0][:200] if str(why).strip() else "no answer"
    return SessionError(
        f"Instagram cannot be reached ({first}): check the network connection, then run "
        "`picme scrape` again; the session itself was not checked"
    )


def load_session(loader: Any, login: str, settings: Settings) -> str:
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
    context: PicmeContext = loader.context
    seen = len(context.recent_errors)
    try:
        user = loader.test_login()
    except Exception as exc:  # instaloader raises its ConnectionException, requests its own
        if NETWORK_TEXT.search(f"{type(exc).__name__} {exc}"):
            raise offline(exc) from None
        raise
    if user is None:
        why = " ".join(list(context.recent_errors)[seen:])
        if NETWORK_TEXT.search(why):
            raise offline(why)
        if RATE_LIMIT_TEXT.search(why):
            raise RateLimited(
                "Instagram rate limit while checking the session; wait a few minutes and run again"
            )
        if CHECKPOINT_TEXT.search(why):
            raise checkpoint(login)
        raise SessionError(
            f"the session of {login} is no longer logged in (expired, or Instagram wants a "
            f"security check): log in on instagram.com in a browser, then {create}"
        )
    if user.lower() != login.lower():
        logger.warning("the session file of %s is logged in as %s", login, user)
    context.username = user
    return str(user)
