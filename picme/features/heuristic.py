"""The documented heuristic photo quality score: a weighted sum of feature sub-scores minus
penalties for clipped exposure and noise.

It is the baseline every trained model is compared with, and what curation and scoring use
with ``--model heuristic``. Formula and rationale: docs/image-features.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

HEURISTIC_WEIGHTS: dict[str, float] = {
    "sharpness": 0.30,
    "exposure": 0.25,
    "contrast": 0.15,
    "colorfulness": 0.15,
    "faces": 0.15,
}


def _num(features: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    try:
        value = float(features.get(key, default))
    except (TypeError, ValueError):
        return default
    return default if math.isnan(value) else value


def _ramp(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def heuristic_quality(features: Mapping[str, Any]) -> float:
    """A hand-made photo quality score in [0, 1] from the features of one image.

    A weighted sum of sub-scores in [0, 1] (weights HEURISTIC_WEIGHTS), minus penalties:

    - sharpness: ramp(sharpness, 1, 5)
    - exposure: 1 - |brightness - 0.5| / 0.5, so mid-grey is best
    - contrast: ramp(contrast, 0.05, 0.25)
    - colorfulness: ramp(colorfulness, 0, 80)
    - faces: 0.6 if a face is seen + 0.4 * ramp(face_area, 0, 0.15)
    - penalty: 0.8 * (overexposed + underexposed) + 0.25 * ramp(noise, 3, 15)

    Monotone: never decreases when sharpness, contrast, colorfulness, face_count or face_area
    grow, never increases when overexposed, underexposed or noise grow. Missing or NaN
    features count as 0 (brightness as 0.5); an undecodable image (``decodable`` false)
    scores 0. Formula and rationale: docs/image-features.md.
    """
    if features.get("decodable") is False:
        return 0.0
    w = HEURISTIC_WEIGHTS
    brightness = _num(features, "brightness", 0.5)
    faces = 0.0
    if _num(features, "face_count") >= 1:
        faces = 0.6 + 0.4 * _ramp(_num(features, "face_area"), 0.0, 0.15)
    score = (
        w["sharpness"] * _ramp(_num(features, "sharpness"), 1.0, 5.0)
        + w["exposure"] * (1.0 - min(1.0, abs(brightness - 0.5) / 0.5))
        + w["contrast"] * _ramp(_num(features, "contrast"), 0.05, 0.25)
        + w["colorfulness"] * _ramp(_num(features, "colorfulness"), 0.0, 80.0)
        + w["faces"] * faces
    )
    clipped = min(1.0, max(0.0, _num(features, "overexposed"))) + min(
        1.0, max(0.0, _num(features, "underexposed"))
    )
    penalty = 0.8 * clipped + 0.25 * _ramp(_num(features, "noise"), 3.0, 15.0)
    return float(min(1.0, max(0.0, score - penalty)))
