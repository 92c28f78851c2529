"""Finding raw files: which folders are instaloader trees, and in each one the post
metadata, images, like refreshes and profile snapshots, with the size and mtime of each
file from the directory scan itself (no second stat)."""

from __future__ import annotations

import contextlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from picme.errors import InputError
from picme.lake.report import IngestReport
from picme.util.timefmt import parse_stamp

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})
_CAROUSEL_RE = re.compile(r"^(?P<base>.+)_(?P<idx>\d+)$")


@dataclass
class Target:
    """One target folder (a profile or a hashtag) as found on disk."""

    path: Path
    meta: list[Path] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    refresh: list[tuple[Path, datetime | None]] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)
    # (size, mtime_ns) of metadata and image files, from the directory scan's stat.
    stats: dict[Path, tuple[int, int]] = field(default_factory=dict)


def meta_base(name: str) -> str | None:
    """The post basename of a metadata file name, or None when it is not post metadata."""
    if name.endswith("_comments.json") or name.startswith("."):
        return None
    for suffix in (".json.xz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def scan_target(target: Path) -> Target:
    t = Target(target)
    with os.scandir(target) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        name = e.name
        if e.is_dir():
            if name == "refresh":
                _scan_refresh(Path(e.path), t)
            elif name == "profile_snapshots":
                t.snapshots.extend(sorted(Path(e.path).glob("*.json")))
            continue
        if name == "profile_snapshots.jsonl":
            t.snapshots.append(Path(e.path))
            continue
        is_meta = meta_base(name) is not None
        if not is_meta and (
            name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS
        ):
            continue
        p = Path(e.path)
        (t.meta if is_meta else t.images).append(p)
        with contextlib.suppress(OSError):
            st = e.stat()
            t.stats[p] = (st.st_size, st.st_mtime_ns)
    return t


def _scan_refresh(root: Path, t: Target) -> None:
    """refresh/<stamp>/<post>.json.xz; a folder whose name is no stamp keeps None."""
    for stamp_dir in sorted(root.iterdir()):
        if not stamp_dir.is_dir():
            continue
        stamp = parse_stamp(stamp_dir.name)
        with os.scandir(stamp_dir) as files:
            for f in sorted(files, key=lambda x: x.name):
                if meta_base(f.name) is None or not f.is_file():
                    continue
                fp = Path(f.path)
                t.refresh.append((fp, stamp))
                with contextlib.suppress(OSError):
                    st = f.stat()
                    t.stats[fp] = (st.st_size, st.st_mtime_ns)


def _looks_like_tree(path: Path) -> bool:
    with os.scandir(path) as it:
        for e in it:
            if e.is_file() and meta_base(e.name) is not None:
                return True
            if e.is_dir() and e.name in ("profile_snapshots", "refresh"):
                return True
            if e.name == "profile_snapshots.jsonl":
                return True
    return False


def find_targets(raw_dirs: Sequence[Path], report: IngestReport) -> list[Path]:
    """The target folders under ``raw_dirs`` (each a folder of targets, or one target)."""
    targets: list[Path] = []
    missing: list[str] = []
    for d in (Path(x) for x in raw_dirs):
        if not d.exists():
            missing.append(str(d))
            report.skip(d, "missing folder", "no such folder")
            continue
        if not d.is_dir():
            report.skip(d, "not a folder", "give the folder instaloader or picme scrape wrote")
            continue
        if _looks_like_tree(d):
            targets.append(d)
            continue
        subdirs = [s for s in sorted(d.iterdir()) if s.is_dir() and not s.name.startswith(".")]
        if not subdirs:
            report.skip(d, "not an instaloader tree", "no .json.xz post metadata inside")
        for s in subdirs:
            if _looks_like_tree(s):
                targets.append(s)
            else:
                report.skip(s, "not an instaloader tree", "no .json.xz post metadata inside")
    if missing and len(missing) == len(raw_dirs):
        raise InputError(
            f"{', '.join(missing)}: no such folder; run `picme scrape` or `picme generate` "
            "first, or pass the folder instaloader wrote"
        )
    return targets


def map_images(
    images: Iterable[Path], bases: set[str]
) -> tuple[dict[str, list[tuple[int, Path]]], list[Path]]:
    """Images by the post basename they belong to, in carousel order; and the orphans."""
    by_base: dict[str, list[tuple[int, Path]]] = defaultdict(list)
    orphans: list[Path] = []
    for img in images:
        stem = img.name[: -len(img.suffix)]
        if stem in bases:
            by_base[stem].append((0, img))
            continue
        m = _CAROUSEL_RE.match(stem)
        if m and m.group("base") in bases:
            by_base[m.group("base")].append((int(m.group("idx")), img))
        elif stem.endswith("_profile_pic"):
            continue  # instaloader's profile picture, not a post image
        else:
            orphans.append(img)
    for items in by_base.values():
        items.sort(key=lambda x: (x[0], x[1].name))
    return by_base, orphans
