"""The scraper against a fake Instagram at the HTTP boundary (real instaloader above it)."""

from __future__ import annotations

import fcntl
import json
import logging
import lzma
import pickle
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import instaloader
import pytest
from typer.testing import CliRunner

from picme.errors import InputError
from picme.scrape.config import ScrapeConfig
from picme.scrape.errors import CheckpointRequired, RateLimited, ScrapeError, SessionError
from picme.scrape.rate import Politeness
from picme.scrape.run import scrape, scrape_targets
from picme.settings import Settings, get_settings
from picme.util import logsafe
from tests.fixtures.scrape.fake_instagram import CDN, FakeAccount, FakeInstagram, FakePost

NOW = int(time.time())
DAY = 86400
SECRET_COOKIES = {
    "sessionid": "987654321%3AsEcReTsEsSiOnVaLuE%3A27",
    "csrftoken": "CsrfSecretToken0123456789",
    "ds_user_id": "987654321",
    "mid": "ZmIdSecretValue42",
    "rur": '"CLN\\054987654321\\054secretrur"',
}
POST_FILE_SUFFIXES = (".json.xz", ".jpg", ".txt", ".mp4")


@pytest.fixture(autouse=True)
def _clean_secrets() -> None:
    logsafe.forget_secrets()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInstagram:
    return FakeInstagram().install(monkeypatch)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(home=tmp_path / "home", session_dir=tmp_path / "sessions")


def quiet(**kw: object) -> Politeness:
    """No instaloader pauses; rate-control waits are recorded, not slept."""
    waits: list[float] = []
    p = Politeness(sleep=False, max_connection_attempts=2, sleeper=waits.append)
    for key, value in kw.items():
        setattr(p, key, value)
    p.waits = waits  # type: ignore[attr-defined]
    return p


def add_feed(fake: FakeInstagram, name: str, ages_days: list[float], **kw: object) -> FakeAccount:
    """An account whose posts (newest first) were taken ``ages_days`` ago; every third post
    is a two-image carousel and every fifth a video."""
    pk = 1000 + len(fake.accounts)
    posts = []
    for i, age in enumerate(ages_days):
        kind = "video" if i % 5 == 4 else "sidecar" if i % 3 == 1 else "image"
        posts.append(
            FakePost(
                shortcode=f"{name[:3].upper()}{i:03d}Xy",
                pk=pk * 1000 + i,
                taken_at=int(NOW - age * DAY),
                kind=kind,
                children=2,
                likes=100 + i,
            )
        )
    return fake.add_account(FakeAccount(name, pk, posts=posts, **kw))  # type: ignore[arg-type]


def write_session(settings: Settings, user: str, fake: FakeInstagram) -> None:
    assert settings.session_dir is not None
    settings.session_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.session_dir / f"session-{user}", "wb") as fh:
        pickle.dump(SECRET_COOKIES, fh)
    fake.sessions[SECRET_COOKIES["sessionid"]] = user


def post_files(target_dir: Path) -> dict[str, list[str]]:
    """Files of each post in raw/<target>/ (top level), by shortcode."""
    out: dict[str, list[str]] = {}
    for path in sorted(target_dir.iterdir()):
        if path.is_file() and "_UTC_" in path.name:
            code = path.name.split("_UTC_")[1].split(".")[0]
            code = code.rsplit("_", 1)[0] if code[-2:] in ("_1", "_2") else code
            out.setdefault(code, []).append(path.name)
    return out


def assert_complete_posts(target_dir: Path, account: FakeAccount, codes: list[str]) -> None:
    """Exactly the posts ``codes`` are in raw/, each once and whole, nothing else."""
    files = post_files(target_dir)
    assert sorted(files) == sorted(codes)
    by_code = {p.shortcode: p for p in account.posts}
    for code, names in files.items():
        post = by_code[code]
        images = [n for n in names if n.endswith(".jpg")]
        assert len(images) == (post.children if post.kind == "sidecar" else 1), names
        assert sum(n.endswith(".json.xz") for n in names) == 1, names
        assert all(n.endswith(POST_FILE_SUFFIXES) for n in names), names
    leftovers = [p.name for p in target_dir.iterdir() if p.name.endswith((".temp", ".tmp"))]
    assert leftovers == []


