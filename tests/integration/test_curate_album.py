"""`picme curate` end to end on an album built here: bursts with blurred and dark copies,
singles in every format, EXIF-rotated photos, broken files, a video, hidden files, and a
file name that tries to inject HTML."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from picme.errors import InputError
from picme.settings import get_settings
from picme.synthetic.album import FORMATS, AlbumSpec, generate_album
from tests.imagefixtures import make_image_fixtures

STATUSES = {"picked", "alternative", "duplicate", "rejected", "skipped"}
XSS = "<script>alert('x')&\"q\".jpg"
CAMERA_FILE = "camera.jpg"


def _tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (hidden ones too): content hash and mtime."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            st = p.lstat()
            data = p.read_bytes() if p.is_file() else os.readlink(p).encode()
            out[str(p.relative_to(root))] = (hashlib.sha256(data).hexdigest(), st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AlbumSpec]:
    root = tmp_path_factory.mktemp("trip") / "Trip 2024"
    spec = generate_album(
        root,
        n_bursts=3,
        burst_size=3,
        n_singles=8,
        size=(320, 240),
        formats=FORMATS,
        bad_copies_every=1,
        n_rotated=2,
        families=3,
    )
    fixtures = tmp_path_factory.mktemp("fixtures")
    make_image_fixtures(fixtures)
    misc = root / "misc"
    misc.mkdir()
    for name in ("cmyk.jpg", "alpha.png", "gray.png", "truncated.jpg", "text.jpg", "empty.jpg"):
        (misc / name).write_bytes((fixtures / name).read_bytes())
    (misc / "clip.MP4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    (misc / "notes.txt").write_text("not a photo\n")
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (misc / "._IMG_0001.jpg").write_bytes(b"\x00\x05\x16\x07")
    (misc / "Thumbs.db").write_bytes(b"\x00")
    hidden = root / ".thumbnails"
    hidden.mkdir()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(hidden / "t.jpg")
    # A real photo whose name tries to inject a script into the contact sheet.
    Image.open(root / spec.items[-1].path).convert("RGB").save(misc / XSS, quality=90)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "FUJIFILM\x00 ", "Fujifilm X-T5"
    noise = np.random.default_rng(7).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    Image.fromarray(noise).save(misc / CAMERA_FILE, quality=90, exif=exif.tobytes())
    return root, spec


@pytest.fixture(scope="module")
def runs(album: tuple[Path, AlbumSpec], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One in-process run, the same in a process pool, and their inputs before/after."""
    from picme.curate.run import curate_album

    root, _ = album
    settings = get_settings(home=tmp_path_factory.mktemp("home"))
    before = _tree_digest(root)
    first = curate_album(root, top=3, workers=1, settings=settings)
    other_out = tmp_path_factory.mktemp("second") / "out"
    second = curate_album(root, top=3, workers=2, out=other_out, settings=settings)
    after = _tree_digest(root)
    return {
        "first": first,
        "second": second,
        "before": before,
        "after": after,
        "settings": settings,
    }


