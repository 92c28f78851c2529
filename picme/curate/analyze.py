"""Per-photo work of curation, run in worker processes: one reduced-size decode, then
everything curation needs from the pixels, returned as a few hundred bytes.

From the decoded image (longer side ``decode_side``, reached through libjpeg's reduced
decoding for JPEGs) a worker computes the image features of :mod:`picme.features.extractors` (which
include the perceptual hash and the HSV histogram), a tiny luminance embedding for
near-duplicate matching, the upright thumbnail for the contact sheet (written straight to
disk), and either the heuristic score or the pixels at the scorer's size for batch scoring
in the parent. The decoded image is then dropped, so memory does not grow with the album.
"""

from __future__ import annotations

import calendar
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import cv2
import numpy as np
from PIL import Image

from picme.features.decode import (
    ImageDecodeError,
    decode_bytes,
    read_capture_time,
    read_image_bytes,
)
from picme.features.extractors import FEATURE_COLUMNS, HIST_BINS, features_from_array
from picme.features.phash import phash_to_int64
from picme.util.pool import map_chunks

# Side of the luminance embedding: 12x12 keeps small framing shifts (a few per cent) near a
# cosine of 1 while unrelated scenes stay well below; measured in docs/curation.md.
EMBED_SIDE = 12
THUMB_SIDE = 320
THUMB_QUALITY = 85


@dataclass(frozen=True)
class AnalyzeConfig:
    decode_side: int  # longer side the image is decoded at (features' own side or more)
    score_side: int  # longer side of the pixels handed to the scorer
    thumbs_dir: str  # where thumbnails are written; "" for none
    thumb_side: int = THUMB_SIDE
    score_in_worker: Any = None  # a picklable scorer to call here (the heuristic), or None


@dataclass(slots=True)
class Analysed:
    """What the parent keeps of one file (small) plus, transiently, pixels to score."""

    index: int
    ok: bool
    reason: str | None = None
    width: int = 0  # full upright size
    height: int = 0
    features: np.ndarray | None = None  # float32, FEATURE_COLUMNS order
    hs_hist: np.ndarray | None = None  # float32 hue x saturation histogram, sums to 1
    embed: np.ndarray | None = None  # int8 zero-mean unit-norm luminance thumbnail (x127)
    phash: int = 0  # 64-bit perceptual hash as an unsigned int
    captured: float | None = None  # EXIF capture time as seconds (camera clock)
    captured_iso: str | None = None
    camera: str | None = None  # EXIF make and model
    thumb: str | None = None  # path relative to the output folder
    score: float | None = None  # set here for in-worker scorers, else by the parent
    pixels: np.ndarray | None = None  # at score_side, for the parent's batch scorer


def thumb_name(rel: str) -> str:
    """A stable file name for the thumbnail of ``rel`` (same album file, same name)."""
    return "thumbs/" + hashlib.sha1(rel.encode("utf-8")).hexdigest()[:20] + ".jpg"


_MAKE, _MODEL = 0x010F, 0x0110


def _exif_text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    # Cameras pad with NULs and spaces; control characters have no place in a label.
    return " ".join("".join(ch for ch in value if ch.isprintable()).split())


def read_camera(path: str | os.PathLike[str]) -> str | None:
    """EXIF make and model ("Canon EOS R5"; the make once when the model repeats it), or
    None when the file has neither (or no readable EXIF)."""
    try:
        with Image.open(path) as im:
            exif = im.getexif()
    except Exception:
        return None
    make, model = _exif_text(exif.get(_MAKE)), _exif_text(exif.get(_MODEL))
    if make and model.lower().startswith(make.split()[0].lower()):
        make = ""
    return " ".join(p for p in (make, model) if p)[:80] or None


def _embedding(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (EMBED_SIDE, EMBED_SIDE), interpolation=cv2.INTER_AREA)
    v = small.astype(np.float32).ravel()
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    if norm < 1e-3 * v.size:  # a flat image has no structure to compare
        return np.zeros(v.size, np.int8)
    return np.round(v / norm * 127.0).astype(np.int8)


def _hs_hist(color_hist: Sequence[float], bins: tuple[int, int, int]) -> np.ndarray:
    # Summing the value axis out leaves hue x saturation, which does not change when a
    # photo is darker or brighter: a dark copy of a shot still matches its original.
    h = np.asarray(color_hist, np.float32).reshape(bins).sum(axis=2).ravel()
    total = float(h.sum())
    return h / total if total > 0 else h