def code_of(url: str) -> str:
    """Shortcode in a fake CDN image URL (``.../<shortcode>_<index>_n.jpg?...``)."""
    return urllib.parse.urlsplit(url).path.split("/")[-1].rsplit("_", 2)[0]


def load_post(path: Path) -> instaloader.Post:
    context = instaloader.InstaloaderContext(sleep=False, quiet=True)
    post = instaloader.load_structure_from_file(context, str(path))
    assert isinstance(post, instaloader.Post)
    return post


# --------------------------------------------------------------------------- layout


def test_first_run_writes_instaloader_layout_and_a_profile_snapshot(
    fake: FakeInstagram, settings: Settings
) -> None:
    account = add_feed(fake, "alice", [0.2, 1, 2, 30, 40, 50, 60])
    report = scrape_targets(profiles=["@Alice"], settings=settings, politeness=quiet())

    target = settings.raw_dir / "alice"
    codes = [p.shortcode for p in account.posts]
    assert_complete_posts(target, account, codes)
    assert report.posts_new == 7 and report.errors == [] and report.targets[0].complete
    # Carousels keep every image; the video keeps its thumbnail but no .mp4 by default.
    assert report.images == sum(p.children if p.kind == "sidecar" else 1 for p in account.posts)
    assert not list(target.glob("*.mp4"))
    assert not any(s.kind == "video" for s in fake.seen)

    meta = next(target.glob(f"*_UTC_{codes[1]}.json.xz"))
    post = load_post(meta)
    assert (post.shortcode, post.likes, post.typename) == (codes[1], 101, "GraphSidecar")
    assert post.date_utc == datetime.fromtimestamp(account.posts[1].taken_at, UTC).replace(
        tzinfo=None
    )
    stored = json.loads(lzma.decompress(meta.read_bytes()))["node"]
    assert stored["owner"]["edge_followed_by"]["count"] == account.followers
    assert (target / meta.name.replace(".json.xz", ".txt")).read_text().startswith("a caption")

    snapshots = list((target / "profile_snapshots").glob("*.json"))
    assert len(snapshots) == 1
    snap = json.loads(snapshots[0].read_text())
    assert snap["username"] == "alice" and snap["userid"] == account.pk
    assert (snap["followers"], snap["followees"], snap["mediacount"]) == (5000, 300, 7)
    assert snap["observed_at"] == report.run_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert snapshots[0].name == report.run_at.strftime("%Y%m%dT%H%M%SZ") + ".json"
    assert (target / f"alice_{account.pk}.json.xz").is_file()
    # Nothing besides the target folder in raw/, nothing left in staging.
    assert [p.name for p in settings.raw_dir.iterdir()] == ["alice"]
    staging = settings.home / "state" / "scrape" / "staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))


def test_videos_are_downloaded_only_when_asked(fake: FakeInstagram, settings: Settings) -> None:
    account = add_feed(fake, "vid", [1, 2, 3, 4, 5])  # the fifth is a video
    scrape_targets(profiles=["vid"], download_videos=True, settings=settings, politeness=quiet())
    video = account.posts[4].shortcode
    assert [p.name for p in (settings.raw_dir / "vid").glob("*.mp4")] == [
        next((settings.raw_dir / "vid").glob(f"*{video}.json.xz")).name[: -len(".json.xz")] + ".mp4"
    ]


def test_max_posts_and_since_bound_a_pass(fake: FakeInstagram, settings: Settings) -> None:
    account = add_feed(fake, "bob", [1, 2, 3, 10, 11, 12, 13])
    report = scrape_targets(profiles=["bob"], max_posts=2, settings=settings, politeness=quiet())
    assert report.posts_new == 2
    assert sorted(post_files(settings.raw_dir / "bob")) == [p.shortcode for p in account.posts[:2]]

    other = get_settings(home=settings.home.parent / "other")
    since = datetime.now(UTC) - timedelta(days=5)
    report = scrape_targets(profiles=["bob"], since=since, settings=other, politeness=quiet())
    assert sorted(post_files(other.raw_dir / "bob")) == [p.shortcode for p in account.posts[:3]]
    # The pass ended at the first post before `since` (pinned posts aside): no more fetched.
    assert account.posts[4].shortcode not in fake.post_meta_codes()


# --------------------------------------------------------------------------- incremental


