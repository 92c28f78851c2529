"""Test images drawn in the tests: a scene with real edges, and JPEG files of it."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def scene(w: int = 320, h: int = 240, seed: int = 0) -> np.ndarray:
    """Shapes and texture with real edges, so blur and noise have something to change."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), (90, 120, 160), np.uint8)
    for _ in range(25):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(8, 60)), y0 + 30), colour, -1)
        cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), 12, colour, 2)
    return img


def write_images(root: Path, n: int, size: int = 96) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = root / f"img{i}.jpg"
        Image.fromarray(scene(size, size, seed=i)).save(p, quality=90)
        out.append(p)
    return out


def assert_same_records(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float) and math.isnan(ra[k]):
                assert math.isnan(rb[k]), k
            else:
                assert ra[k] == rb[k], k
