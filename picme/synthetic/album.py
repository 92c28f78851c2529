"""Labelled test albums: bursts of near-duplicates, blurred and dark copies, singles.

Curation has no public labelled data set for near-duplicate grouping, and tests and the
benchmark must not download anything, so this module draws its own photos. Every photo is a
procedural outdoor-looking scene (sky gradient, horizon, sun, shapes, low-frequency light and
fine grain, so JPEG sizes and decode costs are close to a camera's). A *burst* is one scene
shot several times: small shifts of the framing, re-encodes at another quality, and (the
hard cases the quality gate must catch) a blurred and an underexposed copy. *Singles* are
scenes of their own. Scenes come in *families* sharing a palette and horizon, so unrelated
photos can still look alike: that is what keeps the precision figure honest.

The ground truth (which files belong together, which is the sharp, well exposed original)
is returned as an :class:`AlbumSpec` and can be saved as JSON outside the album.
``cached_album`` keeps a generated album on disk keyed by its parameters, because a thousand
12-megapixel JPEGs take minutes to draw.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from picme.errors import InputError
from picme.synthetic.album_draw import FORMATS, render, save_photo
from picme.synthetic.album_plan import AlbumJob, plan
from picme.util.atomic import atomic_open
from picme.util.pool import map_chunks

__all__ = [
    "FORMATS",
    "GENERATOR_VERSION",
    "AlbumItem",
    "AlbumSpec",
    "cached_album",
    "generate_album",
]

# Part of the cache key of cached_album: bump when the drawing changes.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class AlbumItem:
    """One generated file and its truth."""

    path: str  # relative to the album root, POSIX separators
    group: str  # near-duplicate group: every file of one burst shares it
    kind: (
        str  # original, shift, reencode, motion, zoom, tilt, blur, dark, lookalike, single, rotated
    )
    captured_at: str | None = None  # the EXIF DateTimeOriginal written, ISO 8601 (UTC)
    orientation: int = 1  # EXIF orientation written; the pixels are stored accordingly


@dataclass
class AlbumSpec:
    root: Path
    items: list[AlbumItem] = field(default_factory=list)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for it in self.items:
            out.setdefault(it.group, []).append(it.path)
        return out

    def label_of(self) -> dict[str, str]:
        return {it.path: it.group for it in self.items}

    def summary(self) -> str:
        groups = self.groups()
        bursts = sum(1 for g in groups.values() if len(g) > 1)
        return (
            f"album {self.root}: {len(self.items)} photos, {bursts} bursts, "
            f"{len(groups) - bursts} singles"
        )

    def to_json(self) -> dict[str, Any]:
        return {"root": str(self.root), "items": [asdict(it) for it in self.items]}

    def save_labels(self, path: Path) -> Path:
        """Write the truth as JSON; refuses a path inside the album (it would be curated)."""
        path = Path(path)
        if path.resolve().is_relative_to(self.root.resolve()):
            raise InputError(f"labels file {path} is inside the album {self.root}; put it beside")
        with atomic_open(path) as fh:
            json.dump(self.to_json(), fh, indent=1)
        return path

    @classmethod
    def load_labels(cls, path: Path) -> AlbumSpec:
        data = json.loads(Path(path).read_text())
        return cls(Path(data["root"]), [AlbumItem(**it) for it in data["items"]])


def _make(job: AlbumJob, root: str) -> AlbumItem:
    when = datetime.fromisoformat(job.when) if job.when else None
    save_photo(render(job), Path(root) / job.path, job.quality, when, job.orientation)
    return AlbumItem(job.path, job.group, job.kind, job.when, job.orientation)


def _make_all(jobs: list[tuple[AlbumJob, str]]) -> list[AlbumItem]:
    return [_make(job, root) for job, root in jobs]


def _crashed(job_and_root: tuple[AlbumJob, str]) -> AlbumItem:
    # Drawing runs no native decoder: a worker that dies here is a bug to see, not to skip.
    raise RuntimeError(f"album generator: the worker drawing {job_and_root[0].path} died")


def generate_album(
    out_dir: Path,
    n_bursts: int = 6,
    burst_size: int = 3,
    n_singles: int = 6,
    size: tuple[int, int] = (480, 360),
    seed: int = 0,
    formats: Sequence[str] = ("jpg",),
    bad_copies_every: int = 2,
    n_rotated: int = 0,
    families: int = 4,
    exif_every: int = 1,
    n_lookalikes: int = 0,
    workers: int = 1,
) -> AlbumSpec:
    """Draw a labelled album under ``out_dir`` (created; must be empty or absent).

    Bursts get ``burst_size`` shots (the original, then BURST_VARIANTS in turn: shift,
    re-encode, subject motion, zoom, tilt) and every ``bad_copies_every``-th burst also a
    blurred and a dark copy (0: none). ``n_lookalikes`` extra photos are taken at the place
    of a burst with other content and a panned camera: hard negatives for grouping.
    Singles cycle through ``formats`` with mixed-case extensions; the first ``n_rotated``
    are stored rotated with an EXIF orientation tag. Every ``exif_every``-th scene carries
    an EXIF capture time (0: none). Deterministic for a given set of arguments.
    """
    out_dir = Path(out_dir)
    for fmt in formats:
        if fmt.lower() not in FORMATS:
            raise InputError(f"album generator: unknown format {fmt!r}; use one of {FORMATS}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"album folder {out_dir} is not empty; give a new folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan(
        n_bursts,
        burst_size,
        n_singles,
        size,
        seed,
        [f.lower() for f in formats],
        bad_copies_every,
        n_rotated,
        families,
        exif_every,
        n_lookalikes,
    )
    args = [(j, str(out_dir)) for j in jobs]
    chunks = [args[i : i + 4] for i in range(0, len(args), 4)]
    items = [
        item
        for chunk in map_chunks(_make_all, chunks, workers, on_crash=_crashed)
        for item in chunk
    ]
    return AlbumSpec(out_dir, items)


def cached_album(cache_root: Path, workers: int = 1, **params: Any) -> AlbumSpec:
    """``generate_album(**params)`` kept under ``cache_root/<hash of params>/album``.

    A finished album is marked by its labels file, written last: an interrupted run is
    redrawn from scratch rather than reused half-made.
    """
    keyed = {"generator": GENERATOR_VERSION, **params}
    key = hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()
    base = Path(cache_root) / key[:16]
    labels = base / "labels.json"
    if labels.exists():
        spec = AlbumSpec.load_labels(labels)
        spec.root = base / "album"  # where it is now, should the cache have been moved
        return spec
    if base.exists():
        shutil.rmtree(base)
    spec = generate_album(base / "album", workers=workers, **params)
    spec.save_labels(labels)
    return spec