def test_second_run_fetches_only_new_posts_and_refreshes_recent_likes(
    fake: FakeInstagram, settings: Settings
) -> None:
    account = add_feed(fake, "carol", [1, 2, 20, 21, 22, 23, 24, 25])
    first = scrape_targets(profiles=["carol"], settings=settings, politeness=quiet())
    assert first.posts_new == 8
    target = settings.raw_dir / "carol"
    before = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}

    new = [FakePost(f"NEW{i}Xy", 77000 + i, NOW - 3600 * (i + 1), likes=5) for i in range(2)]
    account.posts[:0] = new
    account.posts[2].likes = 900  # a recent post kept gaining likes
    account.followers = 5100
    fake.seen.clear()
    fake.served.clear()
    later = datetime.now(UTC) + timedelta(hours=3)
    second = scrape_targets(profiles=["carol"], settings=settings, politeness=quiet(), now=later)

    assert second.posts_new == 2 and second.posts_refreshed == 2
    assert_complete_posts(target, account, [p.shortcode for p in account.posts])
    # Only the new posts' images were downloaded; older files are untouched.
    assert sorted(code_of(u) for u in fake.served) == ["NEW0Xy", "NEW1Xy"]
    assert {n: (target / n).read_bytes() for n in before} == before
    # The walk stopped at the first old post it had seen: new, new, 2 recent, 1 old.
    assert fake.post_meta_codes() == [p.shortcode for p in account.posts[:5]]

    refresh = target / "refresh" / later.strftime("%Y%m%dT%H%M%SZ")
    observed = {p.name.split("_UTC_")[1][: -len(".json.xz")]: p for p in refresh.iterdir()}
    assert sorted(observed) == sorted(p.shortcode for p in account.posts[2:4])
    assert load_post(observed[account.posts[2].shortcode]).likes == 900
    snapshots = sorted((target / "profile_snapshots").glob("*.json"))
    assert [json.loads(p.read_text())["followers"] for p in snapshots] == [5000, 5100]

    # A third run right after: nothing new, refreshes not yet due, no image requests.
    fake.served.clear()
    third = scrape_targets(profiles=["carol"], settings=settings, politeness=quiet(), now=later)
    assert (third.posts_new, third.posts_refreshed, len(fake.served)) == (0, 0, 0)


# --------------------------------------------------------------------------- politeness


def _meta_of(code: str):  # noqa: ANN202
    return lambda seen: seen.kind == "post-meta" and seen.variables["shortcode"] == code


def test_429_then_success_waits_through_instaloaders_backoff(
    fake: FakeInstagram, settings: Settings
) -> None:
    account = add_feed(fake, "dave", [1, 2, 3, 4])
    third = account.posts[2].shortcode
    fake.fail(_meta_of(third), status=429)
    polite = quiet(max_wait_s=3600)
    report = scrape_targets(profiles=["dave"], settings=settings, politeness=polite)

    assert report.posts_new == 4 and report.errors == []
    assert fake.post_meta_codes().count(third) == 2  # refused once, then served
    # The retry waited as long as instaloader's 429 handling asked (minutes, not seconds).
    assert max(polite.waits) > 600  # type: ignore[attr-defined]
    assert_complete_posts(settings.raw_dir / "dave", account, [p.shortcode for p in account.posts])


@pytest.mark.parametrize(
    ("status", "body", "times"),
    [
        (429, None, 1),
        (401, {"status": "fail", "message": "Please wait a few minutes before you try again."}, 2),
    ],
    ids=["429-long-wait", "401-please-wait"],
)
def test_rate_limit_stops_the_run_and_the_next_run_resumes(
    fake: FakeInstagram, settings: Settings, status: int, body: object, times: int
) -> None:
    account = add_feed(fake, "erin", [1, 2, 3, 4, 5])
    codes = [p.shortcode for p in account.posts]
    fake.fail(_meta_of(codes[2]), status=status, body=body, times=times)
    with pytest.raises(RateLimited) as caught:
        scrape_targets(profiles=["erin"], settings=settings, politeness=quiet(max_wait_s=60))
    message = str(caught.value)
    assert "\n" not in message and "run again" in message
    assert caught.value.report is not None and caught.value.report.posts_new == 2
    if status == 429:
        assert caught.value.wait_s is not None and caught.value.wait_s > 60
    assert_complete_posts(settings.raw_dir / "erin", account, codes[:2])

    fake.seen.clear()
    report = scrape_targets(profiles=["erin"], settings=settings, politeness=quiet())
    assert report.posts_new == 3
    assert_complete_posts(settings.raw_dir / "erin", account, codes)
    assert set(fake.served.values()) == {1}  # no image downloaded twice
    # Resumed where it stopped: the second post was not looked up again (the first one is,
    # once: instaloader re-reads the first post of a thawed feed to date it).
    assert fake.post_meta_codes()[0] == codes[2] and codes[1] not in fake.post_meta_codes()


