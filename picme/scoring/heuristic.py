"""The heuristic scorer: the documented image-quality heuristic, with no model and no torch,
and its saliency map (local sharpness)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from picme.features.extractors import features_from_array
from picme.features.heuristic import heuristic_quality
from picme.scoring.base import aligned, check_image

HEURISTIC = "heuristic"


class HeuristicScorer:
    """``picme.features.heuristic.heuristic_quality`` over the image's OpenCV features.

    When the caller already has the features (curation computes them for near-duplicate
    grouping and explanations) it passes them and nothing is recomputed. Saliency is the
    smoothed local sharpness (Laplacian energy): where the eye is drawn in a photo that is
    in focus, which is what the heuristic rewards.
    """

    name = HEURISTIC
    version: str | None = None
    # The features in the training table are computed at this size (imagefeat's default),
    # so decoding album photos at the same size keeps the heuristic comparable.
    max_side = 512

    def score_images(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> np.ndarray:
        feats = aligned(features, len(images), "features")
        out = np.empty(len(images), dtype=np.float64)
        for i, image in enumerate(images):
            f = feats[i]
            if f is None:
                check_image(image, i)
                f = features_from_array(image)
            out[i] = float(heuristic_quality(f))
        return out

    def saliency(self, image: np.ndarray) -> np.ndarray | None:
        return sharpness_map(image)


def sharpness_map(image: np.ndarray) -> np.ndarray:
    """Local Laplacian energy, blurred and scaled to [0, 1]; float32 with the image's size."""
    check_image(image, 0)
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))
    k = max(3, (min(gray.shape) // 16) | 1)
    energy = cv2.GaussianBlur(lap, (k, k), 0)
    return _unit(energy)


def _unit(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32, copy=False)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12:
        return np.zeros_like(a, dtype=np.float32)
    return ((a - lo) / (hi - lo)).astype(np.float32)
