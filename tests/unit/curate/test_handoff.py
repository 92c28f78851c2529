"""XMP sidecars parsed back, ownership of sidecars beside photos, and the exported picks."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from picme.curate.handoff import (
    NS,
    export_picks,
    sidecar_xml,
    write_sidecars,
    write_sidecars_beside,
    written_by_picme,
)
from picme.errors import InputError

HOSTILE = "<b>&\"quote'</b>\x01.jpg"


def entry(path: str, status: str, score_100: int = 50, rank: int | None = None) -> dict:
    return {
        "path": path,
        "status": status,
        "score": 0.5,
        "score_100": score_100,
        "rank": rank,
        "reasons": [f"because of {path}"],
    }


def fields(data: bytes) -> dict[str, str]:
    """Every leaf of the rdf:Description as prefix:name -> text."""
    root = ET.fromstring(data)
    desc = root.find(f"{{{NS['rdf']}}}RDF/{{{NS['rdf']}}}Description")
    assert desc is not None
    back = {uri: prefix for prefix, uri in NS.items()}
    out = {}
    for el in desc:
        uri, name = el.tag[1:].split("}")
        out[f"{back[uri]}:{name}"] = el.text or ""
    return out


@pytest.mark.parametrize(
    ("status", "rating", "label", "pick", "digikam"),
    [
        ("picked", "5", "Green", "1", "3"),
        ("alternative", "3", "Yellow", "0", "2"),
        ("duplicate", "2", None, "0", "0"),
        ("rejected", "-1", "Red", "-1", "1"),
    ],
)
def test_sidecar_carries_rating_and_labels(
    status: str, rating: str, label: str | None, pick: str, digikam: str
) -> None:
    f = fields(sidecar_xml(entry("a/IMG_1.jpg", status, 87, 1), "heuristic"))
    assert f["xmp:Rating"] == rating
    assert f.get("xmp:Label") == label
    assert f["xmpDM:pick"] == pick and f["digiKam:PickLabel"] == digikam
    assert f["picme:Status"] == status and f["picme:Score"] == "87"
    assert f["picme:WrittenBy"] == "picme" and f["picme:Scorer"] == "heuristic"


def test_text_is_escaped_and_invalid_characters_dropped() -> None:
    data = sidecar_xml(entry(HOSTILE, "picked"), "<model & co>")
    f = fields(data)  # parses: the markup in the name stayed text
    assert f["picme:Reason"] == "because of <b>&\"quote'</b>.jpg"
    assert f["picme:Scorer"] == "<model & co>"
    assert b"<b>" not in data


def test_sidecars_mirror_the_album(tmp_path: Path) -> None:
    n = write_sidecars(tmp_path / "xmp", [entry("x/y/IMG_2.JPG", "rejected")], "h")
    assert n == 1
    assert written_by_picme(tmp_path / "xmp" / "x/y/IMG_2.JPG.xmp")


def _digest(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in folder.iterdir()
        if p.suffix.lower() != ".xmp"
    }


def test_beside_writes_only_its_own_sidecars_and_never_touches_photos(tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        Image.new("RGB", (8, 8), (1, 2, 3)).save(album / name)
    users = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><!-- darktable's edits --></x:xmpmeta>"
    (album / "b.jpg.xmp").write_bytes(users)
    before = _digest(album)
    entries = [
        entry("a.jpg", "picked", rank=1),
        entry("b.jpg", "rejected"),
        entry("c.jpg", "duplicate"),
    ]
    first = write_sidecars_beside(album, entries, "h")
    assert first.written == 2 and first.kept == ["b.jpg.xmp"]
    assert (album / "b.jpg.xmp").read_bytes() == users  # not PicMe's: left alone
    assert fields((album / "a.jpg.xmp").read_bytes())["xmp:Rating"] == "5"
    # A second run replaces PicMe's own sidecars (the photo's status changed).
    entries[0] = entry("a.jpg", "alternative")
    again = write_sidecars_beside(album, entries, "h")
    assert again.written == 2
    assert fields((album / "a.jpg.xmp").read_bytes())["xmp:Rating"] == "3"
    assert _digest(album) == before  # photo bytes and mtimes unchanged


def test_beside_in_a_read_only_album_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    import picme.curate.handoff as handoff

    @contextlib.contextmanager
    def denied(target: Path, mode: str = "w") -> Iterator[None]:
        raise PermissionError(13, "Permission denied", str(target))
        yield  # pragma: no cover

    # Root writes into read-only folders, so the refusal is stood in.
    monkeypatch.setattr(handoff, "atomic_open", denied)
    with pytest.raises(InputError, match=r"cannot write the sidecar .*a\.jpg\.xmp.*Permission"):
        write_sidecars_beside(tmp_path, [entry("a.jpg", "picked")], "h")


def test_export_picks_copies_or_links_as_one_generation(tmp_path: Path) -> None:
    album = tmp_path / "album"
    (album / "d").mkdir(parents=True)
    for name in ("d/a.jpg", "b.jpg"):
        (album / name).write_bytes(name.encode() * 100)
    sidecars = tmp_path / "xmp"
    write_sidecars(sidecars, [entry("d/a.jpg", "picked")], "h")
    out = tmp_path / "picks"
    assert export_picks(album, ["d/a.jpg", "b.jpg"], out, link=False, sidecars=sidecars) == 2
    assert (out / "d/a.jpg").read_bytes() == (album / "d/a.jpg").read_bytes()
    assert written_by_picme(out / "d/a.jpg.xmp")
    assert (out / ".picme-manifest.json").is_file()
    # The next run replaces the whole folder (b.jpg is no longer a pick), but keeps a
    # file the user added.
    (out / "notes.txt").write_text("mine")
    export_picks(album, ["d/a.jpg"], out, link=True, sidecars=None)
    assert not (out / "b.jpg").exists() and (out / "notes.txt").read_text() == "mine"
    assert os.path.samefile(out / "d/a.jpg", album / "d/a.jpg")
    # A folder PicMe did not write is refused, untouched.
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="PicMe did not write"):
        export_picks(album, ["b.jpg"], other, link=False, sidecars=None)
    assert [p.name for p in other.iterdir()] == ["keep.jpg"]