@pytest.mark.parametrize("resume_file", [True, False], ids=["ctrl-c", "killed"])
def test_crash_mid_post_then_resume_without_duplicates(
    fake: FakeInstagram, settings: Settings, resume_file: bool
) -> None:
    account = add_feed(fake, "fred", [1, 2, 3, 4, 5, 6, 7, 8, 9])
    codes = [p.shortcode for p in account.posts]
    carousel = account.posts[7]  # a two-image carousel on page 3: crash after its first image
    assert carousel.kind == "sidecar"
    crash: BaseException = KeyboardInterrupt() if resume_file else RuntimeError("power cut")
    fake.fail(lambda s: s.host == CDN and f"{carousel.shortcode}_2_" in s.path, error=crash)
    with pytest.raises(type(crash)):
        scrape_targets(profiles=["fred"], settings=settings, politeness=quiet())
    target = settings.raw_dir / "fred"
    assert_complete_posts(target, account, codes[:7])  # nothing of the half post in raw/
    resume = settings.home / "state" / "scrape" / "resume"
    assert any(resume.rglob("*.json.xz"))
    if not resume_file:  # a killed process leaves no resume file
        for path in resume.rglob("*.json.xz"):
            path.unlink()

    fake.served.clear()
    report = scrape_targets(profiles=["fred"], settings=settings, politeness=quiet())
    assert report.posts_new == 2
    assert_complete_posts(target, account, codes)
    # Only the unfinished and remaining posts were downloaded the second time.
    fetched = sorted({code_of(u) for u in fake.served})
    assert fetched == sorted(codes[7:])
    assert not any(resume.rglob("*.json.xz"))  # a finished pass removes its resume file


def test_request_budget_stops_cleanly_and_the_next_run_continues(
    fake: FakeInstagram, settings: Settings
) -> None:
    account = add_feed(fake, "gina", [1, 2, 3, 4, 5, 6])
    tight = settings.model_copy(update={"max_requests": 9})
    report = scrape_targets(profiles=["gina"], settings=tight, politeness=quiet())
    assert report.requests == 9 and report.stopped and "budget" in report.stopped
    assert "stopped early" in report.summary()
    assert 0 < report.posts_new < 6
    codes = [p.shortcode for p in account.posts]
    assert_complete_posts(settings.raw_dir / "gina", account, codes[: report.posts_new])

    report = scrape_targets(profiles=["gina"], settings=settings, politeness=quiet())
    assert report.stopped is None
    assert_complete_posts(settings.raw_dir / "gina", account, codes)


def test_the_config_budget_replaces_the_settings_one(
    fake: FakeInstagram, settings: Settings
) -> None:
    add_feed(fake, "gabe", [1, 2, 3, 4, 5, 6])
    config = ScrapeConfig(profiles=["gabe"], max_posts=4, max_requests=9)
    report = scrape(config, settings, politeness=quiet())
    assert (report.max_requests, report.requests) == (9, 9) and report.stopped
    assert settings.max_requests == 2000  # the caller's settings are left alone


def test_a_second_scrape_on_the_same_home_is_refused(
    fake: FakeInstagram, settings: Settings
) -> None:
    add_feed(fake, "hank", [1])
    lock = settings.home / "state" / "scrape" / "scrape.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ScrapeError, match="another `picme scrape` is running"):
            scrape_targets(profiles=["hank"], settings=settings, politeness=quiet())
    assert scrape_targets(profiles=["hank"], settings=settings, politeness=quiet()).posts_new == 1


# --------------------------------------------------------------------------- clear failures


def test_missing_profile_is_reported_and_other_targets_go_on(
    fake: FakeInstagram, settings: Settings
) -> None:
    add_feed(fake, "ivy", [1, 2])
    report = scrape_targets(profiles=["ghost", "ivy"], settings=settings, politeness=quiet())
    assert report.targets[1].posts_new == 2
    assert report.errors == [
        "ghost: profile 'ghost' does not exist (or has blocked you): check the spelling"
    ]
    assert not (settings.raw_dir / "ghost").exists()


