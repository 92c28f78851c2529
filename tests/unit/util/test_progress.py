"""The progress API: silent by default, reporters installed per context, plain lines."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from picme.util import progress


class Recorder:
    """A reporter that keeps every call, to check what the library reports."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[progress.Task]:
        events = self.events
        events.append(("start", description, total))

        class T:
            def advance(self, n: float = 1) -> None:
                events.append(("advance", description, n))

            def update(self, **kw: Any) -> None:
                events.append(("update", description, kw))

        try:
            yield T()
        finally:
            events.append(("end", description))


def test_without_a_reporter_the_calls_do_nothing() -> None:
    assert progress.current() is progress.NULL
    with progress.task("work", 3) as bar:
        bar.advance()
        bar.update(completed=3, description="done")
    assert list(progress.track([1, 2, 3], "items")) == [1, 2, 3]


def test_track_reports_each_item_to_the_installed_reporter() -> None:
    rec = Recorder()
    with progress.reporting(rec):
        assert list(progress.track(["a", "b"], "letters")) == ["a", "b"]
    assert rec.events == [
        ("start", "letters", 2),
        ("advance", "letters", 1),
        ("advance", "letters", 1),
        ("end", "letters"),
    ]
    assert progress.current() is progress.NULL


def test_track_of_a_generator_has_an_unknown_total_unless_given() -> None:
    rec = Recorder()
    with progress.reporting(rec):
        list(progress.track((i for i in range(2)), "gen"))
        list(progress.track((i for i in range(2)), "gen2", total=2))
    starts = [e for e in rec.events if e[0] == "start"]
    assert starts == [("start", "gen", None), ("start", "gen2", 2)]


def test_silenced_and_install_nest_and_restore() -> None:
    rec = Recorder()
    undo = progress.install(rec)
    try:
        with progress.silenced(), progress.task("hidden"):
            pass
        with progress.task("shown"):
            pass
    finally:
        undo()
    assert [e[1] for e in rec.events if e[0] == "start"] == ["shown"]
    assert progress.current() is progress.NULL


def test_a_plain_thread_starts_without_the_reporter_but_may_use_a_task() -> None:
    rec = Recorder()
    seen: list[object] = []
    with progress.reporting(rec), progress.task("shared", 2) as bar:
        worker = threading.Thread(target=lambda: (seen.append(progress.current()), bar.advance()))
        worker.start()
        worker.join()
    assert seen == [progress.NULL]
    assert ("advance", "shared", 1) in rec.events


def test_line_reporter_says_each_step_once_when_it_ends() -> None:
    lines: list[str] = []
    reporter = progress.LineReporter(lines.append, every=None)
    with progress.reporting(reporter), progress.task("image features", 4) as bar:
        bar.advance(3)
        bar.update(completed=4, description="image features (4 new)")
    assert len(lines) == 1
    assert lines[0].startswith("image features (4 new): 4/4 done (")


def test_line_reporter_writes_periodic_lines_and_no_done_line_on_failure() -> None:
    lines: list[str] = []
    reporter = progress.LineReporter(lines.append, every=0.0)
    with (
        pytest.raises(RuntimeError),
        progress.reporting(reporter),
        progress.task("scraping", None) as bar,
    ):
        bar.advance(2)
        raise RuntimeError("stop")
    assert lines and all("..." in line and "done" not in line for line in lines)
    assert lines[-1].startswith("scraping: 2 ...")


def test_line_reporter_skips_quick_steps() -> None:
    lines: list[str] = []
    quiet = progress.LineReporter(lines.append, every=None, min_seconds=60)
    with progress.reporting(quiet), progress.task("quick", 1) as bar:
        bar.advance()
    assert lines == []
