"""The shared process pool and file locks: order, crash isolation, workers that die with
their parent, and the one-line message of a busy lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from picme.errors import PicmeError
from picme.util.locks import Busy, exclusive
from picme.util.pool import map_chunks
from tests.unit.util import poolfuncs


def test_results_come_back_in_input_order_across_processes() -> None:
    chunks = [[i, i + 1] for i in range(0, 40, 2)]
    out = list(map_chunks(poolfuncs.square_all, chunks, 2, on_crash=lambda x: -1))
    assert [x for chunk in out for x in chunk] == [i * i for i in range(40)]


def test_in_process_path_gives_the_same_results() -> None:
    chunks = [[1, 2], [3]]
    assert list(map_chunks(poolfuncs.square_all, chunks, 1, on_crash=lambda x: -1)) == [
        [1, 4],
        [9],
    ]


def test_a_crashing_item_costs_only_itself() -> None:
    chunks = [[1, 2, 3], [4, poolfuncs.CRASH, 6], [7, 8]]
    out = list(map_chunks(poolfuncs.square_all, chunks, 2, on_crash=lambda x: -1))
    assert out == [[1, 4, 9], [16, -1, 36], [49, 64]]


def test_workers_die_when_their_parent_is_killed(tmp_path: Path) -> None:
    """A parent that is SIGKILLed mid-map leaves no worker process behind."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parents[3])!r})
        from picme.util.pool import map_chunks
        from tests.unit.util import poolfuncs
        if __name__ == "__main__":
            list(map_chunks(poolfuncs.record_and_sleep, [[{str(pids)!r}]] * 4, 2,
                            on_crash=lambda x: None))
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if pids.exists() and len(pids.read_text().split()) >= 2:
            break
        time.sleep(0.2)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) >= 2
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in workers if _alive(p)]
        time.sleep(0.2)
    assert alive == [], f"workers still running after the parent died: {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has exited; only its parent (init, here) has not reaped it yet.
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_a_second_holder_gets_one_line(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with (
        exclusive(lock, "another run is writing"),
        pytest.raises(Busy) as err,
        exclusive(lock, "another run is writing"),
    ):
        pass
    assert isinstance(err.value, PicmeError)
    assert str(err.value) == f"another run is writing (lock {lock})"
    with exclusive(lock, "free again"):
        pass


def test_a_task_workers_cannot_import_runs_here_instead_of_crashing_every_item(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A function defined in a test body is not importable by a worker process."""

    def local(items: list[int]) -> list[int]:
        return [x + 1 for x in items]

    out = list(map_chunks(local, [[1], [2], [3]], 2, on_crash=lambda x: -1))
    assert out == [[2], [3], [4]]
    assert "cannot import" in caplog.text


def test_a_partial_of_an_importable_function_runs_in_workers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import functools

    out = list(map_chunks(functools.partial(poolfuncs.square_all), [[2], [3]], 2, on_crash=abs))
    assert out == [[4], [9]]
    assert "working in this process" not in caplog.text
