"""Image features of files: one file to one record (never raising for a bad file), and
many files through the shared process pool (:mod:`picme.util.pool`), in chunks.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import cv2

from picme.features.decode import ImageDecodeError, decode_bytes, read_image_bytes
from picme.features.extractors import ANALYSIS_SIDE, empty_features, features_from_array
from picme.settings import get_settings
from picme.util.pool import map_chunks

log = logging.getLogger(__name__)


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
    return workers if workers > 0 else get_settings().n_workers()


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
    "__main__":`` in a script, as for any multiprocessing code). A file that crashes its
    worker (a native decoder fault) becomes a failure record. ``progress(done, total)`` is
    called as chunks finish.
    """
    items = [os.fspath(p) for p in paths]
    total = len(items)
    n_workers = min(_resolve_workers(workers), max(1, total // 8))
    # ~4 chunks per worker balances slow images; at most 64 per chunk keeps progress live.
    size = 32 if n_workers <= 1 else max(4, min(64, math.ceil(total / (n_workers * 4))))
    chunks = [items[i : i + size] for i in range(0, total, size)]
    out: list[dict[str, Any]] = []
    for records in map_chunks(
        functools.partial(_features_chunk, max_side=max_side),
        chunks,
        n_workers,
        on_crash=_crashed,
        initializer=_worker_init,
        # Workers fork from a server process that has this module (and OpenCV) imported.
        preload=("__main__", __name__),
    ):
        out.extend(records)
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
