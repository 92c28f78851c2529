"""What reaches the terminal at each verbosity, and the hooks that quiet other libraries."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import pytest

from picme.cli import output
from picme.cli.output import DEBUG, NORMAL, QUIET, VERBOSE, CliHandler, render, shown

TIP = "💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]"


def record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_the_default_shows_picme_events_and_only_errors_of_other_libraries() -> None:
    assert shown(record("picme.training.candidates", logging.INFO, "cross-validating"), NORMAL)
    assert shown(record("picme.lake.ingest", logging.WARNING, "skipped"), NORMAL)
    assert not shown(record("lightning.pytorch.utilities.rank_zero", logging.INFO, TIP), NORMAL)
    assert not shown(record("py.warnings", logging.WARNING, "x.py:1: DeprecationWarning"), NORMAL)
    assert not shown(record("mlflow.events", logging.INFO, "Created version '2'"), NORMAL)
    assert not shown(record("alembic.runtime.migration", logging.INFO, "Context impl"), NORMAL)
    assert shown(record("prefect.flow_runs", logging.ERROR, "Flow run failed"), NORMAL)


def test_summaries_the_command_prints_itself_are_not_logged_twice() -> None:
    summary = record("picme.dataset.build", logging.INFO, "training table: 10 rows")
    assert not shown(summary, NORMAL)
    assert shown(summary, VERBOSE)


def test_quiet_shows_errors_only_and_verbose_everything() -> None:
    for name in ("picme.curate.run", "lightning.pytorch"):
        assert not shown(record(name, logging.WARNING, "w"), QUIET)
        assert shown(record(name, logging.ERROR, "e"), QUIET)
        assert shown(record(name, logging.INFO, "i"), VERBOSE)
    assert shown(record("lightning.pytorch", logging.DEBUG, "d"), DEBUG)


def test_lines_name_their_origin_except_picme_events_by_default() -> None:
    assert render(record("picme.x", logging.INFO, "48 images checked"), NORMAL) == (
        "48 images checked"
    )
    assert render(record("picme.x", logging.WARNING, "odd file"), NORMAL) == "warning: odd file"
    assert render(record("lightning.pytorch", logging.INFO, "GPU: no"), VERBOSE) == (
        "info lightning.pytorch: GPU: no"
    )
    warn = record("py.warnings", logging.WARNING, "a.py:3: FutureWarning: old\n  old()\n")
    assert render(warn, VERBOSE) == "warning: py.warnings: a.py:3: FutureWarning: old"


def test_the_handler_prints_each_kept_record_once(capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("picme.test_output")
    handler = CliHandler(NORMAL)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # the fixture puts the level back
    try:
        log.info("one line")
        logging.getLogger("lightning.pytorch.utilities.rank_zero").info(TIP)
    finally:
        root.removeHandler(handler)
    assert capsys.readouterr().err == "one line\n"


def test_after_import_runs_once_the_module_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "picme_hooked_pkg").mkdir()
    (tmp_path / "picme_hooked_pkg" / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[int] = []
    output.after_import("picme_hooked_pkg", lambda m: seen.append(m.VALUE))
    assert seen == []
    import picme_hooked_pkg  # type: ignore[import-not-found]  # noqa: F401

    assert seen == [1]
    output.after_import("picme_hooked_pkg", lambda m: seen.append(m.VALUE + 1))
    assert seen == [1, 2]  # already imported: at once
    del sys.modules["picme_hooked_pkg"]


def test_lightnings_own_handler_is_removed_so_no_line_is_printed_twice() -> None:
    # What `import lightning` does: a stream handler of its own beside propagation.
    own = logging.StreamHandler()
    logger = logging.getLogger("lightning")
    logger.addHandler(own)
    try:
        output._lightning_without_own_handler(types.SimpleNamespace())  # type: ignore[arg-type]
        assert own not in logger.handlers
    finally:
        logger.removeHandler(own)


def test_mlflow_prints_become_records() -> None:
    # A handler on the logger itself: once mlflow is imported (by an earlier test), its
    # "mlflow" logger stops propagation, so the root logger (and caplog) would see nothing.
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("mlflow.events")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        stream = output._LinesToLog("mlflow.events")
        print("Successfully registered model 'picme-scorer'.", file=stream)  # type: ignore[arg-type]
        stream.write("Created version ")
        stream.write("'2'.\n")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert [r.getMessage() for r in seen] == [
        "Successfully registered model 'picme-scorer'.",
        "Created version '2'.",
    ]


def test_quieting_switches_off_bars_of_other_libraries_unless_the_user_set_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_LOGGING_LEVEL", "DEBUG")
    output.quiet_libraries(NORMAL, terminal=True)
    import os

    assert os.environ["TQDM_DISABLE"] == "1"
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
    assert os.environ["PREFECT_SERVER_LOGGING_LEVEL"] == "DEBUG"


def test_verbose_keeps_bars_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    output.quiet_libraries(VERBOSE, terminal=True)
    assert "TQDM_DISABLE" not in os.environ
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ
    output.quiet_libraries(VERBOSE, terminal=False)
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"


def test_a_flow_run_keeps_the_cli_handler(tmp_path: Path) -> None:
    # Prefect applies its logging configuration when it is imported and per flow run; it
    # replaces the root logger's handlers unless one looks like the application's own.
    import os
    import subprocess

    script = (
        "import logging\n"
        "from picme.cli import output\n"
        "output.configure(output.NORMAL, terminal=False)\n"
        "from prefect.logging.configuration import setup_logging\n"
        "setup_logging(incremental=False)\n"
        "names = [type(h).__name__ for h in logging.getLogger().handlers]\n"
        "logging.getLogger('prefect.flow_runs').info('Finished in state Completed()')\n"
        "logging.getLogger('picme.demo').info('one event')\n"
        "print(names)\n"
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['CliHandler']"
    assert out.stderr == "one event\n"


def test_a_command_run_in_process_leaves_the_process_as_it_was() -> None:
    import os
    import warnings

    root = logging.getLogger()
    before = (dict(os.environ), list(warnings.filters), root.level, list(root.handlers))
    undo = output.configure(NORMAL, terminal=False)
    assert any(isinstance(h, CliHandler) for h in root.handlers)
    undo()
    after = (dict(os.environ), list(warnings.filters), root.level, list(root.handlers))
    assert after == before
    assert not any(isinstance(f, output._AfterImport) for f in sys.meta_path)