@pytest.mark.parametrize("how", ["private", "redirect"])
def test_login_required_says_to_use_a_session(
    fake: FakeInstagram, settings: Settings, how: str
) -> None:
    add_feed(fake, "jade", [1, 2], private=how == "private")
    if how == "redirect":  # Instagram sends anonymous visitors it distrusts to the login page
        login_page = "https://www.instagram.com/accounts/login/?next=/jade/"
        fake.fail(lambda s: s.kind == "profile-page", status=302, headers={"Location": login_page})
    report = scrape_targets(profiles=["jade"], settings=settings, politeness=quiet())
    (error,) = report.errors
    assert "--login USER" in error and "instaloader --login" in error and "\n" not in error
    assert ("is private" in error) == (how == "private")
    assert report.posts_new == 0 and not (settings.raw_dir / "jade").exists()


@pytest.mark.parametrize("followed", [False, True])
def test_private_profile_needs_a_session_that_follows_it(
    fake: FakeInstagram, settings: Settings, followed: bool
) -> None:
    account = add_feed(fake, "kate", [1, 2, 3, 4], private=True, followed_by_viewer=followed)
    write_session(settings, "viewer", fake)
    report = scrape_targets(
        profiles=["kate"], login="viewer", settings=settings, politeness=quiet()
    )
    if followed:
        assert report.errors == [] and report.posts_new == 4
        codes = [p.shortcode for p in account.posts]
        assert_complete_posts(settings.raw_dir / "kate", account, codes)
        # Logged in, the timeline carries whole posts: no per-post metadata requests.
        assert fake.kinds()["post-meta"] == 0
    else:
        (error,) = report.errors
        assert error == (
            "kate: profile 'kate' is private and viewer does not follow it: follow it from "
            "that account, or leave it out"
        )
        assert not (settings.raw_dir / "kate").exists()


def test_hashtags_need_a_login_and_work_with_one(fake: FakeInstagram, settings: Settings) -> None:
    owner = add_feed(fake, "liam", [1, 2, 3, 4])
    fake.hashtags["sunset"] = [(owner, p) for p in owner.posts if p.kind == "image"]
    report = scrape_targets(hashtags=["#Sunset"], settings=settings, politeness=quiet())
    (error,) = report.errors
    assert error.startswith("#sunset: hashtag #sunset needs a login") and "--login" in error
    assert not any(fake.seen)  # refused before asking Instagram anything

    write_session(settings, "viewer", fake)
    report = scrape_targets(
        hashtags=["sunset"], login="viewer", settings=settings, politeness=quiet()
    )
    assert report.errors == [] and report.posts_new == len(fake.hashtags["sunset"])
    assert sorted(post_files(settings.raw_dir / "#sunset")) == sorted(
        p.shortcode for _, p in fake.hashtags["sunset"]
    )


def test_checkpoint_ends_the_run_with_what_to_do(fake: FakeInstagram, settings: Settings) -> None:
    add_feed(fake, "mona", [1, 2])
    write_session(settings, "viewer", fake)
    fake.fail(
        lambda s: s.kind == "profile-meta",
        status=400,
        body={"message": "checkpoint_required", "status": "fail"},
    )
    with pytest.raises(CheckpointRequired) as caught:
        scrape_targets(profiles=["mona"], login="viewer", settings=settings, politeness=quiet())
    message = str(caught.value)
    assert "security check" in message and "instaloader --login viewer" in message
    assert isinstance(caught.value, InputError)  # a retry cannot help: not retried by flows


@pytest.mark.parametrize("problem", ["missing", "garbage", "expired"])
def test_session_file_problems_are_explained(
    fake: FakeInstagram, settings: Settings, problem: str
) -> None:
    add_feed(fake, "nina", [1])
    assert settings.session_dir is not None
    if problem != "missing":
        write_session(settings, "viewer", fake)
    if problem == "garbage":
        (settings.session_dir / "session-viewer").write_bytes(b"not a pickle")
    if problem == "expired":
        fake.sessions.clear()
    with pytest.raises(SessionError) as caught:
        scrape_targets(profiles=["nina"], login="viewer", settings=settings, politeness=quiet())
    message = str(caught.value)
    assert "instaloader --login viewer" in message and "\n" not in message
    assert not any(v in message for v in SECRET_COOKIES.values())
    assert not (settings.raw_dir / "nina").exists()


