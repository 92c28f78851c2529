"""One process pool for every stage that fans work out: ingest's media checks, image
features, and curation's analysis.

What it guarantees, so no caller writes it again:

- Workers die with the process that started the pool, by any signal, SIGKILL included. A
  worker's direct parent is the forkserver, which itself lives as long as any worker does
  (each worker holds its "alive" pipe), so ``PR_SET_PDEATHSIG`` alone is not enough: each
  worker also watches the pool's owner through a pidfd and exits the moment it is gone.
  Workers ignore SIGINT: Ctrl-C is the owner's to handle, once.
- A worker that crashes (a native decoder fault) costs only the item that killed it: the
  chunks that were in flight are redone one item per process, and ``on_crash(item)``
  stands in for the culprit's result. The rest goes on in a fresh pool.
- Results come back in input order, with a bounded number of chunks in flight, so memory
  stays flat however many items there are.
- Where worker processes cannot start at all (a script without a ``__main__`` guard under
  spawn), the work runs in this process, with a warning.

Workers start by ``forkserver`` where available (fork is unsafe once the parent holds
threads: Arrow, torch, Prefect), else ``spawn``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1


def die_with(owner: int) -> None:
    """Exit this process as soon as process ``owner`` has ended (Linux: a pidfd watched by a
    daemon thread, plus ``PR_SET_PDEATHSIG`` for the direct parent); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import select
    import threading

    with contextlib.suppress(OSError, AttributeError):  # no prctl in this libc
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(1)
    except OSError:  # pragma: no cover - kernels before 5.3
        return

    def watch() -> None:
        select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="picme-owner-watch", daemon=True).start()


def _worker_start(owner: int, user_init: Callable[[], None] | None) -> None:
    die_with(owner)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if user_init is not None:
        user_init()


def pool_context(preload: Sequence[str] = ()) -> Any:
    """The multiprocessing context workers start from (see the module docstring)."""
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        if preload:
            ctx.set_forkserver_preload(list(preload))
        _start_servers_quietly()
        return ctx
    return mp.get_context("spawn")  # pragma: no cover - Windows and macOS defaults


def _start_servers_quietly() -> None:
    """Start the forkserver and the resource tracker (no-ops when they run) with their
    stderr, which every worker inherits, on /dev/null.

    Workers hand results and errors back through their futures, never through stderr. What
    they would print there is noise after the one line a user gets: a worker still starting
    when Ctrl-C or SIGTERM ends the run prints a traceback from a half-torn-down pool."""
    from multiprocessing import forkserver, resource_tracker

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        resource_tracker.ensure_running()
        forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def start_pool(
    workers: int,
    initializer: Callable[[], None] | None = None,
    preload: Sequence[str] = (),
) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers die with this process and ignore Ctrl-C."""
    return ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=pool_context(preload),
        initializer=_worker_start,
        initargs=(os.getpid(), initializer),
    )


def map_chunks(
    func: Callable[[list[T]], list[R]],
    chunks: Sequence[list[T]],
    workers: int,
    *,
    on_crash: Callable[[T], R],
    initializer: Callable[[], None] | None = None,
    preload: Sequence[str] = (),
    window: int | None = None,
) -> Iterator[list[R]]:
    """``func(chunk)`` for every chunk, yielded in input order, one list per chunk.

    ``func`` and ``initializer`` must be importable module-level functions. With
    ``workers <= 1`` or a single chunk everything runs in this process. At most ``window``
    chunks (default ``3 * workers``) are in flight at once.
    """
    todo: deque[list[T]] = deque(chunks)
    if workers <= 1 or len(todo) <= 1:
        while todo:
            yield func(todo.popleft())
        return
    limit = window or 3 * workers
    while todo:
        pool = start_pool(min(workers, len(todo)), initializer, preload)
        if not _started(pool, func):
            yield from map_chunks(func, list(todo), 1, on_crash=on_crash)
            return
        suspects: list[list[T]] = []
        try:
            pending: deque[tuple[list[T], Future[list[R]]]] = deque()
            while todo or pending:
                while todo and len(pending) < limit:
                    chunk = todo.popleft()
                    pending.append((chunk, pool.submit(func, chunk)))
                chunk, fut = pending.popleft()
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    suspects = [chunk] + [c for c, _ in pending]
                    kill_workers(pool)
                    break
                yield result
        finally:
            # Also when the consumer stops early or Ctrl-C arrives: start nothing queued.
            pool.shutdown(wait=True, cancel_futures=True)
        if suspects:
            log.warning("a worker process died; redoing %d chunk(s) item by item", len(suspects))
        for chunk in suspects:
            yield isolate(func, chunk, on_crash=on_crash, initializer=initializer)


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill every worker of a broken pool. CPython 3.11's pool, once broken, terminates the
    workers it knows of and then joins them all; a worker that a submit started while the
    crash was being handled escapes the terminate and waits on the call queue for ever, and
    so would the shutdown. ``_processes`` is the only handle on them (read-only use)."""
    procs: dict[int, Any] = getattr(pool, "_processes", None) or {}
    for proc in list(procs.values()):
        with contextlib.suppress(Exception):  # already gone, or already reaped
            proc.kill()


def _importable(module: str, name: str) -> bool:
    import importlib

    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return True


def _started(pool: ProcessPoolExecutor, func: Callable[..., Any]) -> bool:
    """True when a worker runs and can import ``func``; else the pool is shut and the
    caller works in this process (a worker that cannot import the task would otherwise
    look like a crash on every item)."""
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    try:
        pool.submit(_importable, target.__module__, target.__qualname__).result()
        return True
    except BrokenProcessPool as exc:
        why = f"worker processes could not start ({exc})"
    except Exception as exc:  # the worker's sys.path differs from ours
        why = f"worker processes cannot import {func.__module__} ({type(exc).__name__}: {exc})"
    pool.shutdown(wait=True, cancel_futures=True)
    log.warning(
        "%s; working in this process. In a script, call picme under `if __name__ == '__main__':`",
        why,
    )
    return False


def isolate(
    func: Callable[[list[T]], list[R]],
    items: Sequence[T],
    *,
    on_crash: Callable[[T], R],
    initializer: Callable[[], None] | None = None,
) -> list[R]:
    """``func`` over each item in a process of its own until one crashes; the culprit
    becomes ``on_crash(item)`` and a fresh process takes the next item."""
    out: list[R] = []
    pool: ProcessPoolExecutor | None = None
    try:
        for item in items:
            pool = pool or start_pool(1, initializer)
            try:
                out.extend(pool.submit(func, [item]).result())
            except BrokenProcessPool:
                log.warning("a worker process crashed on %s", item)
                out.append(on_crash(item))
                pool.shutdown(wait=True)
                pool = None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return out