def _doc(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((result.out_dir / "curation.json").read_text())


def test_album_is_never_modified(runs: dict, album: tuple[Path, AlbumSpec]) -> None:
    root, _ = album
    assert runs["before"] == runs["after"]
    assert not any(p.name.endswith("-picme") for p in root.iterdir())
    assert runs["first"].out_dir == root.parent / "Trip 2024-picme"


def test_every_file_has_an_entry(runs: dict, album: tuple[Path, AlbumSpec]) -> None:
    root, _ = album
    doc = _doc(runs["first"])
    paths = [e["path"] for e in doc["files"]]
    visible = sorted(
        k.replace(os.sep, "/")
        for k in runs["before"]
        if not any(part.startswith(".") for part in Path(k).parts) and Path(k).name != "Thumbs.db"
    )
    assert paths == visible
    assert sorted(doc["ignored"]) == [
        ".DS_Store",
        ".thumbnails/",
        "misc/._IMG_0001.jpg",
        "misc/Thumbs.db",
    ]
    for e in doc["files"]:
        assert e["status"] in STATUSES
        assert isinstance(e["reasons"], list) and e["reasons"], e
        if e["status"] == "skipped":
            assert e["score"] is None and e["group"] is None and e["rank"] is None
        else:
            assert isinstance(e["score"], float) and isinstance(e["group"], int)
        assert (e["rank"] is not None) == (e["status"] == "picked")
    ranks = sorted(e["rank"] for e in doc["files"] if e["status"] == "picked")
    assert ranks == [1, 2, 3]
    assert doc["scorer"] == {"name": "heuristic", "version": None, "requested": None}


def test_bad_files_are_skipped_with_a_reason(runs: dict) -> None:
    by_path = {e["path"]: e for e in _doc(runs["first"])["files"]}
    expect = {
        "misc/truncated.jpg": "truncated",
        "misc/text.jpg": "not an image",
        "misc/empty.jpg": "empty",
        "misc/clip.MP4": "video",
        "misc/notes.txt": "not a supported photo type",
    }
    for path, words in expect.items():
        assert by_path[path]["status"] == "skipped"
        assert words in by_path[path]["reasons"][0], by_path[path]
    for path in ("misc/cmyk.jpg", "misc/alpha.png", "misc/gray.png", f"misc/{XSS}"):
        assert by_path[path]["status"] != "skipped", by_path[path]


def test_bursts_grouped_and_bad_copies_never_kept(
    runs: dict, album: tuple[Path, AlbumSpec]
) -> None:
    _, spec = album
    by_path = {e["path"]: e for e in _doc(runs["first"])["files"]}
    for label, members in spec.groups().items():
        groups = {by_path[m]["group"] for m in members}
        assert len(groups) == 1, (label, groups)
        others = [e for e in by_path.values() if e["group"] in groups and e["path"] not in members]
        # Only the injected copy of the last single may join that single's group.
        assert all(e["path"] == f"misc/{XSS}" for e in others), others
    kind = {it.path: it.kind for it in spec.items}
    for path, k in kind.items():
        e = by_path[path]
        if k in ("blur", "dark"):
            assert e["status"] == "rejected" and not e["kept"], e
            word = "blurred" if k == "blur" else "underexposed"
            assert word in e["reasons"][0], e  # a reject says its flaw first
            assert any(r.startswith("kept burst") for r in e["reasons"]), e
        if k in ("blur", "dark", "original", "shift", "reencode", "motion"):
            kept = [by_path[m] for m in spec.groups()[spec.label_of()[path]] if by_path[m]["kept"]]
            assert len(kept) == 1 and kind[kept[0]["path"]] not in ("blur", "dark")


def test_duplicates_explain_why_not(runs: dict) -> None:
    dups = [e for e in _doc(runs["first"])["files"] if e["status"] == "duplicate"]
    assert dups
    by_path = {e["path"]: e for e in _doc(runs["first"])["files"]}
    for e in dups:
        assert e["reasons"][-1].startswith("kept "), e
        # The photo a sibling says was kept really was: picked or an alternative.
        kept = e["reasons"][-1].removeprefix("kept ").split(": ")[0]
        assert by_path[kept]["status"] in ("picked", "alternative"), by_path[kept]


def test_statuses_scores_and_exif(runs: dict) -> None:
    doc = _doc(runs["first"])
    assert doc["album_name"] == "Trip 2024" and doc["album_relative"] == "../Trip 2024"
    read = [e for e in doc["files"] if e["status"] != "skipped"]
    assert {e["status"] for e in read} == {"picked", "alternative", "duplicate", "rejected"}
    for e in read:
        assert 0 <= e["score_100"] <= 100
        if e["status"] == "alternative":
            assert e["kept"] and not e["quality_gate"], e
            assert e["reasons"][0].startswith("not in the top 3"), e
        if e["status"] == "rejected":
            assert e["quality_gate"] and e["reasons"][0].startswith(e["quality_gate"][0]), e
    best = max(read, key=lambda e: e["score"])
    assert best["score_100"] == 100
    assert doc["counts"]["alternative"] == sum(e["status"] == "alternative" for e in read)
    assert any(e["captured_at"] for e in read)
    assert by_camera(doc) == {f"misc/{CAMERA_FILE}": "Fujifilm X-T5"}


def by_camera(doc: dict) -> dict[str, str]:
    return {e["path"]: e["camera"] for e in doc["files"] if e.get("camera")}


def test_highlights_thumbnails_and_saliency(runs: dict, album: tuple[Path, AlbumSpec]) -> None:
    root, _ = album
    result = runs["first"]
    doc = _doc(result)
    names = sorted(p.name for p in (result.out_dir / "highlights").iterdir())
    assert len(names) == 3 and [n[:3] for n in names] == ["01_", "02_", "03_"]
    for rank, rel in enumerate(doc["picks"], start=1):
        copy = result.out_dir / "highlights" / names[rank - 1]
        assert copy.name.endswith(Path(rel).name)
        assert copy.read_bytes() == (root / rel).read_bytes()
    for e in doc["files"]:
        if e["status"] != "skipped":
            assert (result.out_dir / e["thumb"]).is_file()
        if e["status"] == "picked":  # the heuristic scorer has a sharpness saliency map
            assert (result.out_dir / e["saliency"]).is_file()


def test_rotated_photos_have_upright_thumbnails(runs: dict, album: tuple[Path, AlbumSpec]) -> None:
    from PIL import ImageOps

    root, spec = album
    result = runs["first"]
    by_path = {e["path"]: e for e in _doc(result)["files"]}
    rotated = [it for it in spec.items if it.orientation != 1]
    assert {it.orientation for it in rotated} == {6, 8}
    for it in rotated:
        thumb = np.asarray(Image.open(result.out_dir / by_path[it.path]["thumb"]).convert("L"))
        assert thumb.shape[1] > thumb.shape[0], "stored sideways, shown landscape"
        with Image.open(root / it.path) as im:
            assert im.width < im.height  # the pixels really are stored sideways
            upright = ImageOps.exif_transpose(im).convert("L").resize(thumb.shape[::-1])
        ref = np.asarray(upright).astype(float)
        err_upright = np.abs(thumb - ref).mean()
        err_turned = np.abs(thumb - ref[::-1, ::-1]).mean()
        assert err_upright < 10 < err_turned, (err_upright, err_turned)


def test_html_escapes_file_names(runs: dict) -> None:
    page = (runs["first"].out_dir / "index.html").read_text()
    assert "<script>alert" not in page and page.count("<script") == 2
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&amp;&quot;q&quot;.jpg" in page
    assert page.index('id="photos"') < page.index('id="groups"') < page.index('id="skipped"')
    assert "<title>Trip 2024: PicMe contact sheet</title>" in page


def test_pool_and_in_process_runs_agree(runs: dict) -> None:
    first = json.loads((runs["first"].out_dir / "curation.json").read_bytes())
    second = json.loads((runs["second"].out_dir / "curation.json").read_bytes())
    # The outputs sit in different places, so the way back to the album differs.
    assert first.pop("album_relative") != second.pop("album_relative")
    assert first == second


def test_cli_rerun_replaces_output_and_top_larger_than_album(
    runs: dict, album: tuple[Path, AlbumSpec], picme_home: Path
) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    root, _ = album
    out = runs["second"].out_dir
    stale = out / "thumbs" / "stale.jpg"
    stale.write_bytes(b"old")
    args = ["curate", str(root), "--top", "500", "--model", "heuristic", "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "with the heuristic scorer" in res.output and "distinct shots, all picked" in res.output
    doc = json.loads((out / "curation.json").read_text())
    kept = [e for e in doc["files"] if e["kept"]]
    assert all(e["status"] == "picked" for e in kept)
    assert sorted(e["rank"] for e in kept) == list(range(1, len(kept) + 1))
    assert len(list((out / "highlights").iterdir())) == len(kept)
    # The old generation is replaced as a whole, but a file the user added is kept (it is
    # not in the manifest of what PicMe wrote).
    assert stale.read_bytes() == b"old"
    manifest = json.loads((out / ".picme-manifest.json").read_text())
    assert manifest["user_files"] == ["thumbs/stale.jpg"]
    assert "thumbs/stale.jpg" not in manifest["files"]
    # Photos failing the quality gate are ranked after every photo that passes.
    gate_ranks = [e["rank"] for e in kept if e["quality_gate"]]
    pass_ranks = [e["rank"] for e in kept if not e["quality_gate"]]
    assert not gate_ranks or min(gate_ranks) > max(pass_ranks)
    assert not list(out.parent.glob(".out.*")), "no temporary folders left behind"


def test_xmp_sidecars_and_copied_picks(tmp_path: Path, picme_home: Path) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app
    from picme.curate.handoff import written_by_picme

    root = tmp_path / "Album"
    generate_album(root, n_bursts=1, burst_size=3, n_singles=3, size=(160, 120))
    theirs = root / "singles" / "DSC_0000.jpg.xmp"
    theirs.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    before = _tree_digest(root)
    out, picks = tmp_path / "out", tmp_path / "picks"
    args = ["curate", str(root), "--top", "2", "--model", "heuristic", "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--xmp-beside", "--copy-picks", str(picks)])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "curation.json").read_text())
    read = [e for e in doc["files"] if e["status"] != "skipped"]
    for e in read:
        assert written_by_picme(out / "xmp" / f"{e['path']}.xmp"), e["path"]
        beside = root / f"{e['path']}.xmp"
        assert beside == theirs or written_by_picme(beside)
    assert "1 existing sidecars PicMe did not write left as they were" in res.output
    after = _tree_digest(root)
    # The photos (bytes and mtimes) and the user's sidecar are as they were.
    assert {k: v for k, v in after.items() if not k.endswith(".xmp") or k in before} == before
    assert sorted(
        p.relative_to(picks).as_posix() for p in picks.rglob("*.*") if p.is_file()
    ) == sorted([*doc["picks"], *(f"{p}.xmp" for p in doc["picks"]), ".picme-manifest.json"])
    # A second run finds the sidecars beside the photos as the photos' own: not files to curate.
    res = CliRunner().invoke(app, [*args, "--xmp-beside", "--copy-picks", str(picks)])
    assert res.exit_code == 0, res.output
    again = json.loads((out / "curation.json").read_text())
    assert again["counts"]["files"] == doc["counts"]["files"]


