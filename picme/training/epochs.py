"""Training progress for :mod:`picme.util.progress`: one step per epoch, with the epoch's
train and validation loss in the description (a Lightning callback; Lightning's own bar is
off, see :mod:`picme.training.fit`)."""

from __future__ import annotations

import math
from contextlib import ExitStack
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from picme.util import progress


class EpochProgress(Callback):
    """Reports ``training MODEL: epoch 3/12 train/loss 0.412 val/loss 0.455``."""

    def __init__(self, label: str, max_epochs: int) -> None:
        self.label = label
        self.max_epochs = max_epochs
        self._stack: ExitStack | None = None
        self._task: progress.Task = progress.NullTask()

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stack = ExitStack()
        self._task = self._stack.enter_context(
            progress.task(f"{self.label}: epoch 0/{self.max_epochs}", total=self.max_epochs)
        )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        # Validation runs before this hook in Lightning 2: both losses are in.
        metrics = trainer.callback_metrics
        losses = " ".join(
            f"{name} {_number(metrics.get(name))}"
            for name in ("train/loss", "val/loss")
            if name in metrics
        )
        epoch = trainer.current_epoch + 1
        self._task.update(
            completed=epoch, description=f"{self.label}: epoch {epoch}/{self.max_epochs} {losses}"
        )

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        # The step ends as failed (no "done" line, the bar removed), not as finished.
        if self._stack is not None:
            self._stack.__exit__(type(exception), exception, exception.__traceback__)
            self._stack = None


def _number(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return f"{v:.3f}" if math.isfinite(v) else "n/a"
