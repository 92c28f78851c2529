"""Keep Instagram secrets out of logs, messages and anything PicMe writes.

Two layers, because neither is enough alone:

- values: the cookie values of a loaded session (``sessionid``, ``csrftoken``, ...) are
  registered with :func:`register_secret` the moment they are read, and every occurrence
  is replaced, whatever text surrounds it (an error message quoting a header, a URL);
- shapes: ``sessionid=...``, ``"csrftoken": "..."``, ``Authorization: Bearer ...`` and
  Instagram's ``#PWD_INSTAGRAM...`` password envelope are masked even when the value was
  never registered (a cookie Instagram set during the run).

:class:`RedactingFilter` applies both to log records (message, arguments and traceback
text); :func:`redact` is for strings that go elsewhere (reports, exception messages).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"

# Cookie and form names whose values are credentials. "mid" and "rur" identify the device
# and the routing of a logged-in session: not secret alone, but useless to anyone reading
# a log and part of the session file, so they go too.
SECRET_NAMES = (
    "sessionid",
    "csrftoken",
    "ds_user_id",
    "mid",
    "rur",
    "ig_did",
    "shbid",
    "shbts",
    "datr",
    "password",
    "passwd",
    "enc_password",
    "x-csrftoken",
    "x-ig-www-claim",
)
_NAMES = "|".join(re.escape(n) for n in sorted(SECRET_NAMES, key=len, reverse=True))
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # JSON: "sessionid": "value"
    (re.compile(rf'(?i)("(?:{_NAMES})"\s*:\s*")[^"]*(")'), rf"\1{MASK}\2"),
    # Cookie headers, query strings, reprs: sessionid=value, 'sessionid': 'value'
    (
        re.compile(rf"(?i)(?<![\w-])((?:{_NAMES})['\"]?\s*[=:]\s*['\"]?)[^\s;&,'\"}})]+"),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9:+/=_.\-]+"), rf"\1{MASK}"),
    (re.compile(r"#PWD_INSTAGRAM[^\s&\"']*"), f"#PWD_INSTAGRAM{MASK}"),
]

# Shorter values would mask ordinary words and numbers in unrelated text.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: object) -> None:
    """Mask ``value`` in everything redacted from now on (this process)."""
    text = str(value) if value is not None else ""
    if len(text) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(text)


def register_secrets(values: Iterable[object]) -> None:
    for value in values:
        register_secret(value)


def forget_secrets() -> None:
    """Drop every registered value (tests; a long-lived process that logged out)."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with registered secret values and secret-shaped fragments masked."""
    if not text:
        return text
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message and traceback through :func:`redact`.

    It never drops a record. It runs before any handler formats the record, so it must
    render the message itself: a secret may sit in an argument rather than the format.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the handler's problem, not ours
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(*logger_names: str) -> None:
    """Attach one :class:`RedactingFilter` to each named logger (idempotent).

    A logger's filters see only records created on that logger, so name every logger
    whose records may carry request details, not just a parent.
    """
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
