"""One line for every fault, the right exit codes, and cleanup on Ctrl-C and SIGTERM."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from picme.cli.errors import EXIT_ERROR, message, run
from picme.errors import InputError

ROOT = Path(__file__).resolve().parents[3]


def _raiser(exc: BaseException):  # type: ignore[no-untyped-def]
    def main() -> None:
        raise exc

    return main


def test_a_full_disk_deep_in_a_library_names_the_file_and_the_fix() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/data/lake/posts.parquet")
        except OSError as inner:
            raise RuntimeError("IO Error: could not write") from inner
    except RuntimeError as outer:
        line = message(outer)
    assert line.startswith("no space left on the device (/data/lake/posts.parquet)")
    assert "PICME_HOME" in line and "\n" not in line


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_and_forbidden_paths_point_at_out_and_home(code: int) -> None:
    line = message(PermissionError(code, "denied", "/albums/trip-picme"))
    assert "(/albums/trip-picme)" in line and "--out" in line


def test_user_errors_and_unknown_ones_are_single_lines(capsys: pytest.CaptureFixture) -> None:
    assert run(_raiser(InputError("album x does not exist")), []) == EXIT_ERROR
    assert capsys.readouterr().err == "error: album x does not exist\n"
    assert run(_raiser(ValueError("bad\nsecond line")), []) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err == "error: ValueError: bad (run with --debug for the traceback)\n"


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture) -> None:
    assert run(_raiser(ValueError("boom")), ["--debug"]) == EXIT_ERROR
    assert "Traceback" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line(capsys: pytest.CaptureFixture) -> None:
    assert run(_raiser(KeyboardInterrupt()), []) == 130
    assert capsys.readouterr().err.count("\n") == 1


def test_sigterm_cleans_up_and_exits_143(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from picme.cli.errors import run
        def main():
            try:
                print("ready", flush=True)
                time.sleep(60)
            finally:
                open({str(marker)!r}, "w").write("yes")
        sys.exit(run(main, []))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert marker.read_text() == "yes"
    assert err == "error: terminated (SIGTERM); nothing half-written was kept\n"


def test_the_real_command_reports_usage_errors_through_typer() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "picme.cli.app", "curate", "--top", "x", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "--top" in out.stderr
