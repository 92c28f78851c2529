"""Progress of the long steps, without a renderer.

A stage says what it is doing and how far it is; whoever runs it decides how (or whether) to
show that. The library calls::

    with progress.task("image features", total=len(paths)) as bar:
        for chunk in work:
            ...
            bar.advance(len(chunk))

or ``for item in progress.track(items, "ingest: reading posts"): ...``. Nothing is shown
unless a caller installed a :class:`Reporter` with :func:`reporting`: the default reporter
does nothing, so flows, tests and scripts pay nothing. ``picme`` installs a rich one
(``picme.cli.progress``) on a terminal and :class:`LineReporter` otherwise.

The reporter lives in a context variable: it follows the code into Prefect's task threads
(which copy the context) but not into a plain ``threading.Thread``; hand such a thread the
:class:`Task` itself, whose methods are safe to call from any thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

T = TypeVar("T")


class Task(Protocol):
    """One step's progress: ``total`` None means unknown (a spinner, no bar)."""

    def advance(self, n: float = 1) -> None: ...

    def update(
        self,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None: ...


class Reporter(Protocol):
    def task(self, description: str, total: float | None) -> AbstractContextManager[Task]: ...


class NullTask:
    """A task nobody watches."""

    def advance(self, n: float = 1) -> None:
        pass

    def update(
        self,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        pass


class NullReporter:
    """The default: progress goes nowhere."""

    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Task]:
        yield NullTask()


NULL = NullReporter()
_current: ContextVar[Reporter] = ContextVar("picme_progress", default=NULL)


def current() -> Reporter:
    """The reporter of this context (the no-op one unless a caller installed another)."""
    return _current.get()


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Send the progress of everything run inside the block to ``reporter``."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)


def install(reporter: Reporter) -> Callable[[], None]:
    """Make ``reporter`` current in this context until the returned function is called, for
    a caller that cannot wrap the work in ``with reporting(...)`` (a CLI callback)."""
    token = _current.set(reporter)
    return lambda: _current.reset(token)


def silenced() -> AbstractContextManager[Reporter]:
    """No progress shown inside the block, whatever reporter the caller installed."""
    return reporting(NULL)


def task(description: str, total: float | None = None) -> AbstractContextManager[Task]:
    """A step of ``total`` units (None: unknown) reported to the current reporter."""
    return current().task(description, total)


def track(items: Iterable[T], description: str, total: float | None = None) -> Iterator[T]:
    """``items``, one unit of progress each (``total`` defaults to ``len(items)``)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total) as bar:
        for item in items:
            yield item
            bar.advance(1)


class _LineTask:
    def __init__(self, owner: LineReporter, description: str, total: float | None) -> None:
        self.owner = owner
        self.description = description
        self.total = total
        self.completed = 0.0
        self.started = time.monotonic()
        self.last = self.started
        self.lock = threading.Lock()

    def advance(self, n: float = 1) -> None:
        with self.lock:
            self.completed += n
        self._maybe_say()

    def update(
        self,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        with self.lock:
            if completed is not None:
                self.completed = completed
            if total is not None:
                self.total = total
            if description is not None:
                self.description = description
        self._maybe_say()

    def line(self, done: bool) -> str:
        with self.lock:
            count = f"{self.completed:g}" + (f"/{self.total:g}" if self.total is not None else "")
            seconds = time.monotonic() - self.started
        state = "done" if done else "..."
        return f"{self.description}: {count} {state} ({seconds:.1f} s)"

    def _maybe_say(self) -> None:
        now = time.monotonic()
        if self.owner.every is not None and now - self.last >= self.owner.every:
            self.last = now
            self.owner.write(self.line(done=False))


class LineReporter:
    """Plain lines for logs and non-terminal output: one when a step ends (with its count and
    time), and one every ``every`` seconds while it runs (None: only the end)."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        every: float | None = 30.0,
        min_seconds: float = 0.0,
    ) -> None:
        self.write = write
        self.every = every
        # Steps quicker than this end silently: a line per 50 ms step is noise.
        self.min_seconds = min_seconds

    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Task]:
        t = _LineTask(self, description, total)
        yield t
        if time.monotonic() - t.started >= self.min_seconds:
            self.write(t.line(done=True))