def test_refusals(album: tuple[Path, AlbumSpec], tmp_path: Path) -> None:
    from picme.curate.run import curate_album

    root, _ = album
    settings = get_settings(home=tmp_path / "home")
    with pytest.raises(InputError, match="inside the album"):
        curate_album(root, out=root / "out", settings=settings)
    with pytest.raises(InputError, match="contains the album"):
        curate_album(root, out=root.parent, settings=settings)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(InputError, match="already holds other files"):
        curate_album(root, out=foreign, settings=settings)
    assert (foreign / "keep.txt").read_text() == "precious"
    with pytest.raises(InputError, match="does not exist"):
        curate_album(tmp_path / "nope", settings=settings)
    with pytest.raises(InputError, match="--top"):
        curate_album(root, top=0, settings=settings)


def test_empty_albums_get_a_clear_message(tmp_path: Path) -> None:
    from picme.curate.run import curate_album

    settings = get_settings(home=tmp_path / "home")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="is empty"):
        curate_album(empty, settings=settings)
    (empty / ".DS_Store").write_bytes(b"x")
    with pytest.raises(InputError, match=r"is empty \(only 1 hidden"):
        curate_album(empty, settings=settings)
    (empty / "movie.mov").write_bytes(b"x")
    with pytest.raises(InputError, match="has no photos"):
        curate_album(empty, settings=settings)
    assert not (tmp_path / "empty-picme").exists()


