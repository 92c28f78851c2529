"""File locks through ``filelock``: one writer per resource, and a one-line message for the
second one.

A lock file is never deleted (deleting it while another process waits on it would let two
processes hold "the" lock); it is a few bytes under the folder it protects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from picme.errors import PicmeError


class Busy(PicmeError):
    """Another process holds the lock."""


@contextmanager
def exclusive(lock_path: Path, busy_message: str, *, wait: float = 0.0) -> Iterator[None]:
    """Hold ``lock_path`` for the block. Waits up to ``wait`` seconds (0: refuse at once,
    -1: wait for as long as it takes), then raises :class:`Busy` with ``busy_message`` and
    the lock's path."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise Busy(f"{busy_message} (lock {lock_path})") from None
    try:
        yield
    finally:
        lock.release()
