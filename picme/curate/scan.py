"""Walk an album: photos to analyse, files skipped with a reason, hidden/system files ignored.

The walk is read-only and deterministic (entries sorted by their POSIX relative path).
Folder symlinks are not followed (a link to a parent would loop); file symlinks are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from picme.features.decode import SUPPORTED_EXTENSIONS

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".3gp", ".3g2", ".mts", ".m2ts",
        ".wmv", ".mpg", ".mpeg", ".flv", ".insv", ".lrv",
    }
)  # fmt: skip
RAW_EXTENSIONS = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"}
)
SIDECAR_EXTENSIONS = frozenset({".xmp", ".aae", ".thm", ".json"})

# Files operating systems, cameras and photo managers leave behind; never the user's photos.
SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r", ".ds_store"})
SYSTEM_DIRS = frozenset(
    {
        "@eadir", "#recycle", "$recycle.bin", "system volume information", "__macosx",
        "lost+found", ".picasaoriginals",
    }
)  # fmt: skip


@dataclass(frozen=True)
class AlbumFile:
    rel: str  # POSIX path relative to the album
    path: str  # absolute path to read
    skip_reason: str | None = None  # None: a photo to analyse


@dataclass
class AlbumScan:
    root: Path
    files: list[AlbumFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # relative paths of hidden/system files

    @property
    def photos(self) -> list[AlbumFile]:
        return [f for f in self.files if f.skip_reason is None]


def is_ignored_name(name: str) -> bool:
    """Hidden (dot) files, macOS resource forks (``._x``) and known system files."""
    return name.startswith(".") or name.lower() in SYSTEM_FILES


def is_ignored_dir(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_DIRS


def skip_reason_for(name: str) -> str | None:
    """Why a file is not analysed, from its name alone; None for a photo candidate."""
    ext = os.path.splitext(name)[1].lower()
    if ext in SUPPORTED_EXTENSIONS:
        return None
    if ext in VIDEO_EXTENSIONS:
        return f"video file ({ext}): only photos are curated"
    if ext in RAW_EXTENSIONS:
        return f"camera RAW file ({ext}) is not supported: export it to JPEG to include it"
    if ext in SIDECAR_EXTENSIONS:
        return f"sidecar/metadata file ({ext}), not a photo"
    if not ext:
        return "no file extension: not recognised as a photo"
    return f"not a supported photo type ({ext}); supported: JPEG, PNG, WEBP, HEIC, TIFF, BMP"


def scan_album(root: Path, exclude: Path | None = None) -> AlbumScan:
    """Every file under ``root`` (recursively), classified; ``exclude`` is a folder to skip
    entirely (the output folder of an earlier run, should it sit inside the album)."""
    root = Path(root)
    scan = AlbumScan(root)
    excluded = os.path.realpath(exclude) if exclude is not None else None
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        kept_dirs = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            rel = _posix(os.path.join(rel_dir, d))
            if is_ignored_dir(d) or (excluded and os.path.realpath(full) == excluded):
                scan.ignored.append(rel + "/")
            else:
                kept_dirs.append(d)
        dirnames[:] = sorted(kept_dirs)
        names = set(filenames)
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = _posix(os.path.join(rel_dir, name))
            # A photo's own sidecar (IMG_1.jpg.xmp: PicMe's --xmp-beside, darktable's,
            # digiKam's) belongs to the photo, not to the files to curate.
            if is_ignored_name(name) or (name.lower().endswith(".xmp") and name[:-4] in names):
                scan.ignored.append(rel)
                continue
            reason = skip_reason_for(name)
            if reason is None and not os.path.isfile(full):
                reason = "broken link or not a regular file"
            scan.files.append(AlbumFile(rel=rel, path=full, skip_reason=reason))
    scan.files.sort(key=lambda f: f.rel)
    scan.ignored.sort()
    return scan


def _posix(rel: str) -> str:
    rel = os.path.normpath(rel)
    return Path(rel).as_posix()
