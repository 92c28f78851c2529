"""picme.features.heuristic: the documented quality score stays in [0, 1] and moves the
right way with every feature."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from picme.features.heuristic import heuristic_quality


def test_heuristic_quality_bounds_and_monotonicity() -> None:
    rng = np.random.default_rng(0)
    ranges = {
        "brightness": (0, 1),
        "contrast": (0, 0.5),
        "saturation": (0, 1),
        "colorfulness": (0, 150),
        "sharpness": (0, 10),
        "noise": (0, 30),
        "overexposed": (0, 1),
        "underexposed": (0, 1),
        "edge_density": (0, 0.5),
        "face_count": (0, 4),
        "face_area": (0, 0.6),
        "eye_count": (0, 8),
    }
    up = ["sharpness", "contrast", "colorfulness", "face_count", "face_area"]
    down = ["overexposed", "underexposed", "noise"]
    for _ in range(300):
        f: dict[str, Any] = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in ranges.items()}
        f["face_count"] = float(round(f["face_count"]))
        q = heuristic_quality(f)
        assert 0.0 <= q <= 1.0
        for key in up:
            assert heuristic_quality(dict(f, **{key: f[key] * 1.5 + 0.5})) >= q, key
        for key in down:
            assert heuristic_quality(dict(f, **{key: f[key] * 1.5 + 0.05})) <= q, key
    good = {"brightness": 0.5, "contrast": 0.25, "colorfulness": 80, "sharpness": 5}
    assert heuristic_quality(good) > 0.8
    assert heuristic_quality(dict(good, decodable=False)) == 0.0
    assert heuristic_quality({}) == pytest.approx(0.25)  # neutral exposure only
    assert heuristic_quality({"sharpness": float("nan"), "brightness": None}) <= 0.25
