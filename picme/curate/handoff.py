"""Hand-off to photo tools: XMP sidecars with a rating and a pick/reject label, and the
picks copied (or linked) into a folder.

A sidecar is named ``<photo name>.xmp`` (``IMG_0012.jpg.xmp``), the name darktable and
digiKam look for. It holds (see docs/curation.md for who reads what):

- ``xmp:Rating``: 5 picked, 3 alternative, 2 duplicate, -1 rejected (the XMP value for a
  rejected photo, which darktable and Adobe Bridge show as "rejected");
- ``xmp:Label``: "Green" picked, "Yellow" alternative, "Red" rejected (colour labels in
  darktable, digiKam and Lightroom);
- ``xmpDM:pick``: 1 picked, -1 rejected, 0 otherwise; ``digiKam:PickLabel``: 3 accepted,
  2 pending (alternative), 1 rejected, 0 none;
- ``picme:*``: status, 0-100 score, raw score, rank, scorer and first reason, and
  ``picme:WrittenBy``, the marker that tells PicMe's sidecars from a user's.

Sidecars are written with :mod:`xml.etree.ElementTree` (text is escaped; characters XML 1.0
cannot hold are dropped). The photos themselves are never opened for writing.
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from picme.curate.config import CurateConfig
from picme.errors import InputError
from picme.util.atomic import atomic_open
from picme.util.generations import check_owned, new_generation

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpDM": "http://ns.adobe.com/xmp/1.0/DynamicMedia/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "picme": "http://picme.invalid/ns/curation/1.0/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

MARKER = "picme"
RATING = {"picked": 5, "alternative": 3, "duplicate": 2, "rejected": -1}
LABEL = {"picked": "Green", "alternative": "Yellow", "rejected": "Red"}
PICK = {"picked": 1, "rejected": -1}
DIGIKAM_PICK = {"picked": 3, "alternative": 2, "rejected": 1}
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sidecar_name(rel: str) -> str:
    """``a/IMG_0012.jpg`` -> ``a/IMG_0012.jpg.xmp``."""
    return rel + ".xmp"


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _text(value: object) -> str:
    return _XML_BAD.sub("", str(value))


def sidecar_xml(entry: dict[str, Any], scorer: str) -> bytes:
    """The XMP packet of one curation.json entry (a decoded photo)."""
    status = entry["status"]
    root = ET.Element(_q("x", "xmpmeta"))
    rdf = ET.SubElement(root, _q("rdf", "RDF"))
    desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    values: list[tuple[str, str, object]] = [("xmp", "Rating", RATING[status])]
    if status in LABEL:
        values.append(("xmp", "Label", LABEL[status]))
    values += [
        ("xmpDM", "pick", PICK.get(status, 0)),
        ("digiKam", "PickLabel", DIGIKAM_PICK.get(status, 0)),
        ("picme", "WrittenBy", MARKER),
        ("picme", "Status", status),
        ("picme", "Score", entry.get("score_100")),
        ("picme", "RawScore", entry.get("score")),
        ("picme", "Rank", entry.get("rank")),
        ("picme", "Scorer", scorer),
        ("picme", "Reason", (entry.get("reasons") or [""])[0]),
    ]
    for prefix, name, value in values:
        if value is not None and value != "":
            ET.SubElement(desc, _q(prefix, name)).text = _text(value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def written_by_picme(path: Path) -> bool:
    """True when ``path`` is a sidecar PicMe wrote (it carries picme:WrittenBy)."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return False
    return any(el.text == MARKER for el in tree.iter(_q("picme", "WrittenBy")))


def write_sidecars(folder: Path, entries: Iterable[dict[str, Any]], scorer: str) -> int:
    """A sidecar per entry under ``folder``, mirroring the album's relative paths (the
    folder is a fresh generation: nothing there to protect)."""
    n = 0
    for e in entries:
        target = folder / sidecar_name(e["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(sidecar_xml(e, scorer))
        n += 1
    return n


@dataclass
class BesideResult:
    written: int = 0
    kept: list[str] = field(default_factory=list)  # existing sidecars PicMe did not write


def write_sidecars_beside(
    album: Path, entries: Iterable[dict[str, Any]], scorer: str
) -> BesideResult:
    """Sidecars beside the photos in the album. A sidecar that exists and that PicMe did
    not write (darktable's own, a user's) is left alone; PicMe's earlier ones are replaced,
    each atomically."""
    out = BesideResult()
    for e in entries:
        target = album / sidecar_name(e["path"])
        if (target.exists() or target.is_symlink()) and not written_by_picme(target):
            out.kept.append(sidecar_name(e["path"]))
            continue
        try:
            with atomic_open(target, "wb") as fh:
                fh.write(sidecar_xml(e, scorer))
        except OSError as exc:
            raise InputError(
                f"cannot write the sidecar {target} beside the photo ({exc.strerror or exc}); "
                f"{out.written} written so far; leave out --xmp-beside to keep them in the "
                "output folder only"
            ) from exc
        out.written += 1
    return out


def export_picks(
    album: Path, picks: list[str], target: Path, *, link: bool, sidecars: Path | None
) -> int:
    """The picks (album-relative paths, rank order) into ``target``, mirroring the album's
    paths, as one generation: complete or not at all, and a non-empty folder PicMe did not
    write is refused. ``link``: hard links (symbolic where the folder is on another
    device) instead of copies. ``sidecars``: a folder of sidecars to copy beside them."""
    check_owned(target)
    with new_generation(target, kind="picks") as tmp:
        for rel in picks:
            src, dst = album / rel, tmp / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if link:
                try:
                    os.link(src, dst)
                except OSError:
                    os.symlink(src.resolve(), dst)
            else:
                shutil.copy2(src, dst)
            if sidecars is not None and (sidecars / sidecar_name(rel)).is_file():
                shutil.copy2(sidecars / sidecar_name(rel), tmp / sidecar_name(rel))
    return len(picks)


def check_picks_dir(album: Path, out: Path, picks: Path | None) -> Path | None:
    """The --copy-picks folder: outside the album and the output, and PicMe's or empty."""
    if picks is None:
        return None
    picks = Path(picks).expanduser().resolve()
    for other, what in ((album, "the album"), (out, "the output folder")):
        if picks == other or picks.is_relative_to(other) or other.is_relative_to(picks):
            raise InputError(
                f"--copy-picks folder {picks} overlaps {what} {other}; give a folder beside "
                f"them (e.g. {album.parent / (album.name + '-picks')})"
            )
    check_owned(picks)
    return picks


def hand_off(
    album: Path,
    out: Path,
    picks_dir: Path | None,
    config: CurateConfig,
    read: list[dict[str, Any]],
    picks: list[str],
    scorer: str,
) -> list[str]:
    """Sidecars beside the photos and the copied picks, after the output is published."""
    lines = []
    if config.xmp or config.xmp_beside:
        lines.append(f"xmp sidecars: {out / 'xmp'} ({len(read)})")
    if config.xmp_beside:
        beside = write_sidecars_beside(album, read, scorer)
        kept = (
            f"; {len(beside.kept)} existing sidecars PicMe did not write left as they were "
            f"(e.g. {beside.kept[0]})"
            if beside.kept
            else ""
        )
        lines.append(f"xmp sidecars beside the photos: {beside.written} written{kept}")
    if picks_dir is not None:
        sidecars = out / "xmp" if (config.xmp or config.xmp_beside) else None
        n = export_picks(album, picks, picks_dir, link=config.link_picks, sidecars=sidecars)
        verb = "linked" if config.link_picks else "copied"
        lines.append(f"picks {verb} to: {picks_dir} ({n})")
    return lines
