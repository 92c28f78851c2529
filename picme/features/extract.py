"""Image features with OpenCV, computed once per image content (sha256) and in parallel.

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
x 3 saturation x 3 value bins, hue-major) and a 64-bit DCT perceptual hash, imagehash's
phash algorithm computed with OpenCV (``phash``: 16 hex chars; ``phash_int``: the same bits
as a signed int64).

Extractors are registered by name (:func:`register_extractor`) so a new feature is one
decorated function; ``FEATURE_COLUMNS`` itself is a fixed contract with the models.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from picme.features.decode import ImageDecodeError, decode_bytes, read_image_bytes, resize_max_side

if TYPE_CHECKING:
    import pyarrow as pa

    from picme.settings import Settings

log = logging.getLogger(__name__)

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

# Bump when a formula changes: cached rows of another version are recomputed.
FEATURE_VERSION = 1
ANALYSIS_SIDE = 512
# Haar detection is the costliest feature: faces are searched at this longer side, so the
# smallest face found (the cascade's 20 px window) is 1/8 of the image's longer side. 160
# rather than 192 px cost ~3x less on the benchmark images; curation's closed-eye gate only
# looks at faces of >= 2% of the frame (~14% of the side) anyway.
FACE_SIDE = 160
# Eyes are searched in a band of each face box, scaled to this width.
EYE_FACE_WIDTH = 120
EYE_BAND = (0.2, 0.6)
HIST_BINS = (8, 3, 3)
SHARPNESS_SIGMA = 1.0
OVER_LEVEL = 250
UNDER_LEVEL = 5
CANNY_LOW, CANNY_HIGH = 100, 200
TABLE_NAME = "image_features"

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


_LOCAL = threading.local()


def _cascade(filename: str) -> cv2.CascadeClassifier:
    # One classifier per thread: detectMultiScale keeps per-call state in the object, and
    # flows may run features in threads of one process.
    cache: dict[str, cv2.CascadeClassifier] = _LOCAL.__dict__.setdefault("cascades", {})
    clf = cache.get(filename)
    if clf is None:
        path = os.path.join(cv2.data.haarcascades, filename)  # type: ignore[attr-defined]
        clf = cv2.CascadeClassifier(path)
        if clf.empty():
            raise RuntimeError(
                f"OpenCV Haar cascade {path} is missing; install opencv-python-headless<5"
            )
        cache[filename] = clf
    return clf


FACE_CASCADE = "haarcascade_frontalface_default.xml"
# The eyeglasses-tolerant cascade: as good on bare eyes and it still fires behind glasses.
EYE_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"


def detect_faces(gray: np.ndarray) -> tuple[list[tuple[int, int, int, int]], list[int], float]:
    """Faces (x, y, w, h) in ``gray``'s coordinates, eyes per face, and the work scale."""
    h, w = gray.shape
    scale = min(1.0, FACE_SIDE / max(h, w))
    small = cv2.equalizeHist(resize_max_side(gray, FACE_SIDE))
    scale = small.shape[1] / w
    min_face = 20
    if min(small.shape) < min_face:
        return [], [], scale
    found = _cascade(FACE_CASCADE).detectMultiScale(
        small, scaleFactor=1.2, minNeighbors=5, minSize=(min_face, min_face)
    )
    faces: list[tuple[int, int, int, int]] = []
    eyes: list[int] = []
    for x, y, fw, fh in (tuple(int(v) for v in f) for f in found):
        faces.append((round(x / scale), round(y / scale), round(fw / scale), round(fh / scale)))
        eyes.append(_count_eyes(gray, faces[-1]))
    return faces, eyes, scale


