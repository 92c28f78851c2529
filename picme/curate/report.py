"""curation.json, highlights/, saliency overlays and the index.html contact sheet.

Everything written here is deterministic (no clocks, sorted entries), so curating the same
album with the same model twice gives identical files. The page itself is
:mod:`picme.curate.sheet`'s.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np

from picme.curate.analyze import THUMB_QUALITY, THUMB_SIDE, Collected
from picme.curate.grouping import DEFAULT_GROUPING
from picme.curate.scan import AlbumFile, AlbumScan
from picme.curate.select import DEFAULT_DIVERSITY, DEFAULT_GATE, Selection
from picme.curate.sheet import album_name, render_html
from picme.features.decode import ImageDecodeError, decode_image
from picme.features.extractors import FEATURE_COLUMNS
from picme.scoring.base import Scorer
from picme.util.atomic import atomic_open

log = logging.getLogger(__name__)

FORMAT = "picme-curation/1"
JSON_NAME = "curation.json"
HTML_NAME = "index.html"
STATUSES = ("picked", "alternative", "duplicate", "rejected", "skipped")


@dataclass(frozen=True)
class Curated:
    """What curation decided about an album: the input of :func:`write_outputs`."""

    album: Path
    scan: AlbumScan
    col: Collected  # per-photo arrays, indexed like scan.photos
    ok_idx: np.ndarray  # the photos that decoded (indices into scan.photos)
    groups: np.ndarray  # group of each decoded photo
    sel: Selection  # the decisions about each decoded photo
    scorer: Scorer
    model: str | None  # the scorer asked for; None: the champion, else the heuristic
    top: int


@dataclass(frozen=True)
class Written:
    """What the summary line needs of the written curation.json."""

    counts: dict[str, int]
    picks: list[str]
    n_groups: int  # groups of two or more near-duplicates
    files: list[dict[str, Any]]  # the curation.json entries


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def _highlight_name(rank: int, width: int, rel: str) -> str:
    return f"{rank:0{width}d}_{PurePosixPath(rel).name}"


def write_outputs(tmp: Path, cur: Curated) -> Written:
    """curation.json, index.html, highlights/ and saliency/ into ``tmp``."""
    photos = cur.scan.photos
    picked = [photos[int(cur.ok_idx[s])] for s in cur.sel.picks]
    highlights = _copy_highlights(tmp, cur.sel.picks, picked)
    saliency = _saliency_overlays(tmp, [f.path for f in picked], cur.scorer)
    files = _file_entries(cur, highlights, saliency)
    counts = {"files": len(files), **dict.fromkeys(STATUSES, 0)}
    for e in files:
        counts[e["status"]] += 1
    counts["ignored"] = len(cur.scan.ignored)
    group_list = _group_list(files)
    picks = [f.rel for f in picked]
    doc = {
        "format": FORMAT,
        "album": str(cur.album),
        "album_name": album_name({"album": str(cur.album)}),
        # The output sits beside its staging folder: relative to either, the album is the
        # same path, which the contact sheet's larger view follows.
        "album_relative": _relative(cur.album, tmp.parent),
        "scorer": {"name": cur.scorer.name, "version": cur.scorer.version, "requested": cur.model},
        "top": cur.top,
        "params": {
            "grouping": asdict(DEFAULT_GROUPING),
            "quality_gate": asdict(DEFAULT_GATE),
            "diversity": asdict(DEFAULT_DIVERSITY),
        },
        "counts": counts,
        "picks": picks,
        "groups": group_list,
        "ignored": list(cur.scan.ignored),
        "files": files,
    }
    with atomic_open(tmp / JSON_NAME, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    with atomic_open(tmp / HTML_NAME, "w", encoding="utf-8") as fh:
        fh.write(render_html(doc))
    return Written(counts=counts, picks=picks, n_groups=len(group_list), files=files)


def _relative(album: Path, parent: Path) -> str | None:
    try:
        return "../" + Path(os.path.relpath(album, parent)).as_posix()
    except ValueError:  # another drive (Windows): no relative path
        return None


def _copy_highlights(tmp: Path, picks: list[int], picked: list[AlbumFile]) -> dict[int, str]:
    """The picks copied in rank order (pick -> file): a link would let an edit of the
    highlight change the album."""
    width = max(2, len(str(len(picks))))
    out: dict[int, str] = {}
    (tmp / "highlights").mkdir(exist_ok=True)
    for rank, (s, src) in enumerate(zip(picks, picked, strict=True), start=1):
        name = _highlight_name(rank, width, src.rel)
        shutil.copy2(src.path, tmp / "highlights" / name)
        out[s] = "highlights/" + name
    return out


def _file_entries(
    cur: Curated, highlights: dict[int, str], saliency: dict[int, str]
) -> list[dict[str, Any]]:
    """One curation.json entry per file of the album, in the scan's (path) order."""
    col, sel = cur.col, cur.sel
    photo_pos = {f.rel: k for k, f in enumerate(cur.scan.photos)}
    sub_of = {int(k): s for s, k in enumerate(cur.ok_idx.tolist())}
    group_sizes = np.bincount(cur.groups) if len(cur.groups) else np.zeros(0, np.int64)
    files: list[dict[str, Any]] = []
    for f in cur.scan.files:
        entry: dict[str, Any] = {
            "path": f.rel,
            "status": "skipped",
            "score": None,
            "group": None,
            "rank": None,
            "reasons": [],
            "kept": False,
        }
        k = photo_pos.get(f.rel)
        if f.skip_reason is not None or k is None:
            entry["reasons"] = [f.skip_reason or "not a photo"]
        elif not col.ok[k]:
            entry["reasons"] = [col.reason[k] or "could not be decoded"]
        else:
            s = sub_of[k]
            g = int(cur.groups[s])
            entry.update(
                status=sel.status[s],
                score=_r(col.scores[k], 6),
                score_100=int(sel.score_100[s]),
                group=g + 1,
                group_size=int(group_sizes[g]),
                rank=sel.rank[s],
                reasons=list(sel.reasons[s]),
                kept=bool(sel.kept[s]),
                quality_gate=list(sel.gate[s]),
                width=int(col.width[k]),
                height=int(col.height[k]),
                captured_at=col.captured[k],
                camera=col.camera[k],
                phash=f"{int(col.phash[k]):016x}",
                thumb=col.thumb[k],
                highlight=highlights.get(s),
                saliency=saliency.get(sel.rank[s] or 0),
                features={
                    c: _r(v) for c, v in zip(FEATURE_COLUMNS, col.features[k].tolist(), strict=True)
                },
            )
        files.append(entry)
    return files


