"""The rich renderer of :mod:`picme.util.progress`: one bar per long step on stderr.

The live display starts with the first step and stops when the command ends; log lines
printed meanwhile go through the same console (:mod:`picme.cli.output`), above the bars.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from picme.util.progress import Task

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID, *, counted: bool) -> None:
        self.progress = progress
        self.task_id = task_id
        self.counted = counted

    def _count(self) -> None:
        # "12/40" for a counted step; nothing for a spinner's (unknown) total.
        if self.counted:
            task = next(t for t in self.progress.tasks if t.id == self.task_id)
            total = f"/{task.total:g}" if task.total is not None else ""
            self.progress.update(self.task_id, count=f"{task.completed:g}{total}")

    def advance(self, n: float = 1) -> None:
        self.progress.advance(self.task_id, n)
        self._count()

    def update(
        self,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        from rich.markup import escape

        self.progress.update(
            self.task_id,
            completed=completed,
            total=total,
            description=escape(description) if description is not None else None,
        )
        self._count()


class RichReporter:
    """Bars on ``console`` (a terminal); finished steps stay, marked complete."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._lock = threading.Lock()

    def _started(self) -> Progress:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    SpinnerColumn(finished_text="[green]✓"),
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(),
                    TextColumn("{task.fields[count]}"),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=self.console,
                    transient=False,
                )
                self._progress.start()
            return self._progress

    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Task]:
        from rich.markup import escape

        progress = self._started()
        # Descriptions may hold scraped names or album paths: never read as markup.
        task_id = progress.add_task(escape(description), total=total, count="")
        handle = _RichTask(progress, task_id, counted=total is not None)
        handle.advance(0)
        try:
            yield handle
        except BaseException:
            progress.remove_task(task_id)
            raise
        task = next(t for t in progress.tasks if t.id == task_id)
        if task.total is None:
            progress.update(task_id, total=1, completed=1)
        elif task.completed < task.total:
            # A step that ended early (early stopping): the count reached is the total,
            # so the spinner turns into a tick.
            progress.update(task_id, total=task.completed)
        handle.advance(0)

    def stop(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
