"""The image features computed with OpenCV, as extractors registered by name.

Every value is computed on the image bounded to ``ANALYSIS_SIDE`` pixels on its longer side,
so a 12-megapixel photo and its 1080-pixel Instagram copy get comparable numbers, and the
cost is the (reduced-size) decode plus some milliseconds, most of them face detection
(bench/results/features.md).

Columns (``FEATURE_COLUMNS``, all floats; full formulas in docs/image-features.md):

=============  ================================================================================
brightness     mean luma (BT.601) / 255, in [0, 1]
contrast       standard deviation of luma / 255 (RMS contrast), in [0, 0.5]
saturation     mean HSV saturation / 255, in [0, 1]
colorfulness   Hasler and Suesstrunk (2003) M on 0..255 RGB; ~15 "slightly", ~59 "quite",
               >100 "extremely" colourful
sharpness      log(1 + variance of the Laplacian of Gaussian (sigma 1 px) of luma, 0..255) with
               the longer side resized to exactly ANALYSIS_SIDE (scale-normalised); ~0.5-1.5
               blurred, ~4-5 a crisp portrait
noise          Immerkaer (1996) fast noise sigma of luma, in grey levels (0..255 scale)
overexposed    fraction of pixels with luma >= 250, in [0, 1]
underexposed   fraction of pixels with luma <= 5, in [0, 1]
edge_density   fraction of Canny (100, 200) edge pixels, in [0, 1]
face_count     frontal faces found by OpenCV's Haar cascade (faces >= 1/8 of the longer side)
face_area      area of the largest face / image area, in [0, 1]; 0 without faces
eye_count      open eyes found inside the faces (at most 2 per face, summed); curation uses
               it for its closed-eye gate
=============  ================================================================================

Besides these, each image gets ``color_hist`` (72 floats summing to 1: HSV histogram with 8 hue
x 3 saturation x 3 value bins, hue-major) and a 64-bit DCT perceptual hash
(:mod:`picme.features.phash`; ``phash``: 16 hex chars; ``phash_int``: the same bits as a
signed int64).

Extractors are registered by name (:func:`register_extractor`) so a new feature is one
decorated function; ``FEATURE_COLUMNS`` itself is a fixed contract with the models. A change
to a formula here bumps :data:`picme.features.table.FEATURE_VERSION`, so the cached rows of
the lake are recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from picme.features.decode import resize_max_side
from picme.features.faces import detect_faces
from picme.features.phash import phash_gray, phash_to_int64

FEATURE_COLUMNS: list[str] = [
    "brightness",
    "contrast",
    "saturation",
    "colorfulness",
    "sharpness",
    "noise",
    "overexposed",
    "underexposed",
    "edge_density",
    "face_count",
    "face_area",
    "eye_count",
]

ANALYSIS_SIDE = 512
HIST_BINS = (8, 3, 3)
SHARPNESS_SIGMA = 1.0
OVER_LEVEL = 250
UNDER_LEVEL = 5
CANNY_LOW, CANNY_HIGH = 100, 200

FeatureValues = Mapping[str, Any]


class FeatureInput:
    """One image prepared for the extractors; shared intermediates are computed once."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = resize_max_side(_as_rgb(rgb), ANALYSIS_SIDE)

    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)

    @cached_property
    def gray_hist(self) -> np.ndarray:
        hist = cv2.calcHist([self.gray], [0], None, [256], [0, 256]).ravel()
        return hist / max(float(hist.sum()), 1.0)

    @cached_property
    def small_rgb(self) -> np.ndarray:
        # Colour statistics are global averages: every other pixel gives the same numbers
        # to ~3 decimals at a quarter of the cost.
        return self.rgb[::2, ::2] if min(self.rgb.shape[:2]) >= 64 else self.rgb

    @cached_property
    def small_hsv(self) -> np.ndarray:
        return cv2.cvtColor(np.ascontiguousarray(self.small_rgb), cv2.COLOR_RGB2HSV)


@dataclass(frozen=True)
class FeatureExtractor:
    name: str
    columns: tuple[str, ...]
    func: Callable[[FeatureInput], FeatureValues]

    def __call__(self, inp: FeatureInput) -> dict[str, Any]:
        values = dict(self.func(inp))
        missing = set(self.columns) - set(values)
        if missing:
            raise RuntimeError(f"feature extractor {self.name!r} did not return {sorted(missing)}")
        return values


_EXTRACTORS: dict[str, FeatureExtractor] = {}


def register_extractor(
    name: str, columns: Sequence[str]
) -> Callable[[Callable[[FeatureInput], FeatureValues]], Callable[[FeatureInput], FeatureValues]]:
    """Register ``func(FeatureInput) -> {column: value}`` under ``name`` (decorator)."""

    def deco(
        func: Callable[[FeatureInput], FeatureValues],
    ) -> Callable[[FeatureInput], FeatureValues]:
        if name in _EXTRACTORS:
            raise ValueError(f"feature extractor {name!r} is already registered")
        _EXTRACTORS[name] = FeatureExtractor(name, tuple(columns), func)
        return func

    return deco


