"""curation.json, highlights/, saliency overlays and the index.html contact sheet.

Everything written here is deterministic (no clocks, sorted entries), so curating the same
album with the same model twice gives identical files. Every piece of text that comes from
the album (file and folder names) or from the user (model URI) is HTML-escaped; URLs are
percent-encoded as well.
"""

from __future__ import annotations

import html
import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

from picme.features.extractors import FEATURE_COLUMNS
from picme.util.atomic import atomic_open

if TYPE_CHECKING:
    from picme.curate.analyze import Collected
    from picme.curate.scan import AlbumScan
    from picme.curate.select import Selection
    from picme.scoring.base import Scorer

log = logging.getLogger(__name__)

FORMAT = "picme-curation/1"
# A contact sheet is for eyes: beyond these, the rest is listed in curation.json only.
MAX_CARDS = 1500
MAX_GROUPS = 400
MAX_SKIPPED_ROWS = 5000


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def _highlight_name(rank: int, width: int, rel: str) -> str:
    return f"{rank:0{width}d}_{PurePosixPath(rel).name}"


def write_outputs(
    *,
    tmp: Path,
    album: Path,
    scan: AlbumScan,
    col: Collected,
    ok_idx: np.ndarray,
    groups: np.ndarray,
    sel: Selection,
    scorer: Scorer,
    model: str | None,
    top: int,
) -> dict[str, Any]:
    from picme.curate.grouping import DEFAULT_GROUPING
    from picme.curate.select import DEFAULT_DIVERSITY, DEFAULT_GATE

    photos = scan.photos
    photo_pos = {f.rel: k for k, f in enumerate(photos)}
    sub_of = {int(k): s for s, k in enumerate(ok_idx.tolist())}
    group_sizes = np.bincount(groups) if len(groups) else np.zeros(0, np.int64)

    # Highlights: copies (a link would let an edit of the highlight change the album).
    width = max(2, len(str(len(sel.picks))))
    highlights: dict[int, str] = {}
    (tmp / "highlights").mkdir(exist_ok=True)
    for rank, s in enumerate(sel.picks, start=1):
        src = photos[int(ok_idx[s])]
        name = _highlight_name(rank, width, src.rel)
        shutil.copy2(src.path, tmp / "highlights" / name)
        highlights[s] = "highlights/" + name
    saliency = _saliency_overlays(tmp, [photos[int(ok_idx[s])].path for s in sel.picks], scorer)

    files: list[dict[str, Any]] = []
    for f in scan.files:
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
            g = int(groups[s])
            entry.update(
                status=sel.status[s],
                score=_r(col.scores[k], 6),
                group=g + 1,
                group_size=int(group_sizes[g]),
                rank=sel.rank[s],
                reasons=list(sel.reasons[s]),
                kept=bool(sel.kept[s]),
                quality_gate=list(sel.gate[s]),
                width=int(col.width[k]),
                height=int(col.height[k]),
                captured_at=col.captured[k],
                phash=f"{int(col.phash[k]):016x}",
                thumb=col.thumb[k],
                highlight=highlights.get(s),
                saliency=saliency.get(sel.rank[s] or 0),
                features={
                    c: _r(v) for c, v in zip(FEATURE_COLUMNS, col.features[k].tolist(), strict=True)
                },
            )
        files.append(entry)

    counts = {"files": len(files), "picked": 0, "duplicate": 0, "rejected": 0, "skipped": 0}
    for e in files:
        counts[e["status"]] += 1
    counts["ignored"] = len(scan.ignored)

    group_list = []
    by_group: dict[int, list[dict[str, Any]]] = {}
    for e in files:
        if e["group"] is not None and e.get("group_size", 1) > 1:
            by_group.setdefault(e["group"], []).append(e)
    for gid in sorted(by_group):
        members = by_group[gid]
        kept = next(m["path"] for m in members if m["kept"])
        group_list.append({"id": gid, "kept": kept, "members": [m["path"] for m in members]})

    picks = [photos[int(ok_idx[s])].rel for s in sel.picks]
    doc = {
        "format": FORMAT,
        "album": str(album),
        "scorer": {"name": scorer.name, "version": scorer.version, "requested": model},
        "top": top,
        "params": {
            "grouping": asdict(DEFAULT_GROUPING),
            "quality_gate": asdict(DEFAULT_GATE),
            "diversity": asdict(DEFAULT_DIVERSITY),
        },
        "counts": counts,
        "picks": picks,
        "groups": group_list,
        "ignored": list(scan.ignored),
        "files": files,
    }
    with atomic_open(tmp / "curation.json", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    with atomic_open(tmp / "index.html", "w", encoding="utf-8") as fh:
        fh.write(render_html(doc))
    return {"counts": counts, "picks": picks, "n_groups": len(group_list)}


def _saliency_overlays(tmp: Path, paths: list[str], scorer: Scorer) -> dict[int, str]:
    """Heat maps of what the scorer looks at, blended over the picks (rank -> file)."""
    import cv2

    from picme.curate.analyze import THUMB_QUALITY, THUMB_SIDE
    from picme.features.decode import ImageDecodeError, decode_image

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


# ------------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;background:#fafafa;color:#222}
h1{font-size:1.4rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{width:250px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px;margin:0}
.card img{max-width:100%;max-height:200px;display:block;margin:auto}
.pic{position:relative}.pic .sal{position:absolute;inset:0;opacity:0;transition:opacity .2s}
.pic:hover .sal{opacity:1}
.card ul{margin:4px 0;padding-left:18px}.card code{word-break:break-all;font-size:12px}
.status{font-weight:600;text-transform:uppercase;font-size:11px}
.picked .status{color:#0a7}.duplicate .status{color:#888}.rejected .status{color:#c33}
.group{display:flex;flex-wrap:wrap;gap:8px;padding:8px;margin:8px 0;border:1px dashed #bbb}
.group .kept{border:2px solid #0a7}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.more{color:#666;font-style:italic}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _url(rel: str) -> str:
    return _e(quote(rel, safe="/"))


def _card(e: dict[str, Any], extra_class: str = "") -> str:
    title = f"#{e['rank']} " if e.get("rank") else ""
    img = ""
    if e.get("thumb"):
        img = f'<img loading="lazy" src="{_url(e["thumb"])}" alt="{_e(e["path"])}">'
        if e.get("saliency"):
            img += (
                f'<img class="sal" loading="lazy" src="{_url(e["saliency"])}" '
                f'alt="saliency of {_e(e["path"])}" title="what the scorer looks at">'
            )
        if e.get("highlight"):
            img = f'<a href="{_url(e["highlight"])}">{img}</a>'
        img = f'<div class="pic">{img}</div>'
    score = "" if e.get("score") is None else f" score {e['score']:.3f}"
    reasons = "".join(f"<li>{_e(r)}</li>" for r in e.get("reasons", []))
    return (
        f'<figure class="card {_e(e["status"])} {extra_class}">{img}<figcaption>'
        f'<span class="status">{_e(title)}{_e(e["status"])}</span>{_e(score)}<br>'
        f"<code>{_e(e['path'])}</code><ul>{reasons}</ul></figcaption></figure>"
    )


def _more(n_total: int, shown: int) -> str:
    if n_total <= shown:
        return ""
    return f'<p class="more">… and {n_total - shown} more: see curation.json</p>'


def render_html(doc: dict[str, Any]) -> str:
    files = doc["files"]
    by_path = {e["path"]: e for e in files}
    picks = [by_path[p] for p in doc["picks"]]
    scorer = doc["scorer"]
    c = doc["counts"]
    version = f" version {scorer['version']}" if scorer.get("version") else ""
    album_name = PurePosixPath(doc["album"]).name or doc["album"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>PicMe highlights: {_e(album_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>PicMe highlights of <code>{_e(doc['album'])}</code></h1>",
        f"<p>Scored by <b>{_e(scorer['name'])}</b>{_e(version)}. "
        f"{c['files']} files: {c['picked']} picked, {c['duplicate']} duplicates, "
        f"{c['rejected']} rejected, {c['skipped']} skipped; {c['ignored']} hidden or system "
        "files ignored. Hover a pick to see what the scorer looks at (when it can tell).</p>",
        f'<h2 id="picks">Picks ({len(picks)} of {doc["top"]} asked)</h2><div class="grid">',
    ]
    parts += [_card(e) for e in picks[:MAX_CARDS]]
    parts.append("</div>" + _more(len(picks), MAX_CARDS))

    groups = doc["groups"]
    parts.append(f'<h2 id="groups">Near-duplicate groups ({len(groups)})</h2>')
    for g in groups[:MAX_GROUPS]:
        members = [by_path[p] for p in g["members"]]
        kept = [m for m in members if m["kept"]]
        rest = [m for m in members if not m["kept"]]
        parts.append(
            f'<div class="group" id="group-{int(g["id"])}">'
            + "".join(_card(m, "kept") for m in kept)
            + "".join(_card(m) for m in rest)
            + "</div>"
        )
    parts.append(_more(len(groups), MAX_GROUPS))

    rejected = [e for e in files if e["status"] == "rejected"]
    gate = [e for e in rejected if not e["kept"]]
    below = [e for e in rejected if e["kept"]]
    parts.append(f'<h2 id="rejected">Rejected ({len(rejected)})</h2>')
    parts.append(f"<h3>By the quality gate ({len(gate)})</h3><div class='grid'>")
    parts += [_card(e) for e in gate[:MAX_CARDS]]
    parts.append("</div>" + _more(len(gate), MAX_CARDS))
    parts.append(f"<h3>Not in the top {int(doc['top'])} ({len(below)})</h3><div class='grid'>")
    parts += [_card(e) for e in below[:MAX_CARDS]]
    parts.append("</div>" + _more(len(below), MAX_CARDS))

    skipped = [e for e in files if e["status"] == "skipped"]
    parts.append(f'<h2 id="skipped">Skipped ({len(skipped)})</h2>')
    if skipped:
        parts.append("<table><tr><th>file</th><th>why</th></tr>")
        parts += [
            f"<tr><td><code>{_e(e['path'])}</code></td><td>{_e('; '.join(e['reasons']))}</td></tr>"
            for e in skipped[:MAX_SKIPPED_ROWS]
        ]
        parts.append("</table>" + _more(len(skipped), MAX_SKIPPED_ROWS))
    parts.append("</body></html>\n")
    return "\n".join(parts)
