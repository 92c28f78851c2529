"""Generated albums and feedback with a planted preference, for the personal ranker's tests.

Each photo is a textured scene whose sharpness, contrast and saturation are drawn
independently. The planted person keeps a photo when it is colourful (saturation above the
middle) and rejects the grey ones, however sharp: the heuristic, which mostly rewards
sharpness and contrast, orders their decisions little better than chance.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from picme.lake.feedback import record
from picme.settings import Settings


def photo(sat: float, sharp: float, rng: np.random.Generator, size: int = 72) -> np.ndarray:
    """An HSV scene: stripes and blobs (sharp or blurred), saturation ``sat`` in [0, 1]."""
    hsv = np.zeros((size, size, 3), np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    hue = rng.integers(0, 180)
    freq = rng.uniform(0.15, 0.5)
    pattern = (np.sin(xx * freq + rng.uniform(0, 6)) > 0) ^ (np.cos(yy * freq * 0.7) > 0.3)
    hsv[..., 0] = (hue + pattern * 25) % 180
    hsv[..., 1] = np.clip(255 * sat + rng.normal(0, 6, (size, size)), 0, 255)
    hsv[..., 2] = np.clip(110 + 90 * pattern + rng.normal(0, 4, (size, size)), 0, 255)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if sharp < 0.5:
        k = 2 * int(1 + 4 * (0.5 - sharp)) + 1
        rgb = cv2.GaussianBlur(rgb, (k, k), 0)
    return rgb


def make_albums(
    settings: Settings,
    root: Path,
    *,
    albums: int = 3,
    photos: int = 30,
    seed: int = 0,
    planted: bool = True,
) -> list[Path]:
    """Write the albums under ``root`` and record one decision per photo."""
    rng = np.random.default_rng(seed)
    when = datetime(2026, 5, 1, tzinfo=UTC)
    out = []
    for a in range(albums):
        album = root / f"album{a}"
        album.mkdir(parents=True)
        for i in range(photos):
            sat, sharp = float(rng.uniform(0, 1)), float(rng.uniform(0, 1))
            path = album / f"IMG_{i:04d}.jpg"
            Image.fromarray(photo(sat, sharp, rng)).save(path, quality=92)
            keep = sat > 0.5 if planted else bool(rng.random() < 0.5)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            when += timedelta(seconds=1)
            record(settings, album, path.name, digest, "keep" if keep else "reject", when)
        out.append(album)
    return out