def available_extractors() -> list[str]:
    return list(_EXTRACTORS)


def get_extractor(name: str) -> FeatureExtractor:
    try:
        return _EXTRACTORS[name]
    except KeyError:
        raise ValueError(
            f"unknown feature extractor {name!r}; available: {', '.join(_EXTRACTORS)}"
        ) from None


# --------------------------------------------------------------------------- extractors


@register_extractor("exposure", ("brightness", "contrast", "overexposed", "underexposed"))
def _exposure(inp: FeatureInput) -> FeatureValues:
    p = inp.gray_hist
    levels = np.arange(256, dtype=np.float64) / 255.0
    mean = float(p @ levels)
    var = float(p @ (levels - mean) ** 2)
    return {
        "brightness": mean,
        "contrast": math.sqrt(max(var, 0.0)),
        "overexposed": float(p[OVER_LEVEL:].sum()),
        "underexposed": float(p[: UNDER_LEVEL + 1].sum()),
    }


@register_extractor("color", ("saturation", "colorfulness"))
def _color(inp: FeatureInput) -> FeatureValues:
    rgb = inp.small_rgb.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    std = math.hypot(float(rg.std()), float(yb.std()))
    mean = math.hypot(float(rg.mean()), float(yb.mean()))
    return {
        "saturation": float(inp.small_hsv[..., 1].mean()) / 255.0,
        "colorfulness": std + 0.3 * mean,
    }


@register_extractor("sharpness", ("sharpness",))
def _sharpness(inp: FeatureInput) -> FeatureValues:
    gray = inp.gray
    h, w = gray.shape
    if max(h, w) != ANALYSIS_SIDE:
        # Resizing to one reference side makes the value independent of resolution; a small
        # image upscaled is rightly less sharp at the size it will be seen.
        scale = ANALYSIS_SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
    # The Gaussian (sigma 1 px) before the Laplacian ignores the top octave, where the
    # resampling path of each resolution leaves different aliasing: the same photo at
    # 540..1600 px then scores within ~0.15, against ~0.7 for a bare Laplacian.
    smooth = cv2.GaussianBlur(gray, (0, 0), SHARPNESS_SIGMA)
    lap = cv2.Laplacian(smooth, cv2.CV_32F, ksize=1)
    _, std = cv2.meanStdDev(lap)
    return {"sharpness": math.log1p(float(std[0, 0]) ** 2)}


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@register_extractor("noise", ("noise",))
def _noise(inp: FeatureInput) -> FeatureValues:
    gray = inp.gray
    h, w = gray.shape
    if h < 3 or w < 3:
        return {"noise": 0.0}
    resp = cv2.filter2D(gray.astype(np.float32), -1, _IMMERKAER)[1:-1, 1:-1]
    sigma = math.sqrt(math.pi / 2.0) * float(np.abs(resp).sum()) / (6.0 * (w - 2) * (h - 2))
    return {"noise": sigma}


@register_extractor("edges", ("edge_density",))
def _edges(inp: FeatureInput) -> FeatureValues:
    edges = cv2.Canny(inp.gray, CANNY_LOW, CANNY_HIGH)
    return {"edge_density": float(cv2.countNonZero(edges)) / float(edges.size)}


@register_extractor("faces", ("face_count", "face_area", "eye_count"))
def _faces(inp: FeatureInput) -> FeatureValues:
    faces, eyes, _ = detect_faces(inp.gray)
    h, w = inp.gray.shape
    largest = max((fw * fh for _, _, fw, fh in faces), default=0)
    return {
        "face_count": float(len(faces)),
        "face_area": min(1.0, largest / float(h * w)),
        "eye_count": float(sum(eyes)),
    }


@register_extractor("histogram", ("color_hist",))
def _histogram(inp: FeatureInput) -> FeatureValues:
    hist = cv2.calcHist(
        [inp.small_hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256]
    ).ravel()
    total = float(hist.sum())
    return {"color_hist": (hist / total if total else hist).astype(np.float32).tolist()}


@register_extractor("phash", ("phash", "phash_int"))
def _phash(inp: FeatureInput) -> FeatureValues:
    hex_hash = phash_gray(inp.gray)
    return {"phash": hex_hash, "phash_int": phash_to_int64(hex_hash)}


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {arr.dtype}")
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError("expected a non-empty image")
    return np.ascontiguousarray(arr[..., :3])


def features_from_array(rgb: np.ndarray, extractors: Sequence[str] | None = None) -> dict[str, Any]:
    """Features of one RGB uint8 image: FEATURE_COLUMNS, color_hist, phash, phash_int.

    ``extractors`` picks registered extractors by name (default: all of them).
    """
    inp = FeatureInput(rgb)
    out: dict[str, Any] = {}
    names = list(_EXTRACTORS) if extractors is None else list(extractors)
    for name in names:
        out.update(get_extractor(name)(inp))
    return out


def empty_features() -> dict[str, Any]:
    """The values stored for an image that could not be decoded."""
    out: dict[str, Any] = {c: math.nan for c in FEATURE_COLUMNS}
    out.update(color_hist=None, phash=None, phash_int=None)
    return out
