"""The contact sheet (index.html): a view model built from curation.json, then rendered.

:func:`sheet_data` turns a curation.json document into the page's data: one record per
shown photo (status, rank, 0-100 score and raw score, EXIF date and camera, thumbnail and
full-size URLs, reasons, group) and the groups as lists of those records. The template
(``templates/contact_sheet.html``, autoescape on) renders the cards from it for reading
without scripts, and embeds the same data as JSON (``|tojson``, which escapes ``<``, ``>``,
``&`` and quotes) for the script that sorts, filters, opens the larger view and compares a
group side by side. The page uses no network: it works from ``file://``.

Every text from the album (file and folder names, EXIF camera names) or the user (model
URI) is HTML-escaped; URLs are percent-encoded; the script only ever sets ``textContent``.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

# A contact sheet is for eyes: beyond these, the rest is listed in curation.json only.
MAX_CARDS = 1500
MAX_GROUPS = 400
MAX_SKIPPED_ROWS = 5000

# The statuses of curation.json, in the page's order, with what each word means there.
STATUSES = {
    "picked": "in the top {top}",
    "alternative": "a good photo (best of its group, or a single) outside the top {top}",
    "duplicate": "a near-duplicate of a better photo of the same shot",
    "rejected": "failed the quality gate (blurred, badly exposed, eyes closed)",
}
_ORDER = {s: k for k, s in enumerate(STATUSES)}
# Features shown when a group is compared side by side (label, feature, format).
COMPARE_FEATURES = (
    ("sharpness", "sharpness", "{:.1f}"),
    ("brightness", "brightness", "{:.2f}"),
    ("contrast", "contrast", "{:.2f}"),
    ("colourfulness", "colorfulness", "{:.0f}"),
    ("eyes found", "eye_count", "{:.0f}"),
)


def album_name(doc: dict[str, Any]) -> str:
    """The album folder's name (never its absolute path: the page may be shared)."""
    return str(doc.get("album_name") or PurePosixPath(doc["album"]).name or doc["album"])


def _url(path: str | None) -> str | None:
    return None if path is None else quote(path, safe="/")


def _date_text(iso: str | None) -> str | None:
    if not iso:
        return None
    return iso.replace("T", " ")[:16]


def _default_order(e: dict[str, Any]) -> tuple[int, float, str]:
    """Picks in rank order, then alternatives, duplicates and rejects by score."""
    second = float(e["rank"]) if e["rank"] is not None else -float(e["score"] or 0.0)
    return (_ORDER.get(e["status"], 9), second, e["path"])


def _photo(i: int, e: dict[str, Any], album_rel: str | None) -> dict[str, Any]:
    # The larger view shows the highlight copy of a pick, else the album's own file (the
    # script falls back to the thumbnail when the browser cannot show it: HEIC, TIFF, or
    # an output moved away from the album).
    full = e.get("highlight") or (f"{album_rel}/{e['path']}" if album_rel else None)
    feats = e.get("features") or {}
    return {
        "i": i,
        "path": e["path"],
        "status": e["status"],
        "rank": e["rank"],
        "score": e["score"],
        "score_100": e.get("score_100"),
        "date": e.get("captured_at"),
        "date_text": _date_text(e.get("captured_at")),
        "camera": e.get("camera"),
        "thumb": _url(e.get("thumb")),
        "full": _url(full) or _url(e.get("thumb")),
        "saliency": _url(e.get("saliency")),
        "group": e["group"],
        "group_size": e.get("group_size", 1),
        "kept": e["kept"],
        "reasons": list(e["reasons"]),
        "width": e.get("width"),
        "height": e.get("height"),
        "compare": [
            [label, fmt.format(feats[name])]
            for label, name, fmt in COMPARE_FEATURES
            if name in feats
        ],
    }


def sheet_data(doc: dict[str, Any]) -> dict[str, Any]:
    """The page's data (also embedded in it as JSON) from a curation.json document."""
    files = doc["files"]
    analysed = sorted((e for e in files if e["status"] != "skipped"), key=_default_order)
    shown = analysed[:MAX_CARDS]
    rel = doc.get("album_relative")
    photos = [_photo(i, e, rel) for i, e in enumerate(shown)]
    index = {p["path"]: p["i"] for p in photos}
    groups: list[dict[str, Any]] = []
    for g in doc["groups"]:
        if len(groups) >= MAX_GROUPS:
            break
        if all(m in index for m in g["members"]):
            members = sorted((index[m] for m in g["members"]), key=lambda i: not photos[i]["kept"])
            groups.append({"id": int(g["id"]), "kept": index[g["kept"]], "members": members})
    counts = {s: int(doc["counts"].get(s, 0)) for s in STATUSES}
    return {
        "album_name": album_name(doc),
        "top": doc["top"],
        "scorer": doc["scorer"],
        "counts": counts,
        "statuses": [
            {"status": s, "meaning": m.format(top=doc["top"]), "count": counts[s]}
            for s, m in STATUSES.items()
        ],
        "photos": photos,
        "n_photos": len(analysed),
        "groups": groups,
        "n_groups": len(doc["groups"]),
    }


def _escape(value: object) -> object:
    # html.escape's entities (&#x27;, &quot;) rather than markupsafe's (&#39;, &#34;): as
    # safe, and the sheet stays byte-identical to the ones earlier versions wrote.
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("picme.curate", "templates"),
        autoescape=True,
        finalize=_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def _script() -> Markup:
    text = (resources.files("picme.curate") / "templates" / "contact_sheet.js").read_text("utf-8")
    if "</script" in text.lower():  # it is inlined into a <script> element
        raise ValueError("contact_sheet.js must not contain '</script'")
    return Markup(text)


def render_html(doc: dict[str, Any]) -> str:
    """The contact sheet of a curation.json document (templates/contact_sheet.html)."""
    data = sheet_data(doc)
    skipped = [e for e in doc["files"] if e["status"] == "skipped"]
    return (
        _environment()
        .get_template("contact_sheet.html")
        .render(
            doc=doc,
            data=data,
            photos=data["photos"],
            by_i=data["photos"],
            skipped=skipped,
            max_rows=MAX_SKIPPED_ROWS,
            script=_script(),
        )
    )
