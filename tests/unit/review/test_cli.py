"""`picme review` on the command line: the bind rule fails fast, `--export` writes the
reviewed picks without serving, a port in use is one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from picme.cli.app import app
from picme.errors import InputError
from picme.lake import feedback
from picme.review.config import ReviewConfig
from picme.review.serve import bind, check_bind, is_loopback
from picme.settings import get_settings
from tests.unit.review.albums import make_album, tree_digest


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])
def test_a_network_address_needs_a_token(host: str, tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    r = CliRunner().invoke(app, ["review", str(album), "--host", host])
    assert r.exit_code == 2
    assert "--token" in r.output and "Traceback" not in r.output
    check_bind(ReviewConfig(host=host, token="x" * 20))  # with a token it may bind


def test_loopback_names_and_short_tokens() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    with pytest.raises(InputError, match="too short"):
        check_bind(ReviewConfig(token="short"))
    with pytest.raises(InputError, match="not a port"):
        check_bind(ReviewConfig(port=70000))


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(InputError, match=f"127.0.0.1:{port}.*--port 0"):
            bind("127.0.0.1", port)
    free = bind("127.0.0.1", 0)
    assert free.getsockname()[1] > 0
    free.close()


def test_export_curates_first_then_applies_the_decisions(picme_home: Path, tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "unused")
    made = make_album(tmp_path, settings)
    before = tree_digest(made.root)
    pick = json.loads((made.out / "curation.json").read_text())["picks"][0]
    feedback.record(get_settings(), made.root, pick, "0" * 64, "reject")
    out = tmp_path / "fresh-curation"  # no curation there yet: review curates first
    export = tmp_path / "export"
    r = CliRunner().invoke(
        app,
        ["review", str(made.root), "--out", str(out), "--top", "2", "--export",
         "--export-to", str(export)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "curated" in r.output and "exported the review" in r.output
    assert (out / "curation.json").is_file()
    doc = json.loads((export / "reviewed.json").read_text())
    assert pick not in doc["picks"] and len(doc["highlights"]) == len(doc["picks"])
    assert {e["path"]: e["status"] for e in doc["files"]}[pick] == "rejected"
    # The sidecars follow the decision: the person's reject, not picme's pick.
    sidecar = (export / "xmp" / f"{pick}.xmp").read_text()
    assert 'xmp:Rating="-1"' in sidecar or "<xmp:Rating>-1</xmp:Rating>" in sidecar
    assert tree_digest(made.root) == before


def test_a_curation_of_another_album_is_refused(tmp_path: Path, picme_home: Path) -> None:
    made = make_album(tmp_path, get_settings())
    other = tmp_path / "other"
    other.mkdir()
    r = CliRunner().invoke(app, ["review", str(other), "--out", str(made.out), "--export"])
    assert r.exit_code == 2 and "not of" in r.output, r.output


def test_review_help_lists_its_options() -> None:
    r = CliRunner().invoke(app, ["review", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for flag in ("--port", "--host", "--token", "--export", "--export-to", "--recurate"):
        assert flag in r.output


def test_review_looks_for_the_curation_where_curate_writes_it(tmp_path: Path) -> None:
    from picme.curate.run import default_out_dir as curate_default
    from picme.review.session import default_out_dir

    album = (tmp_path / "My Album").resolve()
    assert default_out_dir(album) == curate_default(album)


def test_an_older_curation_reads_its_kept_rejected_photos_as_alternatives(
    picme_home: Path, tmp_path: Path
) -> None:
    from picme.review.session import open_session

    made = make_album(tmp_path, get_settings())
    path = made.out / "curation.json"
    doc = json.loads(path.read_text())
    alternative = next(e for e in doc["files"] if e["status"] == "alternative")
    # The file as picme wrote it before `alternative` existed.
    del doc["album_name"]
    alternative["status"] = "rejected"
    path.write_text(json.dumps(doc))
    session = open_session(made.root, ReviewConfig(out=made.out), get_settings())
    assert session.entries[alternative["path"]]["status"] == "alternative"


def test_a_decision_follows_its_photo_to_a_new_name(picme_home: Path, tmp_path: Path) -> None:
    import hashlib

    from picme.review.session import open_session

    made = make_album(tmp_path, get_settings())
    doc = json.loads((made.out / "curation.json").read_text())
    photo = doc["picks"][0]
    sha = hashlib.sha256((made.root / photo).read_bytes()).hexdigest()
    # Decided while the photo had another name; the curation now lists it as `photo`.
    feedback.record(get_settings(), made.root, "old-name/IMG_1.jpg", sha, "reject")
    feedback.record(get_settings(), made.root, "gone.jpg", "f" * 64, "star")
    session = open_session(made.root, ReviewConfig(out=made.out), get_settings())
    decisions = session.decisions()
    assert decisions[photo].decision == "reject"
    assert "gone.jpg" not in decisions and "old-name/IMG_1.jpg" not in decisions
