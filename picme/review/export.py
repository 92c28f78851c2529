"""The reviewed picks written out: ``reviewed.json`` (every photo's final status, picme's
status and the person's decision) and ``highlights/`` (copies of the final picks in rank
order), published as one complete generation (:mod:`picme.util.generations`) in
``ALBUM-picme-reviewed`` beside the album (or ``--export-to``). The album is only read.

XMP sidecars follow the same final statuses through a hook, called with the export's
``xmp/`` folder (inside the generation being written), the curation.json entries of every
decoded photo with the final ``status``, ``rank`` and the person's ``decision`` and
``starred`` put in, and the scorer's name: the signature of the contact sheet's sidecar
writer (``write_sidecars(folder, entries, scorer)``), so it plugs in as it is.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from picme.errors import InputError
from picme.review.decisions import Applied
from picme.review.session import ReviewSession
from picme.util.atomic import atomic_open
from picme.util.generations import check_owned, new_generation

FORMAT = "picme-review/1"
JSON_NAME = "reviewed.json"
ExportHook = Callable[[Path, list[dict[str, Any]], str], object]


@dataclass(frozen=True)
class Exported:
    folder: Path
    picks: list[str]
    counts: dict[str, int]

    def summary(self) -> str:
        c = self.counts
        return (
            f"exported the review to {self.folder}: {len(self.picks)} picks "
            f"({c.get('decided', 0)} photos decided by you), highlights in "
            f"{self.folder / 'highlights'}"
        )


def default_export_dir(album: Path) -> Path:
    album = Path(album).resolve()
    return album.parent / f"{album.name}-picme-reviewed"


def _target(session: ReviewSession, folder: Path | None) -> Path:
    target = (Path(folder).expanduser() if folder else default_export_dir(session.album)).resolve()
    if target == session.album or target.is_relative_to(session.album):
        raise InputError(
            f"export folder {target} is inside the album {session.album}, which review never "
            f"modifies; choose a folder outside it (default: {default_export_dir(session.album)})"
        )
    if session.album.is_relative_to(target) or target == session.out:
        raise InputError(f"export folder {target} holds the album or its curation; choose another")
    check_owned(target)
    return target


def highlight_name(rank: int, width: int, rel: str) -> str:
    return f"{rank:0{width}d}_{PurePosixPath(rel).name}"


def export_review(
    session: ReviewSession, folder: Path | None = None, *, xmp: ExportHook | None = None
) -> Exported:
    """Apply the decisions in force and write the export as one generation."""
    target = _target(session, folder)
    with session.lock:
        applied = session.applied()
    with new_generation(target, kind="review-export") as tmp:
        highlights = _copy_picks(session, applied, tmp)
        doc = {
            "format": FORMAT,
            "album": str(session.album),
            "curation": str(session.out),
            "counts": applied.counts(),
            "picks": applied.picks,
            "highlights": highlights,
            "files": [asdict(e) for e in applied.entries],
        }
        with atomic_open(tmp / JSON_NAME, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, ensure_ascii=False, allow_nan=False)
            fh.write("\n")
        if xmp is not None:
            xmp(tmp / "xmp", final_entries(session, applied), session.scorer_name)
    return Exported(folder=target, picks=applied.picks, counts=applied.counts())


def _copy_picks(session: ReviewSession, applied: Applied, tmp: Path) -> list[str]:
    """Copies, not links: editing a highlight must never change the album."""
    width = max(2, len(str(len(applied.picks))))
    (tmp / "highlights").mkdir()
    names = []
    for rank, rel in enumerate(applied.picks, start=1):
        name = "highlights/" + highlight_name(rank, width, rel)
        shutil.copy2(session.photo_path(rel), tmp / name)
        names.append(name)
    return names


def final_entries(session: ReviewSession, applied: Applied) -> list[dict[str, Any]]:
    """The curation.json entry of each decoded photo with the review's outcome in it."""
    out = []
    for f in applied.entries:
        if f.status == "skipped":
            continue
        out.append(
            {
                **session.entries[f.path],
                "status": f.status,
                "rank": f.rank,
                "picme_status": f.picme_status,
                "decision": f.decision,
                "starred": f.starred,
            }
        )
    return out
