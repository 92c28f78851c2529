"""Evaluation plots saved as PNG (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: object, path: Path) -> Path:
    from picme.util.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    _plt().close(fig)
    return path


def learning_curves(history: Sequence[Mapping[str, float]], path: Path) -> Path:
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    epochs = [h.get("epoch", i) for i, h in enumerate(history)]
    for key, ax in (("train/loss", ax1), ("val/loss", ax1), ("val/pairwise_acc", ax2)):
        ys = [h.get(key, np.nan) for h in history]
        if np.isfinite(np.asarray(ys, float)).any():
            ax.plot(epochs, ys, marker="o", label=key)
    ax1.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Within-account pairwise accuracy (val)")
    ax2.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
    for ax in (ax1, ax2):
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
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
    ax.legend(fontsize=8)
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
