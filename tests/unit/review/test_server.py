"""The review application through Starlette's TestClient, on a real curated album:
decisions stored before the answer, the token rule, paths refused, markup escaped."""

from __future__ import annotations

import errno
import hashlib
import html
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from picme.errors import InputError
from picme.lake import feedback
from picme.review.config import ReviewConfig
from picme.review.export import export_review
from picme.review.server import COOKIE, create_app
from picme.review.session import ReviewSession, open_session
from picme.settings import Settings, get_settings
from tests.unit.review.albums import HOSTILE_CAPTION, HOSTILE_NAME, Album, make_album, tree_digest

BASE = "http://127.0.0.1:8765"
TOKEN = "s3cret-Token-0123456789"


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("review")
    made = make_album(base, get_settings(home=base / "curate-home"))
    before = tree_digest(made.root)
    yield made
    # Every test of this module served, decided and exported: the album is untouched.
    assert tree_digest(made.root) == before


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(home=tmp_path / "home")


@pytest.fixture
def session(album: Album, settings: Settings) -> ReviewSession:
    return open_session(album.root, ReviewConfig(out=album.out), settings)


def _client(session: ReviewSession, **kw: Any) -> TestClient:
    return TestClient(create_app(session, **kw), base_url=BASE)


def _photo(session: ReviewSession, status: str) -> str:
    return next(p for p, e in session.entries.items() if e["status"] == status)


def test_a_decision_is_stored_with_the_photos_hash_before_the_answer(
    session: ReviewSession, settings: Settings, album: Album
) -> None:
    client = _client(session)
    path = _photo(session, "duplicate")
    r = client.post("/api/decide", json={"path": path, "decision": "keep"})
    assert r.status_code == 200, r.text
    rows = feedback.read_all(settings, album.root).to_pylist()
    assert [(x["path"], x["decision"]) for x in rows] == [(path, "keep")]
    assert rows[0]["sha256"] == hashlib.sha256((album.root / path).read_bytes()).hexdigest()
    assert rows[0]["album"] == str(album.root.resolve())
    changed = {e["path"]: e for e in r.json()["entries"]}
    assert changed[path]["status"] == "picked" and changed[path]["decision"] == "keep"
    assert path in r.json()["picks"]


def test_reopening_shows_the_decisions_from_the_table(
    album: Album, settings: Settings, session: ReviewSession
) -> None:
    path = _photo(session, "picked")
    assert (
        _client(session).post("/api/decide", json={"path": path, "decision": "reject"}).is_success
    )
    # A new server process: a new session over the same lake.
    fresh = open_session(album.root, ReviewConfig(out=album.out), settings)
    page = _client(fresh).get("/").text
    card = f'data-path="{html.escape(path)}" data-status="rejected" data-decision="reject"'
    assert card in page
    state = {e["path"]: e for e in _client(fresh).get("/api/state").json()["entries"]}
    assert state[path]["status"] == "rejected" and state[path]["picme_status"] == "picked"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"path": "singles/none.jpg", "decision": "keep"}, 404),
        ({"path": "notes.txt", "decision": "keep"}, 400),  # skipped: not a photo
        ({"path": "../private/secret.jpg", "decision": "keep"}, 404),
        ({"path": "escape.jpg", "decision": "keep"}, 404),  # a link out of the album
        ({"path": "singles/captioned.jpg", "decision": "delete"}, 400),
        ({"decision": "keep"}, 400),
    ],
)
def test_bad_decisions_are_refused_and_not_stored(
    session: ReviewSession, settings: Settings, body: dict[str, str], code: int
) -> None:
    r = _client(session).post("/api/decide", json=body)
    assert r.status_code == code, r.text
    assert feedback.read_all(settings).num_rows == 0


@pytest.mark.parametrize(
    "url",
    [
        "/photo/escape.jpg",  # symlink to a file outside the album
        "/photo/..%2Fprivate%2Fsecret.jpg",
        "/photo/%2Fetc%2Fpasswd",
        "/photo/notes.txt",  # in the album, but not a photo
        "/thumb/..%2Fcuration.json",
        "/thumb/curation.json",
        "/static/..%2F__init__.py",
    ],
)
def test_paths_outside_the_album_or_the_curation_are_refused(
    session: ReviewSession, url: str
) -> None:
    r = _client(session).get(url)
    assert r.status_code == 404
    assert b"secret" not in r.content and b"root:" not in r.content