def test_album_of_broken_photos_is_reported_not_refused(tmp_path: Path) -> None:
    from picme.curate.run import curate_album

    album = tmp_path / "broken"
    album.mkdir()
    (album / "a.jpg").write_text("not a photo")
    (album / "b.png").write_bytes(b"")
    result = curate_album(album, workers=1, settings=get_settings(home=tmp_path / "home"))
    doc = _doc(result)
    assert [e["status"] for e in doc["files"]] == ["skipped", "skipped"]
    assert doc["picks"] == [] and result.counts["skipped"] == 2
    assert any("no photo could be decoded" in n for n in result.notes)
    assert "Skipped (2)" in (result.out_dir / "index.html").read_text()


def test_cli_reports_an_empty_album_in_one_line(tmp_path: Path, picme_home: Path) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    empty = tmp_path / "nothing"
    empty.mkdir()
    res = CliRunner().invoke(app, ["curate", str(empty)])
    assert res.exit_code == 2
    assert "is empty" in res.output and "Traceback" not in res.output


class _FakeModelScorer:
    """Stands in for a registered model: scores pixels in the parent, no saliency."""

    name = "models:/picme-scorer@champion"
    version = "3"
    max_side = 64

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def score_images(self, images, metadata=None, features=None):  # type: ignore[no-untyped-def]
        self.shapes += [im.shape for im in images]
        return np.array([float(im.mean()) / 255.0 for im in images])

    def saliency(self, image):  # type: ignore[no-untyped-def]
        return None


