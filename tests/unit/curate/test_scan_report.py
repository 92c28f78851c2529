"""Album walking (what is a photo, skipped, ignored) and the HTML sheet's escaping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from picme.curate.report import render_html
from picme.curate.scan import scan_album


def test_scan_classifies_and_sorts(tmp_path: Path) -> None:
    root = tmp_path / "album"
    files = [
        "b/IMG_2.JPG",
        "a.heic",
        "b/IMG_1.jpeg",
        "Scan.TIFF",
        "clip.mov",
        "raw.CR2",
        "notes.txt",
        "IMG_1.AAE",
        "noext",
        ".DS_Store",
        "b/._IMG_1.jpeg",
        "Thumbs.db",
        ".hidden/x.jpg",
        "@eaDir/x.jpg",
    ]
    for rel in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    os.symlink(root / "missing.jpg", root / "dangling.jpg")
    scan = scan_album(root)
    rels = [f.rel for f in scan.files]
    assert rels == sorted(rels)
    assert [f.rel for f in scan.photos] == ["Scan.TIFF", "a.heic", "b/IMG_1.jpeg", "b/IMG_2.JPG"]
    reasons = {f.rel: f.skip_reason for f in scan.files if f.skip_reason}
    assert "video" in reasons["clip.mov"]
    assert "RAW" in reasons["raw.CR2"]
    assert "sidecar" in reasons["IMG_1.AAE"]
    assert "not a supported photo type" in reasons["notes.txt"]
    assert "no file extension" in reasons["noext"]
    assert "broken link" in reasons["dangling.jpg"]
    assert scan.ignored == [".DS_Store", ".hidden/", "@eaDir/", "Thumbs.db", "b/._IMG_1.jpeg"]


def test_scan_skips_the_excluded_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thumb.jpg").write_bytes(b"x")
    (tmp_path / "p.jpg").write_bytes(b"x")
    scan = scan_album(tmp_path, exclude=tmp_path / "out")
    assert [f.rel for f in scan.files] == ["p.jpg"] and scan.ignored == ["out/"]


def test_a_photos_own_sidecar_is_ignored_a_lone_one_skipped(tmp_path: Path) -> None:
    for name in ("p.jpg", "p.jpg.xmp", "Q.JPG", "Q.JPG.XMP", "lone.xmp"):
        (tmp_path / name).write_bytes(b"x")
    scan = scan_album(tmp_path)
    assert scan.ignored == ["Q.JPG.XMP", "p.jpg.xmp"]
    assert [(f.rel, f.skip_reason is None) for f in scan.files] == [
        ("Q.JPG", True),
        ("lone.xmp", False),
        ("p.jpg", True),
    ]


def _doc(name: str) -> dict:
    entry = {
        "path": name,
        "status": "picked",
        "score": 0.5,
        "group": 1,
        "rank": 1,
        "reasons": [f"kept {name}: sharper"],
        "kept": True,
        "thumb": "thumbs/abc.jpg",
        "highlight": f"highlights/01_{name}",
        "saliency": "saliency/001.jpg",
        "score_100": 100,
        "camera": f"Cam {name}",
        "captured_at": "2024-06-01T09:23:59",
    }
    skipped = {
        "path": f"x/{name}",
        "status": "skipped",
        "score": None,
        "group": None,
        "rank": None,
        "reasons": [f"bad {name}"],
        "kept": False,
    }
    return {
        "album": f"/photos/{name}",
        "scorer": {"name": "models:/<b>", "version": "<i>2</i>"},
        "top": 1,
        "counts": {
            "files": 2,
            "picked": 1,
            "duplicate": 0,
            "rejected": 0,
            "skipped": 1,
            "ignored": 0,
        },
        "picks": [name],
        "groups": [],
        "files": [entry, skipped],
    }


@pytest.mark.parametrize(
    "name", ['<script>alert("x")</script>.jpg', "<img src=x onerror=alert(1)>.png", "a&b'c.jpg"]
)
def test_html_escapes_every_album_text(name: str) -> None:
    page = render_html(_doc(name))
    assert name not in page  # never verbatim, anywhere
    # Only the page's own two scripts (the JSON data and the behaviour).
    assert page.count("<script") == 2 and "<img src=x" not in page
    assert '<script id="picme-data" type="application/json">' in page
    assert "models:/<b>" not in page and "<i>2</i>" not in page
    assert "&lt;" in page or "&amp;" in page
    assert "highlights/01_%3C" in page or "highlights/01_a%26b%27c.jpg" in page


def test_long_sections_stop_with_a_pointer_and_rendering_is_repeatable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import picme.curate.sheet as sheet

    doc = _doc("a.jpg")
    skipped = doc["files"][1]
    doc["files"] += [{**skipped, "path": f"x/{k}.jpg"} for k in range(3)]
    doc["counts"]["skipped"] = 4
    monkeypatch.setattr(sheet, "MAX_SKIPPED_ROWS", 2)
    page = render_html(doc)
    assert page == render_html(doc)
    assert page.count("<tr><td>") == 2
    assert '</table>\n<p class="more">… and 2 more: see curation.json</p>' in page
    assert page.endswith("</body></html>\n")


def test_page_names_the_album_shows_0_100_scores_and_no_empty_sections() -> None:
    doc = _doc("a.jpg")
    doc["files"] = doc["files"][:1]
    doc["counts"]["skipped"] = 0
    page = render_html(doc)
    assert "<title>a.jpg: PicMe contact sheet</title>" in page and "/photos/" not in page
    assert 'id="skipped"' not in page and "Skipped" not in page
    assert 'id="groups"' not in page  # no group of two or more
    assert "raw score 0.5000 (models:/&lt;b&gt;); 0-100 is the percentile" in page
    assert ">100<small>/100</small>" in page
    assert '<time datetime="2024-06-01T09:23:59">2024-06-01 09:23</time>' in page
    assert "Cam a.jpg" in page and "None" not in page
    doc["files"][0]["camera"] = None
    doc["files"][0]["captured_at"] = None
    page = render_html(doc)
    assert "None" not in page and "<time" not in page and 'class="camera"' not in page


def test_curation_modules_import_no_heavy_libraries() -> None:
    code = (
        "import sys, picme.cli.app, picme.curate.run, picme.synthetic.album\n"
        "import picme.curate.analyze, picme.curate.grouping, picme.curate.select\n"
        "import picme.curate.report, picme.curate.scan, picme.scoring.api\n"
        "heavy = [m for m in ('torch', 'lightning', 'mlflow', 'prefect') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
