"""One album under review: its curation, its photos (served only from inside the album) and
the person's decisions (stored in the lake's ``feedback`` table the moment they are made).

Which curation: the one in the output folder (``--out``, default ``ALBUM-picme`` beside the
album) when it holds a curation of this album; when there is none, or with ``--recurate``,
``picme curate`` runs first with ``--top``/``--model`` and writes it there. An existing
curation is never re-run on its own: its picks are what the decisions are about.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from picme.errors import InputError
from picme.lake import feedback
from picme.review.config import ReviewConfig
from picme.review.decisions import Applied, Decided, apply_decisions
from picme.settings import Settings

log = logging.getLogger(__name__)

JSON_NAME = "curation.json"
FORMAT_PREFIX = "picme-curation/"
IMAGE_DESCRIPTION = 0x010E  # EXIF ImageDescription: the caption a photo carries
MAX_CAPTION = 500


class NotServable(InputError):
    """A path the review does not serve: not in the curation, or not inside the album."""


@dataclass
class ReviewSession:
    album: Path  # resolved
    out: Path  # resolved curation output folder
    doc: dict[str, Any]
    settings: Settings
    curated_now: bool = False
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    thumbs: frozenset[str] = field(default_factory=frozenset, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # sha256 -> path of this curation's photos, computed once, only when a stored decision
    # names a path the curation does not have (the photo was moved or renamed).
    by_sha: dict[str, str] | None = field(default=None, repr=False)
    # Its own lock: callers of decisions() may hold ``lock``.
    sha_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.entries = {str(e["path"]): e for e in self.doc.get("files", [])}
        # Asked for once per card: the curation does not change while it is served.
        self.thumbs = frozenset(
            e["thumb"] for e in self.entries.values() if e.get("thumb") is not None
        )
        for path, entry in self.entries.items():
            caption = entry.get("caption") or _exif_caption(self, path)
            if caption:
                self.captions[path] = str(caption)[:MAX_CAPTION]

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.entries.values())

    @property
    def album_name(self) -> str:
        return self.album.name or str(self.album)

    @property
    def scorer_name(self) -> str:
        scorer = self.doc.get("scorer") or {}
        return str(scorer.get("name") or "unknown")

    def decisions(self) -> dict[str, Decided]:
        """The decision in force for each photo of this album, read from the table."""
        rows = feedback.current(self.settings, self.album).to_pylist()
        found = {
            row["path"]: Decided(row["decision"], row["decided_at"])
            for row in rows
            if row["path"] in self.entries
        }
        moved = [row for row in rows if row["path"] not in self.entries]
        if moved:
            # The table keeps each photo's sha256 so that a decision follows a photo to its
            # new name; one under its current name, or a later one, wins.
            index = self.sha_index()
            for row in moved:
                rel = index.get(row["sha256"])
                if rel is not None and (
                    rel not in found or found[rel].decided_at < row["decided_at"]
                ):
                    found[rel] = Decided(row["decision"], row["decided_at"])
        return found

    def sha_index(self) -> dict[str, str]:
        with self.sha_lock:
            if self.by_sha is None:
                self.by_sha = {}
                for rel, entry in self.entries.items():
                    if entry.get("status") == "skipped":
                        continue
                    try:
                        sha = _sha256(self.album / rel)
                    except OSError:
                        continue
                    self.by_sha.setdefault(sha, rel)
            return self.by_sha

    def applied(self) -> Applied:
        return apply_decisions(self.files, self.decisions())

    def photo_path(self, rel: str) -> Path:
        """The album file ``rel`` names, refused unless the curation lists it and it lies
        inside the album once links are followed."""
        entry = self.entries.get(rel)
        if entry is None or entry.get("status") == "skipped" or not _is_relative(rel):
            raise NotServable(f"{rel!r} is not a photo of this curation")
        return _inside(self.album / rel, self.album, rel)

    def thumb_path(self, rel: str) -> Path:
        """A thumbnail the curation wrote, from inside its output folder only."""
        if rel not in self.thumbs or not _is_relative(rel):
            raise NotServable(f"{rel!r} is not a thumbnail of this curation")
        return _inside(self.out / rel, self.out, rel)

    def decide(self, rel: str, decision: str) -> feedback.Decision:
        """Store ``decision`` about photo ``rel`` (durable when this returns)."""
        if decision not in feedback.DECISIONS:
            raise InputError(
                f"unknown decision {decision!r}: use one of {', '.join(feedback.DECISIONS)}"
            )
        entry = self.entries.get(rel)
        if entry is None:
            raise NotServable(f"{rel!r} is not a photo of this curation")
        if entry.get("status") == "skipped":
            raise InputError(f"{rel!r} was skipped by curation ({_reason(entry)}): not a photo")
        sha = _sha256(self.photo_path(rel))
        return feedback.record(self.settings, self.album, rel, sha, decision)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _reason(entry: dict[str, Any]) -> str:
    reasons = entry.get("reasons") or ["not a photo"]
    return str(reasons[0])


def _is_relative(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts


def _inside(path: Path, root: Path, rel: str) -> Path:
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise NotServable(f"{rel!r} cannot be read ({type(exc).__name__})") from exc
    if not real.is_relative_to(root.resolve()) or not real.is_file():
        raise NotServable(f"{rel!r} leads outside {root.name}: refused")
    return real


def _exif_caption(session: ReviewSession, rel: str) -> str | None:
    if session.entries[rel].get("status") == "skipped":
        return None
    from PIL import Image

    try:
        with Image.open(session.photo_path(rel)) as im:
            value = im.getexif().get(IMAGE_DESCRIPTION)
    except Exception:  # a caption is a nicety: a photo without a readable one has none
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = " ".join(str(value or "").split())
    return text or None


def _read_curation(album: Path, out: Path) -> dict[str, Any]:
    target = out / JSON_NAME
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read the curation {target} ({exc}); run `picme review {album} --recurate`"
        ) from exc
    if not isinstance(doc, dict) or not str(doc.get("format", "")).startswith(FORMAT_PREFIX):
        raise InputError(f"{target} is not a PicMe curation; give --out with the right folder")
    if Path(str(doc.get("album", ""))).resolve() != album:
        raise InputError(
            f"the curation in {out} is of {doc.get('album')}, not of {album}; give --out "
            "with this album's curation folder, or --recurate"
        )
    if "album_name" not in doc:
        # Written before the `alternative` status: a kept photo outside the top K was
        # called rejected. Today a kept photo can be rejected for a flaw, so read it here,
        # once, by the file's age, not by each entry.
        for e in doc.get("files", []):
            if e.get("status") == "rejected" and e.get("kept"):
                e["status"] = "alternative"
    return doc


def check_album(album: Path) -> Path:
    album = Path(album).expanduser()
    if not album.is_dir():
        what = "does not exist" if not album.exists() else "is not a folder"
        raise InputError(f"album {album} {what}; give the folder of your photos")
    return album.resolve()


def default_out_dir(album: Path) -> Path:
    """Where ``picme curate`` writes by default (picme.curate.run.default_out_dir, kept
    here so that reviewing an existing curation does not import the curation stack)."""
    return album.parent / f"{album.name}-picme"


def open_session(
    album: Path, config: ReviewConfig, settings: Settings, *, progress: bool | None = None
) -> ReviewSession:
    """The review of ``album``: its existing curation, or a new one (see the module)."""
    album = check_album(album)
    out = (Path(config.out).expanduser() if config.out else default_out_dir(album)).resolve()
    curated_now = False
    if config.recurate or not (out / JSON_NAME).is_file():
        from picme.curate.config import CurateConfig
        from picme.curate.run import curate

        log.info("no curation of %s in %s yet: curating it first", album.name, out)
        curate(album, CurateConfig(top=config.top, model=config.model, out=out), settings,
               progress=progress)  # fmt: skip
        curated_now = True
    return ReviewSession(album, out, _read_curation(album, out), settings, curated_now)
