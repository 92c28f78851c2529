"""Every fault as one line: what went wrong, where, and what to do.

``picme`` runs each command through :func:`run`. A PicmeError is already such a line. An
OSError found anywhere in the exception's chain (DuckDB, pyarrow and MLflow wrap them) is
named by its cause: no space left, a read-only or forbidden path, each with the file and a
hint. Ctrl-C exits 130 and SIGTERM 143, after the ``finally`` blocks and context managers
of the interrupted stage have cleaned up (SIGTERM is turned into an exception for that);
anything else exits 2 with its type and first line. ``--debug`` or ``PICME_DEBUG=1`` shows
the full traceback instead.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from types import FrameType

import typer

from picme.errors import PicmeError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """SIGTERM, raised where the process was, so cleanup runs as for Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def debug_enabled(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("PICME_DEBUG", "").strip() not in ("", "0")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _os_error(exc: BaseException) -> OSError | None:
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno is not None:
            return e
    return None


def _where(e: OSError) -> str:
    name = e.filename or e.filename2
    return f" ({name})" if name else ""


def message(exc: BaseException) -> str:
    """The one line a user sees for ``exc``."""
    os_err = _os_error(exc)
    if os_err is not None and os_err.errno == errno.ENOSPC:
        return (
            f"no space left on the device{_where(os_err)}: free some space or point "
            "PICME_HOME (or --out) at a larger disk, then run the command again; nothing "
            "half-written was kept"
        )
    if os_err is not None and os_err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "is read-only" if os_err.errno == errno.EROFS else "cannot be written (permission)"
        return (
            f"a path {what}{_where(os_err)}: choose a writable place with --out or "
            "PICME_HOME, or fix the folder's permissions"
        )
    if isinstance(exc, PicmeError):
        return str(exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first} (run with --debug for the traceback)"


def run(main: Callable[[], object], argv: list[str] | None = None) -> int:
    """Run ``main`` (a typer app called with standalone_mode=False); the exit code.

    Usage errors keep typer's own rendering: they are recognised by the ``show`` and
    ``exit_code`` that every click exception has (typer vendors click privately)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = debug_enabled(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = main()
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print("error: interrupted (Ctrl-C); nothing half-written was kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("error: terminated (SIGTERM); nothing half-written was kept", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as exc:
        if callable(getattr(exc, "show", None)) and isinstance(
            getattr(exc, "exit_code", None), int
        ):
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if debug:
            traceback.print_exc()
        print(f"error: {message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)