def _count_eyes(gray: np.ndarray, face: tuple[int, int, int, int]) -> int:
    # Eyes of a frontal face box lie in the band from 20% to 60% of its height; searching
    # only there halves the cost and keeps eyebrows and nostrils out. A fixed working width
    # keeps the cost per face constant and the eyes (~1/5 of the width) above the
    # cascade's 20 px window.
    x, y, w, h = face
    roi = gray[y + int(h * EYE_BAND[0]) : y + int(h * EYE_BAND[1]), x : x + w]
    if min(roi.shape[:2]) < 8:
        return 0
    scale = EYE_FACE_WIDTH / roi.shape[1]
    roi = cv2.resize(
        roi,
        (EYE_FACE_WIDTH, max(1, round(roi.shape[0] * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    found = _cascade(EYE_CASCADE).detectMultiScale(
        roi,
        scaleFactor=1.05,
        minNeighbors=3,
        minSize=(12, 12),
        maxSize=(EYE_FACE_WIDTH // 2, EYE_FACE_WIDTH // 2),
    )
    return min(2, len(found))


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


def _dct_rescale(n: int) -> np.ndarray:
    # cv2.dct is orthonormal; scipy.fftpack.dct (which imagehash uses) is not. Rescaling
    # makes the coefficients, hence the median split, the same as imagehash's.
    f = np.full(n, math.sqrt(2.0 / n))
    f[0] = math.sqrt(1.0 / n)
    return np.outer(2.0 / f, 2.0 / f)


PHASH_BITS = 8  # 8x8 = 64 bits
_PHASH_SIDE = PHASH_BITS * 4
_PHASH_SCALE = _dct_rescale(_PHASH_SIDE)[:PHASH_BITS, :PHASH_BITS]


def phash_gray(gray: np.ndarray) -> str:
    """imagehash.phash's algorithm (32x32 grey, 2-D DCT-II, 8x8 lowest frequencies above
    their median), with OpenCV doing the work: the same 64 bits to within ~1 bit on photos
    (area resize instead of Lanczos), ~10x cheaper, and no 1-2 s scipy import per worker."""
    small = cv2.resize(gray, (_PHASH_SIDE, _PHASH_SIDE), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small.astype(np.float64))[:PHASH_BITS, :PHASH_BITS] * _PHASH_SCALE
    bits = (low > np.median(low)).ravel()
    return f"{int.from_bytes(np.packbits(bits).tobytes(), 'big'):016x}"


@register_extractor("phash", ("phash", "phash_int"))
def _phash(inp: FeatureInput) -> FeatureValues:
    hex_hash = phash_gray(inp.gray)
    return {"phash": hex_hash, "phash_int": phash_to_int64(hex_hash)}


# ------------------------------------------------------------------------------ helpers


def phash_to_int64(hex_hash: str) -> int:
    """The 64 bits of a 16-hex-digit hash as a signed two's complement int64."""
    value = int(hex_hash, 16)
    if value >= 1 << 63:
        value -= 1 << 64
    return value


def int64_to_phash(value: int) -> str:
    return f"{value & 0xFFFFFFFFFFFFFFFF:016x}"


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes (0 = identical, 64 = opposite)."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


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


def features_for_file(
    path: str | os.PathLike[str], max_side: int = ANALYSIS_SIDE
) -> dict[str, Any]:
    """One image file to one feature record; never raises for a bad file."""
    rec: dict[str, Any] = {
        "path": str(path),
        "sha256": None,
        "decodable": False,
        "error": None,
        "width": None,
        "height": None,
    }
    try:
        data = read_image_bytes(path)
        rec["sha256"] = hashlib.sha256(data).hexdigest()
        decoded = decode_bytes(data, max_side=max_side, name=path)
        feats = features_from_array(decoded.rgb)
    except ImageDecodeError as exc:
        rec["error"] = exc.reason
        rec.update(empty_features())
        return rec
    except Exception as exc:  # one odd image must not stop a batch of thousands
        log.warning("features failed for %s: %s", path, exc)
        rec["error"] = f"feature extraction failed ({type(exc).__name__}: {exc})"
        rec.update(empty_features())
        return rec
    rec.update(decodable=True, width=decoded.width, height=decoded.height)
    rec.update(feats)
    return rec


def _features_chunk(paths: Sequence[str], max_side: int) -> list[dict[str, Any]]:
    return [features_for_file(p, max_side) for p in paths]


def _worker_init() -> None:
    # One OpenCV thread per process: the pool already uses every core.
    cv2.setNumThreads(1)


def _resolve_workers(workers: int) -> int:
    if workers > 0:
        return workers
    from picme.settings import get_settings

    return get_settings().n_workers()


def extract_features_for_paths(
    paths: Iterable[str | os.PathLike[str]],
    workers: int = 0,
    max_side: int = ANALYSIS_SIDE,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Feature records for ``paths``, in the same order; bad files are records too.

    Each record: path, sha256 (None when unreadable), decodable, error, width, height (full
    upright size), FEATURE_COLUMNS, color_hist, phash, phash_int. ``workers=0`` uses the
    settings' worker count (one per core by default), ``workers=1`` runs in this process;
    otherwise chunks of images (never one task per image) go to a process pool, whose
    workers start from a clean server process (call it under ``if __name__ ==
    "__main__":`` in a script, as for any multiprocessing code). ``progress(done, total)``
    is called as chunks finish.
    """
    items = [os.fspath(p) for p in paths]
    total = len(items)
    func = functools.partial(_features_chunk, max_side=max_side)
    n_workers = min(_resolve_workers(workers), max(1, total // 8))
    if n_workers <= 1:
        return _map_in_process(func, _chunks(items, 32), progress, total)
    # ~4 chunks per worker balances slow images; at most 64 per chunk keeps progress live.
    size = max(4, min(64, math.ceil(total / (n_workers * 4))))
    return map_chunks(func, _chunks(items, size), n_workers, progress, total, _crashed)


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _map_in_process(
    func: Callable[[list[str]], list[dict[str, Any]]],
    chunks: list[list[str]],
    progress: Callable[[int, int], None] | None,
    total: int,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        out.extend(func(chunk))
        if progress is not None:
            progress(len(out), total)
    return out


def _crashed(path: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "path": path,
        "sha256": None,
        "decodable": False,
        "error": "the decoder crashed on this file",
        "width": None,
        "height": None,
    }
    rec.update(empty_features())
    return rec


class _PoolUnavailable(RuntimeError):
    pass


def _pool(n_workers: int) -> ProcessPoolExecutor:
    import multiprocessing as mp

    # fork is unsafe once the parent has threads (Prefect, torch); forkserver starts workers
    # from a clean process that has this module imported already, so each fork is cheap.
    ctx: Any
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", __name__])
    else:  # pragma: no cover - Windows
        ctx = mp.get_context("spawn")
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_worker_init)


def map_chunks(
    func: Callable[[list[str]], list[dict[str, Any]]],
    chunks: list[list[str]],
    n_workers: int,
    progress: Callable[[int, int], None] | None,
    total: int,
    on_crash: Callable[[str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """``func`` over chunks in a process pool; results flattened in input order.

    A worker that dies (a native decoder crash) breaks the pool: its chunks are redone one
    item at a time so only the culprit becomes ``on_crash(item)``. A pool that cannot start
    at all falls back to this process.
    """
    results: list[list[dict[str, Any]] | None] = [None] * len(chunks)
    done = 0
    broken: list[int] = []
    try:
        with _pool(min(n_workers, len(chunks))) as pool:
            try:
                pool.submit(os.getpid).result()
            except BrokenProcessPool as exc:
                raise _PoolUnavailable(str(exc)) from None
            futures = {pool.submit(func, chunk): i for i, chunk in enumerate(chunks)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:
                    broken.append(i)
                    continue
                done += len(chunks[i])
                if progress is not None:
                    progress(done, total)
    except _PoolUnavailable as exc:
        log.warning(
            "worker processes could not start (%s); computing in this process. In a script, "
            "call this under `if __name__ == '__main__':`",
            exc,
        )
        return _map_in_process(func, chunks, progress, total)
    if broken:
        log.warning("a feature worker died; redoing %d chunk(s) image by image", len(broken))
        for i in sorted(broken):
            results[i] = _isolate(func, chunks[i], on_crash)
            done += len(chunks[i])
            if progress is not None:
                progress(done, total)
    return [rec for chunk in results for rec in (chunk or [])]


def _isolate(
    func: Callable[[list[str]], list[dict[str, Any]]],
    items: list[str],
    on_crash: Callable[[str], dict[str, Any]],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pool: ProcessPoolExecutor | None = None
    try:
        for item in items:
            pool = pool or _pool(1)
            try:
                out.extend(pool.submit(func, [item]).result())
            except BrokenProcessPool:
                log.warning("worker crashed on %s", item)
                out.append(on_crash(item))
                pool.shutdown(wait=True)
                pool = None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return out


# ------------------------------------------------------------------------------ heuristic

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


# --------------------------------------------------------------------------- lake table


@dataclass
class FeatureReport:
    n_total: int = 0
    n_new: int = 0
    n_cached: int = 0
    n_failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    table_path: Path | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        text = (
            f"image features: {self.n_total} images, {self.n_new} computed, "
            f"{self.n_cached} cached, {self.n_failed} failed in {self.seconds:.1f} s"
        )
        if self.table_path is not None:
            text += f" -> {self.table_path}"
        if self.failures:
            path, reason = self.failures[0]
            more = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            text += f"\n  first failure: {path}: {reason}{more}"
        return text


def feature_table_path(settings: Settings) -> Path:
    return Path(settings.lake_dir) / TABLE_NAME / f"{TABLE_NAME}.parquet"


def feature_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("sha256", pa.string()),
            ("path", pa.string()),
            ("decodable", pa.bool_()),
            ("error", pa.string()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            *[(c, pa.float64()) for c in FEATURE_COLUMNS],
            ("color_hist", pa.list_(pa.float32())),
            ("phash", pa.string()),
            ("phash_int", pa.int64()),
            ("feature_version", pa.int32()),
            ("computed_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def records_to_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Feature records (from extract_features_for_paths) as an image_features table."""
    import pyarrow as pa

    schema = feature_schema()
    now = datetime.now(UTC)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for rec in records:
        for name in schema.names:
            if name == "feature_version":
                columns[name].append(rec.get(name, FEATURE_VERSION))
            elif name == "computed_at":
                columns[name].append(rec.get(name, now))
            else:
                columns[name].append(rec.get(name))
    return pa.table(columns, schema=schema)


def _read_media(settings: Settings) -> pa.Table:
    import pyarrow.parquet as pq

    from picme.errors import InputError

    path = Path(settings.lake_dir) / "media" / "media.parquet"
    if not path.exists():
        raise InputError(f"no media table at {path}: run `picme ingest` first")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise InputError(f"cannot read {path} ({exc}); re-run `picme ingest`") from None
    missing = {"path", "sha256"} - set(table.column_names)
    if missing:
        raise InputError(f"{path} lacks column(s) {sorted(missing)}; re-run `picme ingest`")
    return table


def _read_existing(target: Path) -> pa.Table | None:
    import pyarrow.parquet as pq

    if not target.exists():
        return None
    try:
        table = pq.read_table(target)
    except Exception as exc:
        # The cache is derived data: rebuild it rather than stop the pipeline.
        log.warning("ignoring unreadable %s (%s); recomputing every image", target, exc)
        return None
    if set(table.column_names) != set(feature_schema().names):
        log.warning("%s has an older layout; recomputing every image", target)
        return None
    return table.select(feature_schema().names).cast(feature_schema())


def update_image_features(
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    max_side: int = ANALYSIS_SIDE,
    progress: Callable[[int, int], None] | None = None,
    extract: Callable[[list[str], int], list[dict[str, Any]]] | None = None,
) -> FeatureReport:
    """Compute features for lake media images not yet in lake/image_features (by sha256).

    Decode failures are stored (decodable false, with the reason) so they are not retried
    on every run; a missing file or one changed since ingest is reported and retried later.
    ``extract(paths, max_side)`` replaces the local process pool (the Dask flow sends the
    batches to a cluster); it must return one record per path, in order.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from picme.settings import get_settings
    from picme.util.atomic import write_parquet_atomic

    started = time.perf_counter()
    settings = settings or get_settings()
    media = _read_media(settings)
    target = feature_table_path(settings)
    existing = _read_existing(target)

    known: set[str] = set()
    stale = 0
    if existing is not None and existing.num_rows:
        current = existing.filter(pc.equal(existing["feature_version"], FEATURE_VERSION))
        known = {s for s in current["sha256"].to_pylist() if s}
        # Keep only this version's rows; the rest are recomputed below.
        stale = existing.num_rows - current.num_rows
        existing = current

    # One file per content hash; prefer a path that exists now.
    by_sha: dict[str, list[str]] = {}
    for path, sha in zip(media["path"].to_pylist(), media["sha256"].to_pylist(), strict=True):
        if sha and path:
            by_sha.setdefault(sha, []).append(path)
    todo: list[tuple[str, str]] = []
    for sha, paths in by_sha.items():
        if sha in known:
            continue
        chosen = next((p for p in paths if os.path.exists(p)), paths[0])
        todo.append((sha, chosen))

    report = FeatureReport(n_total=len(by_sha), n_cached=len(by_sha) - len(todo))
    paths = [p for _, p in todo]
    if extract is None:
        records = extract_features_for_paths(
            paths,
            workers=workers if workers is not None else settings.n_workers(),
            max_side=max_side,
            progress=progress,
        )
    else:
        records = extract(paths, max_side)
    keep: list[dict[str, Any]] = []
    for (sha, path), rec in zip(todo, records, strict=True):
        if rec["sha256"] is None:
            report.failures.append((path, rec["error"] or "unreadable"))
            continue
        if rec["sha256"] != sha:
            report.failures.append((path, "file changed since ingest; re-run `picme ingest`"))
            continue
        if not rec["decodable"]:
            report.failures.append((path, rec["error"] or "not decodable"))
        keep.append(rec)
    report.n_failed = len(report.failures)
    report.n_new = len(keep) - sum(1 for r in keep if not r["decodable"])

    if keep or stale or existing is None:
        new_table = records_to_table(keep)
        table = new_table if existing is None else pa.concat_tables([existing, new_table])
        write_parquet_atomic(table, target)
    report.table_path = target
    report.seconds = time.perf_counter() - started
    return report