def test_photos_and_thumbnails_of_the_curation_are_served(
    session: ReviewSession, album: Album
) -> None:
    client = _client(session)
    path = "singles/captioned.jpg"
    r = client.get("/photo/singles/captioned.jpg")
    assert r.status_code == 200 and r.content == (album.root / path).read_bytes()
    thumb = session.entries[path]["thumb"]
    assert client.get(f"/thumb/{thumb}").content == (album.out / thumb).read_bytes()
    assert client.get("/static/review.js").status_code == 200


def test_markup_in_a_file_name_or_caption_is_escaped_in_html_and_json(
    session: ReviewSession,
) -> None:
    client = _client(session)
    page = client.get("/")
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "<script>alert" not in page.text
    assert html.escape(HOSTILE_NAME).replace("&#x27;", "&#39;") in page.text.replace(
        "&#34;", "&quot;"
    )
    assert "&lt;script&gt;alert(" in page.text  # the caption, shown as text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    state = client.get("/api/state")
    assert "<" not in state.text and ">" not in state.text
    paths = {e["path"] for e in json.loads(state.text)["entries"]}
    assert HOSTILE_NAME in paths  # the escapes decode back to the exact name
    r = client.post("/api/decide", json={"path": HOSTILE_NAME, "decision": "star"})
    assert r.status_code == 200 and "<" not in r.text
    assert session.captions["singles/captioned.jpg"] == " ".join(HOSTILE_CAPTION.split())


