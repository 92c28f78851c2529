"""The decoded-image cache: each image is decoded once (``picme.features.decode.decode_image``),
square-resized to the model's size and stored as a uint8 ``.npy`` under
``cache/decoded/<size>/<sha256>.npy`` (written then renamed). Epochs, later runs and the
evaluation read these arrays instead of decoding JPEGs again; one split's images sit in
memory as one (N, S, S, 3) uint8 array.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from picme.features.decode import decode_image
from picme.models.preprocess import square_resize
from picme.util import progress
from picme.util.atomic import atomic_path

log = logging.getLogger(__name__)


def _cache_key(path: str, sha: object) -> str:
    if isinstance(sha, str) and len(sha) >= 16:
        return sha
    return "p" + hashlib.sha256(os.fsencode(path)).hexdigest()


def decode_square(path: str, size: int) -> np.ndarray:
    """Decode at a bounded size (twice the target keeps the short side >= size for aspect
    ratios up to 2:1), then square-resize."""
    return square_resize(decode_image(path, max_side=2 * size), size)


def _decode_for_cache(job: tuple[str, str, int]) -> tuple[str, str | None]:
    path, target, size = job
    try:
        arr = decode_square(path, size)
    except Exception as exc:  # reported per file; one bad image must not stop the run
        return path, f"{type(exc).__name__}: {exc}"
    _save_npy(Path(target), arr)
    return path, None


def _save_npy(target: Path, arr: np.ndarray) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


class DecodedCache:
    """uint8 square images keyed by content hash and size, one ``.npy`` each."""

    def __init__(self, root: Path, size: int, workers: int = 1) -> None:
        self.root = Path(root) / "decoded" / str(size)
        self.size = size
        self.workers = max(1, workers)

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def load(
        self, paths: list[str], shas: list[object] | None = None
    ) -> tuple[np.ndarray, list[str | None]]:
        """(N, S, S, 3) uint8 and, per image, None or why it could not be decoded (its
        slot is then black and the caller drops the row)."""
        shas = shas if shas is not None else [None] * len(paths)
        keys = [_cache_key(p, s) for p, s in zip(paths, shas, strict=True)]
        errors: dict[str, str] = {}
        jobs = {}
        for p, k in zip(paths, keys, strict=True):
            if k not in jobs and not self.path_for(k).exists():
                jobs[k] = (p, str(self.path_for(k)), self.size)
        if jobs:
            log.debug("decoding %d images into the cache at %d px", len(jobs), self.size)
            todo = list(jobs.values())
            what = f"decoding images into the cache ({self.size} px)"
            if self.workers > 1 and len(todo) >= 32:
                # Threads: Pillow's decoder and OpenCV's resize release the GIL, and a thread
                # pool needs no picklable __main__ (a process pool breaks scripts without a
                # main guard) and no start-up time.
                with ThreadPoolExecutor(self.workers) as pool:
                    decoded = pool.map(_decode_for_cache, todo)
                    results = list(progress.track(decoded, what, len(todo)))
            else:
                results = [_decode_for_cache(j) for j in progress.track(todo, what)]
            errors = {p: e for p, e in results if e is not None}
        out = np.zeros((len(paths), self.size, self.size, 3), np.uint8)
        reasons: list[str | None] = []
        for i, (p, k) in enumerate(zip(paths, keys, strict=True)):
            if p in errors:
                reasons.append(errors[p])
                continue
            try:
                out[i] = np.load(self.path_for(k), allow_pickle=False)
                reasons.append(None)
            except Exception as exc:  # a damaged cache entry: decode again next time
                self.path_for(k).unlink(missing_ok=True)
                reasons.append(f"cache entry unreadable: {exc}")
        return out, reasons