def _resize_max(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= side:
        return rgb
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def analyze_file(index: int, rel: str, path: str, cfg: AnalyzeConfig) -> Analysed:

    try:
        decoded = decode_bytes(read_image_bytes(path), max_side=cfg.decode_side, name=rel)
    except ImageDecodeError as exc:
        return Analysed(index, ok=False, reason=exc.reason)
    rgb = decoded.rgb
    try:
        feats = features_from_array(rgb)
    except Exception as exc:  # one odd image must not stop an album of thousands
        return Analysed(index, ok=False, reason=f"analysis failed ({type(exc).__name__}: {exc})")
    res = Analysed(index, ok=True, width=decoded.width, height=decoded.height)
    res.features = np.array([float(feats[c]) for c in FEATURE_COLUMNS], np.float32)
    res.hs_hist = _hs_hist(feats["color_hist"], HIST_BINS)
    res.embed = _embedding(rgb)
    res.phash = phash_to_int64(feats["phash"]) & 0xFFFFFFFFFFFFFFFF
    when = read_capture_time(path)
    if when is not None:
        res.captured = float(calendar.timegm(when.timetuple())) + when.microsecond / 1e6
        res.captured_iso = when.isoformat()
    res.camera = read_camera(path)
    if cfg.thumbs_dir:
        name = thumb_name(rel)
        thumb = _resize_max(rgb, cfg.thumb_side)
        ok, buf = cv2.imencode(
            ".jpg",
            cv2.cvtColor(thumb, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY],
        )
        if ok:
            with open(os.path.join(cfg.thumbs_dir, os.path.basename(name)), "wb") as fh:
                fh.write(buf.tobytes())
            res.thumb = name
    if cfg.score_in_worker is not None:
        feat_map = {c: float(v) for c, v in zip(FEATURE_COLUMNS, res.features, strict=True)}
        score = cfg.score_in_worker.score_images([rgb], features=[feat_map])
        res.score = float(np.asarray(score, np.float64).ravel()[0])
    else:
        res.pixels = _resize_max(rgb, cfg.score_side)
    return res


def analyze_chunk(chunk: Sequence[tuple[int, str, str]], cfg: AnalyzeConfig) -> list[Analysed]:
    return [analyze_file(i, rel, path, cfg) for i, rel, path in chunk]


def _worker_init() -> None:
    # One OpenCV thread per process: the pool already uses every core.
    cv2.setNumThreads(1)


def _crashed(item: tuple[int, str, str]) -> Analysed:
    return Analysed(item[0], ok=False, reason="the image decoder crashed on this file")


def analyze_stream(
    items: Sequence[tuple[int, str, str]],
    cfg: AnalyzeConfig,
    workers: int,
    chunk_size: int = 8,
) -> Iterator[list[Analysed]]:
    """Yield results chunk by chunk, in input order, with at most ``3 * workers`` chunks in
    flight; ``workers <= 1`` works in this process.

    The bounded window keeps memory flat however large the album: a finished chunk is only
    held until the caller consumes it. A worker that dies (a native decoder crash) costs
    only the file that killed it (see :func:`picme.util.pool.map_chunks`).
    """
    chunks = [list(items[i : i + chunk_size]) for i in range(0, len(items), chunk_size)]
    return map_chunks(
        partial(analyze_chunk, cfg=cfg),
        chunks,
        workers,
        on_crash=_crashed,
        initializer=_worker_init,
        # Workers fork from a server that has already imported OpenCV and the features.
        preload=(__name__,),
        window=3 * workers,
    )


class Collected:
    """Per-photo arrays, preallocated: a few hundred bytes a photo, no pixels."""

    def __init__(self, n: int) -> None:
        self.ok = np.zeros(n, bool)
        self.reason: list[str | None] = [None] * n
        self.features = np.zeros((n, len(FEATURE_COLUMNS)), np.float32)
        self.hs = np.zeros((n, HIST_BINS[0] * HIST_BINS[1]), np.float32)
        self.embed = np.zeros((n, EMBED_SIDE * EMBED_SIDE), np.int8)
        self.phash = np.zeros(n, np.uint64)
        self.times = np.full(n, np.nan)
        self.scores = np.full(n, np.nan)
        self.width = np.zeros(n, np.int32)
        self.height = np.zeros(n, np.int32)
        self.captured: list[str | None] = [None] * n
        self.camera: list[str | None] = [None] * n
        self.thumb: list[str | None] = [None] * n

    def add(self, r: Analysed) -> None:
        k = r.index
        if not r.ok:
            self.reason[k] = r.reason
            return
        assert r.features is not None and r.hs_hist is not None and r.embed is not None
        self.ok[k] = True
        self.features[k] = r.features
        self.hs[k] = r.hs_hist
        self.embed[k] = r.embed
        self.phash[k] = np.uint64(r.phash)
        self.times[k] = np.nan if r.captured is None else r.captured
        self.width[k], self.height[k] = r.width, r.height
        self.captured[k] = r.captured_iso
        self.camera[k] = r.camera
        self.thumb[k] = r.thumb
        if r.score is not None:
            self.scores[k] = r.score
