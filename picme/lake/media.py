"""Image checks: a content hash, the size as displayed, and whether the file decodes.

Many images are checked in worker processes (:func:`picme.util.pool.map_chunks`) while this
process parses metadata; threads would not do, since the parse's file opens would queue
behind the checkers' Python work for the GIL. A worker that crashes on a file (a native
decoder fault) costs only that file, which is then recorded as unreadable.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

from picme.lake.parse import safe
from picme.util import progress
from picme.util.pool import map_chunks

_HASH_CHUNK = 1 << 20


def inspect_image(path: Path) -> dict[str, Any]:
    """sha256 (chunked), size as displayed, and whether the file decodes; never raises.

    The decode is a reduced-size one (PIL draft) that still reads the whole stream, so a
    truncated JPEG is caught at a fraction of a full decode's cost.
    """
    from PIL import Image, UnidentifiedImageError

    row: dict[str, Any] = {
        "sha256": None,
        "width": None,
        "height": None,
        "decodable": False,
        "error": None,
    }
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
        row["sha256"] = digest.hexdigest()
    except OSError as exc:
        row["error"] = f"cannot read ({exc.strerror or exc})"
        return row
    if path.suffix.lower() in (".heic", ".heif"):
        with contextlib.suppress(ImportError):
            import pillow_heif

            pillow_heif.register_heif_opener()
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = safe(lambda: im.getexif().get(0x0112))
            if orientation in (5, 6, 7, 8):
                w, h = h, w
            im.draft("RGB", (max(1, w // 8), max(1, h // 8)))
            im.load()
        row.update(width=int(w), height=int(h), decodable=True)
    except UnidentifiedImageError:
        row["error"] = "not an image file PIL can identify"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        row["error"] = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return row


def check_images(paths: list[str]) -> list[dict[str, Any]]:
    """:func:`inspect_image` over a chunk of paths (the worker processes' task)."""
    return [inspect_image(Path(p)) for p in paths]


def crashed(path: str) -> dict[str, Any]:
    """The check result of a file whose decoder took its worker process down."""
    return {
        "sha256": None,
        "width": None,
        "height": None,
        "decodable": False,
        "error": "the image decoder crashed on this file",
    }


CHECKING = "ingest: checking images"


class MediaChecker:
    """Checks ``paths`` beside the caller's own work; ``results()`` waits for them.

    A few images are checked in this process when ``results()`` is called, as starting
    workers would cost more than it saves."""

    MIN_FOR_PROCESSES = 256
    CHUNK = 64

    def __init__(self, paths: list[str], workers: int) -> None:
        self.paths = paths
        self.workers = 1
        if workers > 1 and len(paths) >= self.MIN_FOR_PROCESSES:
            self.workers = min(workers, max(2, len(paths) // self.CHUNK))
        self._done: dict[str, dict[str, Any]] = {}
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.in_processes:
            # In a copy of the caller's context: the progress reporter goes with it.
            self._thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._collect,),
                name="picme-media-checks",
                daemon=True,
            )
            self._thread.start()

    @property
    def in_processes(self) -> bool:
        return self.workers > 1

    def _collect(self) -> None:
        chunks = [self.paths[i : i + self.CHUNK] for i in range(0, len(self.paths), self.CHUNK)]
        results = map_chunks(
            check_images, chunks, self.workers, on_crash=crashed, preload=(__name__,)
        )
        try:
            with progress.task(CHECKING, total=len(self.paths)) as bar:
                for chunk, rows in zip(chunks, results, strict=True):
                    if self._stop.is_set():
                        break
                    self._done.update(zip(chunk, rows, strict=True))
                    bar.advance(len(chunk))
        except BaseException as exc:  # handed to the caller by results()
            self._error = exc
        finally:
            # Closing stops the pool, also when the caller gave up early.
            cast(Generator[Any, None, None], results).close()

    def __enter__(self) -> MediaChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def results(self) -> dict[str, dict[str, Any]]:
        """Check result by path, every path of ``paths`` included."""
        if self._thread is None:
            return {p: inspect_image(Path(p)) for p in progress.track(self.paths, CHECKING)}
        self._thread.join()
        if self._error is not None:
            raise self._error
        return dict(self._done)