def test_model_scorer_scores_in_batches_and_is_reported(
    album: tuple[Path, AlbumSpec], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import picme.scoring.api
    from picme.curate.run import curate_album

    root, _ = album
    fake = _FakeModelScorer()
    asked: list[str | None] = []

    def load(spec, settings):  # type: ignore[no-untyped-def]
        asked.append(spec)
        return fake

    monkeypatch.setattr(picme.scoring.api, "load_scorer", load)
    result = curate_album(
        root / "singles",
        top=2,
        out=tmp_path / "o",
        workers=1,
        settings=get_settings(home=tmp_path / "home"),
    )
    assert asked == [None]
    doc = _doc(result)
    assert doc["scorer"]["name"] == fake.name and doc["scorer"]["version"] == "3"
    assert "version 3" in result.summary()
    scored = [e for e in doc["files"] if e["score"] is not None]
    assert len(fake.shapes) == len(scored)
    assert all(max(s[:2]) <= 64 and s[2] == 3 for s in fake.shapes)
    assert not (result.out_dir / "saliency").exists()
    assert all(e.get("saliency") is None for e in doc["files"])


def test_flow_parameters_are_the_album_and_the_described_config() -> None:
    from prefect.utilities.callables import parameter_schema

    from flows.curate import curate_flow
    from picme.curate.config import CurateConfig

    schema = parameter_schema(curate_flow.fn).model_dump_for_openapi()
    assert list(schema["properties"]) == ["album", "config", "home"]
    fields = schema["definitions"]["CurateConfig"]["properties"]
    for name, info in CurateConfig.model_fields.items():
        assert fields[name]["description"] == info.description


@pytest.mark.slow
def test_flow_curates_and_returns_the_typed_result(
    album: tuple[Path, AlbumSpec], tmp_path: Path, picme_home: Path
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.curate import curate_flow
    from picme.curate.config import CurateConfig
    from picme.curate.run import CurationResult

    root, _ = album
    config = CurateConfig(top=2, model="heuristic", out=tmp_path / "o", workers=1)
    with prefect_test_harness(server_startup_timeout=180):
        result = curate_flow(album=str(root / "singles"), config=config, home=str(picme_home))
    assert isinstance(result, CurationResult)
    assert result.out_dir == tmp_path / "o" and result.html_path.is_file()
    assert len(result.picks) == 2 and result.scorer_name == "heuristic"