def _group_list(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups of two or more, by id: the kept photo and every member, in path order."""
    by_group: dict[int, list[dict[str, Any]]] = {}
    for e in files:
        if e["group"] is not None and e.get("group_size", 1) > 1:
            by_group.setdefault(e["group"], []).append(e)
    out = []
    for gid in sorted(by_group):
        members = by_group[gid]
        kept = next(m["path"] for m in members if m["kept"])
        out.append({"id": gid, "kept": kept, "members": [m["path"] for m in members]})
    return out


def _saliency_overlays(tmp: Path, paths: list[str], scorer: Scorer) -> dict[int, str]:
    """Heat maps of what the scorer looks at, blended over the picks (rank -> file)."""
    out: dict[int, str] = {}
    for rank, path in enumerate(paths, start=1):
        try:
            img = decode_image(path, max_side=int(scorer.max_side))
            sal = scorer.saliency(img)
        except ImageDecodeError as exc:
            log.warning("no saliency overlay for %s: %s", path, exc.reason)
            continue
        except Exception as exc:  # an overlay is a nicety; the curation stands without it
            log.warning("saliency failed for %s (%s: %s)", path, type(exc).__name__, exc)
            continue
        if sal is None:
            return out  # this scorer has no saliency: no overlays at all
        h, w = img.shape[:2]
        scale = min(1.0, THUMB_SIDE / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        heat_map = np.clip(np.asarray(sal, np.float32), 0.0, 1.0)
        heat_u8 = (cv2.resize(heat_map, size, interpolation=cv2.INTER_LINEAR) * 255).astype(
            np.uint8
        )
        heat = cv2.applyColorMap(heat_u8, cv2.COLORMAP_JET)  # BGR
        blend = cv2.addWeighted(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), 0.55, heat, 0.45, 0)
        (tmp / "saliency").mkdir(exist_ok=True)
        name = f"saliency/{rank:03d}.jpg"
        cv2.imwrite(str(tmp / name), blend, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
        out[rank] = name
    return out
