"""Preprocessing shared by training, evaluation and the scorer (numpy and OpenCV only).

Everything a logged model needs to reproduce its inputs lives in :class:`Preprocessing`,
which is saved as JSON beside the weights: image size, pixel mean/std, the metadata columns
in order, and their training-set mean/std.

Images: the shorter side is resized to ``image_size`` and the centre square is kept, as
Instagram's grid shows a post. Metadata: standardised with the training split's statistics;
a missing value (NaN) becomes 0 after standardisation, i.e. the training mean. That is how a
metadata-using model scores an album photo that has no caption, likes or posting time
("neutral metadata"), while the image-feature columns are computed from the pixels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FORMAT_VERSION = 1


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to ``size`` (area interpolation when shrinking), then the centre square."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=interp)
    top, left = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(resized[top : top + size, left : left + size])


def crop_box(h: int, w: int) -> tuple[int, int, int, int]:
    """The (top, left, height, width) of the original image that square_resize keeps."""
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side, side


@dataclass
class Preprocessing:
    """Saved with every logged model; load_scorer rebuilds the inputs from it."""

    model: str
    loss: str
    image_size: int
    meta_columns: list[str]
    feature_columns: list[str]
    meta_mean: list[float]
    meta_std: list[float]
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    target_mean: float = 0.0
    target_std: float = 1.0
    format_version: int = FORMAT_VERSION

    @property
    def n_meta(self) -> int:
        return len(self.meta_columns)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def save(self, path: Path) -> Path:
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: Path) -> Preprocessing:
        data = json.loads(Path(path).read_text())
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def standardize(self, raw: np.ndarray) -> np.ndarray:
        """Raw metadata (N, n_meta), NaN = unknown, to the model's standardised inputs."""
        if self.n_meta == 0:
            return np.zeros((raw.shape[0], 0), np.float32)
        mean = np.asarray(self.meta_mean, np.float64)
        std = np.asarray(self.meta_std, np.float64)
        z = (np.asarray(raw, np.float64) - mean) / std
        z = np.where(np.isfinite(z), z, 0.0)
        # Clipping keeps one absurd value (a caption of 10k hashtags) from dominating.
        return np.clip(z, -6.0, 6.0).astype(np.float32)

    def raw_meta(
        self,
        n: int,
        metadata: Sequence[Mapping[str, Any] | None] | None,
        features: Sequence[Mapping[str, Any] | None] | None,
    ) -> np.ndarray:
        """(n, n_meta) float32 from per-image dicts; what a dict lacks stays NaN (neutral)."""
        out = np.full((n, self.n_meta), np.nan, np.float32)
        feats = set(self.feature_columns)
        for i in range(n):
            md = metadata[i] if metadata is not None else None
            ft = features[i] if features is not None else None
            for j, col in enumerate(self.meta_columns):
                src = ft if col in feats else md
                if src is None and col in feats and md is not None:
                    src = md
                if src is None:
                    continue
                value = src.get(col)
                if value is None:
                    continue
                try:
                    out[i, j] = float(value)
                except (TypeError, ValueError):
                    continue
        return out


def fit_stats(values: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-column mean/std over finite values; a constant or empty column gets std 1."""
    values = np.asarray(values, np.float64)
    if values.shape[1] == 0:
        return [], []
    means, stds = [], []
    for j in range(values.shape[1]):
        col = values[:, j]
        col = col[np.isfinite(col)]
        m = float(col.mean()) if col.size else 0.0
        s = float(col.std()) if col.size > 1 else 0.0
        means.append(m)
        stds.append(s if s > 1e-8 else 1.0)
    return means, stds
