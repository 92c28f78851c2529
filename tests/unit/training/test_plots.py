"""Plots that cannot say anything are left out with a note; learning curves take the logged
history's epochs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from picme.training.plots import NOT_DRAWN, label_plots, learning_curves


def test_one_class_test_split_leaves_calibration_and_confusion_out(tmp_path: Path) -> None:
    scores = np.linspace(0, 1, 12)
    files = label_plots(scores, np.ones(12), 0.5, tmp_path / "one")
    names = {f.name for f in files}
    assert names == {NOT_DRAWN, "score_distributions.png"}
    note = (tmp_path / "one" / NOT_DRAWN).read_text()
    assert "calibration.png and confusion_matrix.png are not drawn" in note
    assert "only label 1 (12 labelled of 12 rows)" in note
    assert not (tmp_path / "one" / "calibration.png").exists()

    unlabelled = label_plots(scores, np.full(12, np.nan), 0.5, tmp_path / "none")
    assert "no labelled rows" in (tmp_path / "none" / NOT_DRAWN).read_text()
    assert NOT_DRAWN in {f.name for f in unlabelled}

    both = label_plots(scores, (scores > 0.5).astype(float), 0.5, tmp_path / "two")
    assert {f.name for f in both} == {
        "calibration.png",
        "confusion_matrix.png",
        "score_distributions.png",
    }
    assert all(f.stat().st_size > 1000 for f in both)
    assert not (tmp_path / "two" / NOT_DRAWN).exists()


def test_learning_curves_draw_a_history_without_validation(tmp_path: Path) -> None:
    # No validation split: only train/loss was logged; the plot is still drawn.
    history = [{"epoch": 1.0, "train/loss": 0.46}, {"epoch": 2.0, "train/loss": 0.41}]
    path = learning_curves(history, tmp_path / "lc.png")
    assert path.stat().st_size > 1000
