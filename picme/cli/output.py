"""What ``picme`` prints: one clean line per event, third-party noise only on request.

Verbosity: ``-q`` errors only (and no summary on stdout); the default shows PicMe's own
events and errors from anything else; ``-v`` adds every library's INFO lines and warnings;
``-vv`` is DEBUG. Every record goes through one handler on the root logger, which decides by
the record's origin rather than by logger levels, because libraries reset those on import
(Lightning sets its logger to INFO, Prefect applies its own configuration per flow run).

The libraries that write to the terminal themselves are switched off through the variables
they read when imported (only where the user has not set them): tqdm bars (``TQDM_DISABLE``),
MLflow's download bars and its own log handler, and MLflow's event prints ("Successfully
registered model ...") by a hook run once ``mlflow`` is imported, so that ``picme --help``
still imports none of them.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import typer

from picme.util import progress

if TYPE_CHECKING:
    from rich.console import Console

QUIET, NORMAL, VERBOSE, DEBUG = 0, 1, 2, 3

# Loggers whose INFO line repeats the summary the command prints on stdout itself.
ECHOED = frozenset({"picme.dataset.build", "picme.training.promote"})


class _State:
    verbosity = NORMAL
    # Stops the live progress display: the result goes below the finished bars.
    finish_progress: Callable[[], None] = staticmethod(lambda: None)


_state = _State()


def verbosity() -> int:
    return _state.verbosity


def say(text: str) -> None:
    """A command's result on stdout, unless ``-q``."""
    if _state.verbosity > QUIET:
        _state.finish_progress()
        typer.echo(text)


def shown(record: logging.LogRecord, level: int) -> bool:
    """Whether ``record`` is printed at verbosity ``level``."""
    if level <= QUIET:
        return record.levelno >= logging.ERROR
    if level >= VERBOSE:
        return True
    if _ours(record):
        return record.levelno >= logging.WARNING or record.name not in ECHOED
    return record.levelno >= logging.ERROR


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "picme" or record.name.startswith("picme.")


def render(record: logging.LogRecord, level: int) -> str:
    """The line for ``record``: PicMe's events as they are; the origin of other libraries'
    lines (and of everything at ``-v``) is named."""
    message = record.getMessage()
    if record.name == "py.warnings":
        # "file:line: Category: text" and the source line below it: the first line says it.
        message = message.strip().splitlines()[0] if message.strip() else message
    if record.exc_text:
        message = f"{message}\n{record.exc_text}"
    prefix = {logging.WARNING: "warning: ", logging.ERROR: "error: ", logging.CRITICAL: "error: "}
    head = prefix.get(record.levelno, "")
    if level >= VERBOSE or not _ours(record):
        head = f"{head}{record.name}: " if head else f"{record.levelname.lower()} {record.name}: "
    return head + message


class CliHandler(logging.Handler):
    """Prints the records :func:`shown` keeps, through the progress console when the bars
    are live (so a line never tears a bar), else straight to stderr."""

    def __init__(self, level: int, console: Console | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.verbosity = level
        self.console = console
        # Unused for the line itself (see render), but Prefect leaves the root logger alone
        # only when a handler there has a formatter: without one, a flow run would replace
        # this handler with Prefect's own console handler.
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not shown(record, self.verbosity):
            return
        try:
            line = render(record, self.verbosity)
            if self.console is not None:
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        except Exception:
            self.handleError(record)


def quiet_libraries(level: int, terminal: bool) -> None:
    """Switch off what third-party libraries print by themselves, unless ``-v`` (or the
    user set the variable)."""
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    after_import("mlflow", _mlflow_prints_to_logging)
    after_import("lightning", _lightning_without_own_handler)
    if level >= VERBOSE:
        if not terminal:
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        return
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    # The temporary Prefect server of `picme demo` is a child process: it reads this.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)


class _LinesToLog:
    """A stream whose lines become INFO records of ``logger`` (for libraries that print)."""

    def __init__(self, logger: str) -> None:
        self.logger = logging.getLogger(logger)
        self.partial = ""
        # MLflow's autologging flips this around its calls; the policy is ours now.
        self.enabled = True

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            if line.strip():
                self.logger.info("%s", line)
        return len(text)

    def flush(self) -> None:
        pass


def _mlflow_prints_to_logging(module: ModuleType) -> None:
    # MLflow prints its events ("Successfully registered model ...", "Created version
    # ...") to a stream of its own, looked up at each call: as records they follow -q/-v.
    logging_utils = sys.modules.get("mlflow.utils.logging_utils")
    if logging_utils is not None:
        logging_utils.MLFLOW_LOGGING_STREAM = _LinesToLog("mlflow.events")  # type: ignore[attr-defined]


def _lightning_without_own_handler(module: ModuleType) -> None:
    # `import lightning` adds a stream handler of its own to the "lightning" logger, which
    # also propagates to ours: every line twice. Its sub-packages add one and stop
    # propagating when they are imported before logging is set up. Ours is the one kept.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)
        logger.propagate = True


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``then(module)`` once ``name`` has been imported (wherever that happens)."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run, then = loader.exec_module, self.then

        def exec_module(module: ModuleType) -> None:
            run(module)
            try:
                then(module)
            except Exception:  # quieting a library must never break importing it
                logging.getLogger(__name__).debug("hook after %s failed", fullname)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def after_import(name: str, then: Callable[[ModuleType], None]) -> None:
    """``then(module)`` now if ``name`` is imported already, else right after its import."""
    if name in sys.modules:
        then(sys.modules[name])
        return
    if not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, then))


def configure(level: int, *, terminal: bool | None = None) -> Callable[[], None]:
    """Set up logging, the libraries' own output and the progress reporter for one command;
    returns the function that undoes it (stops the bars, removes the handler, puts back the
    variables, warning filters and logging levels it changed). The hooks that already ran
    stay: Lightning keeps no handler of its own, MLflow's prints stay log records."""
    from rich.console import Console

    _state.verbosity = level
    console = Console(stderr=True)
    terminal = console.is_terminal if terminal is None else terminal
    # What undo() puts back, so that a command run inside a longer-lived process (a test,
    # a notebook) leaves it as it was.
    environ = dict(os.environ)
    saved_warnings = warnings.catch_warnings()
    saved_warnings.__enter__()
    root = logging.getLogger()
    root_level = root.level
    chatty_levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "urllib3")}
    quiet_libraries(level, terminal)

    for old in [h for h in root.handlers if isinstance(h, CliHandler)]:
        root.removeHandler(old)
    handler = CliHandler(level, console if terminal else None)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level >= DEBUG else logging.INFO)
    logging.captureWarnings(True)
    for chatty in chatty_levels:
        # One line per HTTP request even at -v would bury everything else.
        logging.getLogger(chatty).setLevel(logging.DEBUG if level >= DEBUG else logging.WARNING)

    reporter: Any
    if level <= QUIET:
        reporter = progress.NULL
    elif terminal:
        from picme.cli.progress import RichReporter

        reporter = RichReporter(console)
    else:
        reporter = progress.LineReporter(_plain_line, every=30.0, min_seconds=1.0)
    uninstall = progress.install(reporter)
    _state.finish_progress = getattr(reporter, "stop", lambda: None)

    def undo() -> None:
        _state.finish_progress()
        _state.finish_progress = _State.finish_progress
        _state.verbosity = _State.verbosity
        uninstall()
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, chatty_level in chatty_levels.items():
            logging.getLogger(name).setLevel(chatty_level)
        logging.captureWarnings(False)
        saved_warnings.__exit__(None, None, None)
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterImport)]

    return undo


def _plain_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
