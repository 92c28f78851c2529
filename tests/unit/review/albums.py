"""A small real album for the review tests: two bursts and singles drawn by the album
generator, a photo whose file name is markup, one whose EXIF caption is markup, a file
symlink leading out of the album and a text file; curated for real (heuristic scorer)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from picme.settings import Settings
from picme.synthetic.album import generate_album

HOSTILE_NAME = "<img src=x onerror=alert(1)>.jpg"
HOSTILE_CAPTION = "<script>alert('caption')</script> & \"quoted\""
IMAGE_DESCRIPTION = 0x010E


@dataclass(frozen=True)
class Album:
    root: Path
    out: Path
    outside: Path  # a photo outside the album, reached by the symlink escape.jpg
    captioned: str  # the photo carrying HOSTILE_CAPTION


def make_album(base: Path, settings: Settings) -> Album:
    from picme.curate.run import curate_album

    root = base / "Trip 2026"
    spec = generate_album(
        root, n_bursts=2, burst_size=3, n_singles=3, size=(160, 120), bad_copies_every=0
    )
    first = root / spec.items[-1].path
    with Image.open(first) as im:
        rgb = im.convert("RGB")
    rgb.save(root / HOSTILE_NAME, quality=90)
    exif = Image.Exif()
    exif[IMAGE_DESCRIPTION] = HOSTILE_CAPTION
    captioned = "singles/captioned.jpg"
    rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / captioned, quality=90, exif=exif)
    outside = base / "private" / "secret.jpg"
    outside.parent.mkdir()
    rgb.save(outside, quality=90)
    os.symlink(outside, root / "escape.jpg")
    (root / "notes.txt").write_text("not a photo\n")
    out = base / "Trip 2026-picme"
    curate_album(root, top=3, workers=1, out=out, settings=settings, progress=False)
    return Album(root, out, outside, captioned)


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (links as their target text): content hash and mtime."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            st = p.lstat()
            data = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
            out[str(p.relative_to(root))] = (hashlib.sha256(data).hexdigest(), st.st_mtime_ns)
    return out