def test_a_token_guards_every_request_and_never_shows(
    session: ReviewSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = _client(session, token=TOKEN, allowed_hosts=None)
    assert client.get("/").status_code == 401
    assert client.get("/api/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/photo/singles/captioned.jpg").status_code == 401
    path = "singles/captioned.jpg"
    r = client.post("/api/decide", json={"path": path, "decision": "keep"})
    assert r.status_code == 401
    ok = client.get("/api/state", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert client.get("/", headers={"X-PicMe-Token": TOKEN}).status_code == 200
    # Opening the page once with ?token= sets a cookie and drops the token from the URL.
    first = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert (
        TOKEN in first.headers["set-cookie"] and "httponly" in first.headers["set-cookie"].lower()
    )
    assert client.cookies.get(COOKIE) == TOKEN
    # The redirect stays on this server, whatever the path looks like.
    odd = client.get(f"http://testserver//evil.example/x?token={TOKEN}", follow_redirects=False)
    assert odd.headers["location"] == "/evil.example/x"
    page = client.get("/")
    assert page.status_code == 200 and TOKEN not in page.text
    decided = client.post("/api/decide", json={"path": path, "decision": "keep"})
    assert decided.status_code == 200 and TOKEN not in decided.text
    # (The test client's own request log shows the URL it was given; the server's don't.)
    server_logs = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert server_logs and not any(TOKEN in m for m in server_logs)


def test_foreign_hosts_cross_origin_posts_and_form_posts_are_refused(
    session: ReviewSession, settings: Settings
) -> None:
    client = _client(session)
    assert client.get("/", headers={"Host": "evil.example:8765"}).status_code == 400
    body = {"path": "singles/captioned.jpg", "decision": "keep"}
    evil = client.post("/api/decide", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    form = client.post("/api/decide", data=body)
    assert form.status_code == 415
    same = client.post("/api/decide", json=body, headers={"Origin": BASE})
    assert same.status_code == 200
    assert feedback.read_all(settings).num_rows == 1


def test_export_applies_the_decisions_and_copies_the_picks(
    session: ReviewSession, album: Album, tmp_path: Path
) -> None:
    client = _client(session)
    alternative = _photo(session, "alternative")  # a good photo outside the top K
    dropped = session.doc["picks"][0]
    for path, decision in ((alternative, "star"), (dropped, "reject")):
        assert client.post("/api/decide", json={"path": path, "decision": decision}).is_success
    seen: list[Any] = []
    out = tmp_path / "reviewed"

    def xmp(folder: Path, entries: list[dict[str, Any]], scorer: str) -> int:
        seen.append(entries)
        folder.mkdir()
        (folder / "marker.xmp").write_text(scorer)
        return len(entries)

    done = export_review(session, out, xmp=xmp)
    doc = json.loads((out / "reviewed.json").read_text())
    assert doc["picks"][0] == alternative and dropped not in doc["picks"]
    assert doc["picks"] == done.picks
    assert len(doc["highlights"]) == len(doc["picks"])
    first = out / doc["highlights"][0]
    assert first.read_bytes() == (album.root / alternative).read_bytes()
    statuses = {e["path"]: e["status"] for e in seen[0]}
    assert statuses[dropped] == "rejected" and statuses[alternative] == "picked"
    starred = next(e for e in seen[0] if e["path"] == alternative)
    assert starred["starred"] and starred["rank"] == 1 and starred["thumb"]  # curation fields
    assert "notes.txt" not in statuses  # skipped files get no sidecar
    assert (out / "xmp" / "marker.xmp").read_text() == "heuristic"  # in the same generation
    assert (out / ".picme-manifest.json").is_file()
    with pytest.raises(InputError, match="inside the album"):
        export_review(session, album.root / "export")


def test_the_export_endpoint_writes_beside_the_album(session: ReviewSession, album: Album) -> None:
    r = _client(session).post("/api/export", json={})
    assert r.status_code == 200, r.text
    folder = Path(r.json()["folder"])
    assert folder == album.root.parent / "Trip 2026-picme-reviewed"
    assert json.loads((folder / "reviewed.json").read_text())["picks"] == r.json()["picks"]


def test_the_page_shows_the_contact_sheets_0_to_100_score(session: ReviewSession) -> None:
    page = _client(session).get("/").text
    cards = re.findall(r'<figure[^>]* data-path="([^"]*)"(.*?)</figure>', page, re.S)
    shown = {html.unescape(p): re.search(r">(\d+)/100<", body) for p, body in cards}
    expected = {p: e["score_100"] for p, e in session.entries.items() if p in shown}
    assert len(expected) >= 5 and len(set(expected.values())) > 1
    assert {p: int(m.group(1)) for p, m in shown.items() if m} == expected


def test_a_full_disk_answers_one_line_and_keeps_nothing_half_written(
    session: ReviewSession, album: Album, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = album.root.parent / "Trip 2026-picme-reviewed"
    before = tree_digest(target) if target.exists() else None

    def full(*args: Any, **kw: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/disk/full")

    client = _client(session)  # raise_server_exceptions: a traceback would fail the test
    monkeypatch.setattr("picme.review.export.shutil.copy2", full)
    r = client.post("/api/export", json={})
    assert r.status_code == 500
    assert r.json() == {
        "error": "cannot write the export: No space left on device (/disk/full); "
        "nothing half-written was kept"
    }
    assert (tree_digest(target) if target.exists() else None) == before
    assert not [p for p in target.parent.iterdir() if ".partial-" in p.name]
    monkeypatch.setattr("picme.lake.feedback.write_parquet_atomic", full)
    r = client.post("/api/decide", json={"path": session.doc["picks"][0], "decision": "keep"})
    assert r.status_code == 500 and "cannot store the decision: No space" in r.json()["error"]
    assert session.decisions() == {}


def test_pick_answers_with_the_groups_former_pick_and_undo_restores_it(
    session: ReviewSession, settings: Settings
) -> None:
    client = _client(session)
    client.get("/")  # the page as the browser saw it
    groups = {g["id"]: g for g in session.doc["groups"]}
    gid, group = next((i, g) for i, g in groups.items() if "escape.jpg" not in g["members"])
    sibling = next(m for m in group["members"] if m != group["kept"])
    r = client.post("/api/decide", json={"path": sibling, "decision": "pick"})
    changed = {e["path"]: e for e in r.json()["entries"]}
    assert changed[sibling]["status"] == "picked" and changed[sibling]["group"] == gid
    assert changed[group["kept"]]["status"] == "duplicate"
    undo = client.post("/api/decide", json={"path": sibling, "decision": "clear"})
    changed = {e["path"]: e for e in undo.json()["entries"]}
    assert changed[sibling]["status"] == "duplicate" and changed[sibling]["decision"] is None
    assert changed[group["kept"]]["status"] == session.applied().by_path()[group["kept"]].status
    assert changed[group["kept"]]["status"] != "duplicate"
    decisions = [r["decision"] for r in feedback.read_all(settings).to_pylist()]
    assert decisions == ["pick", "clear"]