def test_bad_arguments_are_refused_before_any_request(
    fake: FakeInstagram, settings: Settings
) -> None:
    with pytest.raises(InputError, match="not an Instagram username"):
        scrape_targets(profiles=["no spaces!"], settings=settings)
    with pytest.raises(InputError, match="nothing to scrape"):
        scrape_targets(settings=settings)
    with pytest.raises(InputError, match="--max-posts"):
        scrape_targets(profiles=["ok"], max_posts=0, settings=settings)
    with pytest.raises(InputError) as caught:
        scrape_targets(profiles=["ok"], login="viewer:hunter2pass", settings=settings)
    assert "hunter2pass" not in str(caught.value) and "never a password" in str(caught.value)
    assert fake.seen == []


def test_cli_reports_a_missing_profile_in_one_line(
    fake: FakeInstagram, picme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from picme.cli.app import app

    monkeypatch.setattr(time, "sleep", lambda s: None)  # instaloader's polite pauses
    add_feed(fake, "olga", [1])
    result = CliRunner().invoke(app, ["scrape", "--profile", "ghost", "--profile", "olga"])
    assert result.exit_code == 2
    assert "1 new posts" in result.stdout
    assert "error: ghost: profile 'ghost' does not exist" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# --------------------------------------------------------------------------- secrets


def _all_text_under(root: Path) -> str:
    chunks = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.name.endswith(".xz"):
                data = lzma.decompress(data)
            chunks.append(data.decode("utf-8", "replace"))
    return "\n".join(chunks)


def test_no_credential_reaches_logs_reports_or_files(
    fake: FakeInstagram, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    account = add_feed(fake, "pia", [1, 2, 3, 4, 5, 6], private=True, followed_by_viewer=True)
    write_session(settings, "viewer", fake)
    # An error page that echoes the session cookie back lands in an instaloader message.
    echoed = {"status": "fail", "message": f"bad cookie sessionid={SECRET_COOKIES['sessionid']}"}
    fake.fail(lambda s: s.host == CDN, status=500, body=echoed, times=2)
    caplog.set_level(logging.DEBUG)
    report = scrape_targets(profiles=["pia"], login="viewer", settings=settings, politeness=quiet())

    # The session was really used (the logged-in timeline carried the cookie) ...
    timeline = [s for s in fake.seen if s.kind == "timeline"]
    assert timeline and timeline[0].cookies["sessionid"] == SECRET_COOKIES["sessionid"]
    # ... the echoed error was reported, masked ...
    assert len(report.errors) == 1 and "sessionid=***" in report.errors[0]
    assert report.posts_new == len(account.posts) - 1
    # ... and no cookie value is in the logs, the report, raw/ or the state folder.
    written = _all_text_under(settings.home)
    texts = {"logs": caplog.text, "report": report.summary() + str(report.errors), "files": written}
    for where, text in texts.items():
        for name, value in SECRET_COOKIES.items():
            assert value not in text, f"{name} leaked into {where}"
    assert "instaloader:" in caplog.text  # instaloader's own messages were captured too


def test_posts_saved_by_plain_instaloader_are_recognised(
    fake: FakeInstagram, settings: Settings
) -> None:
    """A tree first downloaded with instaloader's default names (``<date>_UTC.json.xz``,
    no shortcode) is continued, not downloaded again."""
    account = add_feed(fake, "rosa", [1, 2, 3])
    old = account.posts[1]
    target = settings.raw_dir / "rosa"
    target.mkdir(parents=True)
    taken = datetime.fromtimestamp(old.taken_at, UTC)
    node = {"shortcode": old.shortcode, "taken_at_timestamp": old.taken_at}
    context = instaloader.InstaloaderContext(sleep=False, quiet=True)
    name = f"{taken:%Y-%m-%d_%H-%M-%S}_UTC.json.xz"
    instaloader.save_structure_to_file(instaloader.Post(context, node), str(target / name))

    report = scrape_targets(profiles=["rosa"], settings=settings, politeness=quiet())
    assert (report.posts_new, report.targets[0].posts_known) == (2, 1)
    assert old.shortcode not in {code_of(u) for u in fake.served}
    assert not list(target.glob(f"*_UTC_{old.shortcode}*"))
