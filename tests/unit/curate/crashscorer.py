"""A scorer that crashes its worker process on one photo (workers import it by name)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

CRASH_WIDTH = 77


class CrashingScorer:
    """Scores 0.5, except that a photo CRASH_WIDTH pixels wide kills the process, as a
    native decoder fault would."""

    name = "crashing"
    version = None

    def score_images(self, images: list[np.ndarray], features: Any = None) -> np.ndarray:
        if any(im.shape[1] == CRASH_WIDTH for im in images):
            os._exit(3)
        return np.full(len(images), 0.5)
