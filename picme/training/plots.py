"""Evaluation plots saved as PNG (matplotlib's Agg backend: no display needed), and
``write_plots``: the figures logged with each run, saliency overlays included.

The learning curves are drawn from the per-epoch values MLflow holds for the run
(:func:`picme.training.mlflow_log.logged_history`), epochs counted from 1. A plot that cannot
say anything (calibration and confusion on a test split whose labels are all of one class)
is left out, and ``not_drawn.txt`` beside the plots says why."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from picme.features.decode import decode_image
from picme.scoring.saliency import overlay, saliency_map
from picme.training.evaluate import confusion_matrix
from picme.util.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd

    from picme.training.fit import Trained

log = logging.getLogger(__name__)


def _plt():  # type: ignore[no-untyped-def]
    # Imported when drawing: the Agg backend must be chosen before pyplot is first imported.
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    _plt().close(fig)
    return path


NOT_DRAWN = "not_drawn.txt"


def learning_curves(history: Sequence[Mapping[str, float]], path: Path) -> Path:
    """train/loss, val/loss and val/pairwise_acc per epoch (``epoch`` of each row, else its
    position counted from 1)."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    for key, ax in (("train/loss", ax1), ("val/loss", ax1), ("val/pairwise_acc", ax2)):
        ys = [h.get(key, np.nan) for h in history]
        if np.isfinite(np.asarray(ys, float)).any():
            ax.plot(epochs, ys, marker="o", label=key)
    ax1.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Within-account pairwise accuracy (val)")
    ax2.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax1, ax2):
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _save(fig, path)


def calibration(scores: np.ndarray, labels: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Share of positives per score decile: a rising curve means the score ranks the label."""
    plt = _plt()
    s, y = np.asarray(scores, float), np.asarray(labels, float)
    ok = np.isfinite(s) & np.isfinite(y)
    s, y = s[ok], y[ok]
    fig, ax = plt.subplots(figsize=(4.8, 4))
    if s.size:
        rank = s.argsort().argsort() / max(1, s.size - 1)
        edges = np.linspace(0, 1, bins + 1)
        which = np.clip(np.digitize(rank, edges[1:-1]), 0, bins - 1)
        centers = [(edges[i] + edges[i + 1]) / 2 for i in range(bins) if (which == i).any()]
        rates = [y[which == i].mean() for i in range(bins) if (which == i).any()]
        ax.plot(centers, rates, marker="o", label="model")
        ax.axhline(y.mean(), color="grey", ls="--", lw=1, label="base rate")
    ax.set(xlabel="score percentile", ylabel="share of positives", ylim=(0, 1))
    ax.set_title("Calibration (by score percentile)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def confusion(matrix: np.ndarray, path: Path, labels: Sequence[str] = ("worse", "better")) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(int(v)), ha="center", va="center")
    ax.set_xticks(range(len(labels)), labels=list(labels))
    ax.set_yticks(range(len(labels)), labels=list(labels))
    ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix (test)")
    return _save(fig, path)


def score_distributions(scores: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    plt = _plt()
    s, y = np.asarray(scores, float), np.asarray(labels, float)
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for value, name in ((0, "label 0"), (1, "label 1")):
        part = s[(y == value) & np.isfinite(s)]
        if part.size:
            ax.hist(part, bins=20, alpha=0.55, label=f"{name} (n={part.size})")
    ax.set(xlabel="score", ylabel="posts", title="Score distributions (test)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _save(fig, path)


def feature_importances(table: pd.DataFrame, path: Path, top: int = 20) -> Path:
    """Horizontal bars of the largest importances (a share of the total)."""
    plt = _plt()
    shown = table.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(shown) + 1))
    ax.barh(shown["column"], shown["importance"], color="#4a7ab5")
    ax.set(xlabel="share of importance", title="What the ranker uses")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def image_grid(
    images: Sequence[np.ndarray], titles: Sequence[str], path: Path, title: str = ""
) -> Path:
    plt = _plt()
    n = max(1, len(images))
    fig, axes = plt.subplots(1, n, figsize=(3 * n, 3.3), squeeze=False)
    for ax, img, t in zip(axes[0], images, titles, strict=False):
        ax.imshow(img)
        ax.set_title(t, fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def label_plots(scores: np.ndarray, labels: np.ndarray, rate: float, out: Path) -> list[Path]:
    """Calibration, confusion matrix and score distributions of the test split; when its
    labels are not of both classes the first two are left out and ``not_drawn.txt`` says
    so (a calibration curve of one class, a confusion matrix with an empty row, say
    nothing)."""
    s, y = np.asarray(scores, float), np.asarray(labels, float)
    classes = np.unique(y[np.isfinite(y) & np.isfinite(s)]) if s.size else np.zeros(0)
    files = []
    if len(classes) == 2:  # noqa: PLR2004
        files += [
            calibration(s, y, out / "calibration.png"),
            confusion(confusion_matrix(s, y, rate), out / "confusion_matrix.png"),
        ]
    else:
        what = "no labelled rows" if not len(classes) else f"only label {classes[0]:.0f}"
        note = out / NOT_DRAWN
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(note) as tmp:
            tmp.write_text(
                f"calibration.png and confusion_matrix.png are not drawn: the test split has "
                f"{what} ({int(np.isfinite(y).sum())} labelled of {len(y)} rows), so neither "
                "can show how the score separates the two classes.\n"
            )
        files.append(note)
    if s.size:
        files.append(score_distributions(s, y, out / "score_distributions.png"))
    return files


def write_plots(
    trained: Trained,
    test_scores: np.ndarray,
    rate: float,
    out: Path,
    k: int = 3,
    *,
    history: Sequence[Mapping[str, float]] | None = None,
) -> list[Path]:
    """Learning curves (of ``history``: the run's logged curves; else the fit's own),
    calibration, confusion matrix, score distributions, and saliency maps of the best and
    worst scored test images."""
    test = trained.dm.splits["test"].frame
    labels = (
        test["label"].astype(float).to_numpy()
        if "label" in test.columns
        else np.full(len(test), np.nan)
    )
    curves = trained.history if history is None else history
    files = [learning_curves(curves, out / "learning_curves.png")]
    files += label_plots(test_scores, labels, rate, out)
    files += write_saliency(trained, test, test_scores, out, k)
    return files


def write_saliency(
    trained: Trained, frame: pd.DataFrame, scores: np.ndarray, out: Path, k: int
) -> list[Path]:
    if not trained.net.uses_image or len(frame) == 0:
        return []
    order = np.argsort(-scores)
    meta_raw = trained.dm.splits["test"].meta_raw
    files = []
    for label, picks in (("best", order[:k]), ("worst", order[::-1][:k])):
        shown, titles = [], []
        for i in picks:
            path = str(frame["image_path"].iloc[i])
            try:
                img = decode_image(path, max_side=384)
            except Exception as exc:
                log.warning("saliency: %s: %s", path, exc)
                continue
            sal = saliency_map(trained.net, trained.prep, img, meta_raw[i])
            if sal is None:
                continue
            shown.append(overlay(img, sal))
            titles.append(f"{frame['shortcode'].iloc[i]}  score {scores[i]:.2f}")
        if shown:
            files.append(
                image_grid(
                    shown, titles, out / f"saliency_{label}.png", f"{label} scored test images"
                )
            )
    return files
