"""Ingest of instaloader trees written with instaloader's own structures."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from picme.lake import ingest as ingest_module
from picme.lake import tables as lake
from picme.lake.config import IngestConfig
from picme.lake.ingest import ingest, ingest_raw
from picme.lake.parse import classify_likes
from picme.settings import get_settings
from picme.synthetic.posts import (
    make_post_node,
    save_profile,
    write_post,
    write_profile_snapshot,
    write_refresh,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SCRAPE = datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)


def node(shortcode: str, hours: int, **kw: object) -> dict:
    args: dict = {
        "shortcode": shortcode,
        "mediaid": 1000 + hours,
        "owner_username": "alice",
        "owner_id": 42,
        "followers": 5000,
        "taken_at": T0 + timedelta(hours=hours),
        "likes": 120,
        "comments": 4,
    }
    args.update(kw)
    return make_post_node(**args)


def build_tree(root: Path) -> dict[str, Path]:
    """One target folder with one post of every kind ingest must understand."""
    alice = root / "alice"
    files = {
        "single": write_post(
            alice,
            node(
                "SINGLE",
                0,
                caption="Morning in #Lisbon with @Bob.K and #sunset",
                tagged_users=["carol"],
                location="Lisbon, Portugal",
                accessibility_caption="May be an image of 1 person",
                sponsor="brand.x",
            ),
            observed_at=SCRAPE,
        ),
        "carousel": write_post(
            alice,
            node("CAROUSEL", 1, typename="GraphSidecar", n_children=3, likes=300),
            observed_at=SCRAPE,
        ),
        "video": write_post(
            alice,
            node("VIDEO", 2, typename="GraphVideo", likes=80, video_view_count=999),
            observed_at=SCRAPE,
        ),
        "hidden": write_post(alice, node("HIDDEN", 3, likes=-1), observed_at=SCRAPE),
        # 5000 followers and 2 likes: Instagram's token count for hidden likes.
        "tiny": write_post(alice, node("TINY", 4, likes=2, comments=0), observed_at=SCRAPE),
        "legacy": write_post(alice, node("LEGACY", 5, likes=77), observed_at=SCRAPE, legacy=True),
    }
    # A small account whose 2 likes are real, and whose file (like instaloader 4.16's) carries
    # no follower count: followers come from the profile snapshot before the observation.
    bob = root / "bob.k"
    files["small"] = write_post(
        bob,
        node("SMALL", 6, owner_username="bob.k", owner_id=7, followers=None, likes=2, comments=0),
        observed_at=SCRAPE,
    )
    write_profile_snapshot(
        bob,
        username="bob.k",
        userid=7,
        followers=180,
        followees=50,
        mediacount=1,
        observed_at=SCRAPE - timedelta(days=2),
    )
    write_profile_snapshot(
        bob,
        username="bob.k",
        userid=7,
        followers=999,
        followees=50,
        mediacount=1,
        observed_at=SCRAPE + timedelta(days=30),
    )
    save_profile(
        username="alice",
        userid=42,
        followers=5000,
        followees=10,
        filename=alice / "alice_42.json.xz",
    )
    return files


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    root = tmp_path / "raw"
    return root, build_tree(root)


def posts_by_shortcode(settings) -> dict[str, dict]:
    table = lake.read_table(settings, "posts")
    assert table is not None
    return {r["shortcode"]: r for r in table.to_pylist()}


def test_ingest_reads_every_post_kind(picme_home: Path, tree) -> None:
    root, files = tree
    settings = get_settings()
    report = ingest_raw([root], settings)
    assert report.skipped == []
    assert report.posts_new == 7
    posts = posts_by_shortcode(settings)
    assert set(posts) == {"SINGLE", "CAROUSEL", "VIDEO", "HIDDEN", "TINY", "LEGACY", "SMALL"}

    single = posts["SINGLE"]
    assert single["owner_username"] == "alice" and single["owner_id"] == 42
    assert single["taken_at"] == T0
    assert single["observed_at"] == SCRAPE
    assert single["likes"] == 120 and single["comments"] == 4 and single["followers"] == 5000
    assert single["hashtags"] == ["lisbon", "sunset"]
    assert single["mentions"] == ["bob.k"]
    assert single["tagged_users"] == ["carol"]
    assert single["location"] == "Lisbon, Portugal"
    assert single["is_sponsored"] is True and single["is_video"] is False
    assert single["accessibility_caption"] == "May be an image of 1 person"
    assert single["typename"] == "GraphImage" and single["n_images"] == 1
    assert single["image_path"] == str(files["single"].with_name("2026-03-01_12-00-00_UTC.jpg"))

    carousel = posts["CAROUSEL"]
    assert carousel["typename"] == "GraphSidecar" and carousel["n_images"] == 3
    assert carousel["image_path"].endswith("_UTC_1.jpg")
    video = posts["VIDEO"]
    assert video["is_video"] is True and video["video_view_count"] == 999
    assert Path(video["image_path"]).is_file()

    assert posts["HIDDEN"]["likes"] is None and posts["HIDDEN"]["likes_raw"] == -1
    assert posts["TINY"]["likes"] is None and posts["TINY"]["likes_hidden"] is True
    assert posts["LEGACY"]["likes"] == 77 and posts["LEGACY"]["comments"] == 4
    assert posts["SMALL"]["likes"] == 2 and posts["SMALL"]["followers"] == 180

    media = lake.read_table(settings, "media")
    assert media is not None
    rows = {r["path"]: r for r in media.to_pylist()}
    assert len(rows) == 1 + 3 + 1 + 1 + 1 + 1 + 1
    cover = rows[carousel["image_path"]]
    assert cover["shortcode"] == "CAROUSEL" and cover["idx"] == 0
    assert cover["sha256"] == hashlib.sha256(Path(cover["path"]).read_bytes()).hexdigest()
    assert (cover["width"], cover["height"], cover["decodable"]) == (64, 48, True)
    assert sorted(r["idx"] for r in rows.values() if r["shortcode"] == "CAROUSEL") == [0, 1, 2]

    profiles = lake.read_table(settings, "profiles")
    assert profiles is not None
    assert {(r["username"], r["followers"]) for r in profiles.to_pylist()} == {
        ("alice", 5000),
        ("bob.k", 180),
        ("bob.k", 999),
    }


def test_second_ingest_adds_nothing_and_rewrites_nothing(picme_home: Path, tree) -> None:
    root, _ = tree
    settings = get_settings()
    ingest_raw([root], settings)
    files = sorted(p for p in settings.lake_dir.rglob("*.parquet"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    again = ingest_raw([root], settings)
    assert (again.posts_new, again.posts_updated, again.observations_new) == (0, 0, 0)
    assert (again.profiles_new, again.media_new) == (0, 0)
    assert again.posts_unchanged == 7
    # Nothing changed on disk, so nothing was even parsed.
    assert again.files_read == 0 and again.files_unchanged == 8
    assert sorted(settings.lake_dir.rglob("*.parquet")) == files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before


def test_refresh_updates_likes_and_keeps_history(picme_home: Path, tree) -> None:
    root, _ = tree
    settings = get_settings()
    ingest_raw([root], settings)
    later = SCRAPE + timedelta(days=2)
    write_refresh(root / "alice", node("SINGLE", 0, likes=150, followers=5100), observed_at=later)
    # An observation older than the stored one adds history but must not roll likes back.
    write_refresh(root / "alice", node("VIDEO", 2, likes=10), observed_at=SCRAPE - timedelta(1))
    report = ingest_raw([root], settings)
    assert report.posts_new == 0
    assert report.posts_updated == 1
    assert report.observations_new == 2
    posts = posts_by_shortcode(settings)
    assert posts["SINGLE"]["likes"] == 150 and posts["SINGLE"]["followers"] == 5100
    assert posts["SINGLE"]["observed_at"] == later
    assert posts["VIDEO"]["likes"] == 80
    obs = lake.read_table(settings, "post_observations")
    assert obs is not None
    history = sorted(
        (r["observed_at"], r["likes"]) for r in obs.to_pylist() if r["shortcode"] == "SINGLE"
    )
    assert history == [(SCRAPE, 120), (later, 150)]
    assert len(lake.table_files(settings, "post_observations")) == 2
    third = ingest_raw([root], settings)
    assert (third.posts_updated, third.observations_new) == (0, 0)


def test_duckdb_reads_the_lake(picme_home: Path, tree) -> None:
    root, _ = tree
    settings = get_settings()
    ingest_raw([root], settings)
    lake_dir = settings.lake_dir.as_posix()
    con = duckdb.connect()
    n, likes = con.execute(
        f"select count(*), sum(likes) from read_parquet('{lake_dir}/posts/**/*.parquet')"
    ).fetchone()
    assert n == 7 and likes == 120 + 300 + 80 + 77 + 2
    n_obs = con.execute(
        f"select count(*) from read_parquet('{lake_dir}/post_observations/*.parquet')"
    ).fetchone()[0]
    assert n_obs == 7


def test_the_config_defaults_to_raw_and_sets_the_workers(
    picme_home: Path, tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = tree
    settings = get_settings()
    settings.raw_dir.parent.mkdir(parents=True, exist_ok=True)
    root.rename(settings.raw_dir)
    seen: list[int] = []
    real = ingest_module.MediaChecker

    def checker(paths: list[str], workers: int) -> object:
        seen.append(workers)
        return real(paths, workers)

    monkeypatch.setattr(ingest_module, "MediaChecker", checker)
    report = ingest(IngestConfig(workers=3), settings)
    assert report.posts_new == 7 and seen == [3]


def test_target_folder_can_be_given_directly(picme_home: Path, tree) -> None:
    root, _ = tree
    report = ingest_raw([root / "bob.k"], get_settings())
    assert report.posts_new == 1 and report.targets == 1


@pytest.mark.parametrize(
    ("raw", "followers", "comments", "expected"),
    [
        (-1, 100, 0, (None, True)),
        (3, 50_000, 10, (None, True)),
        (2, 200, 5, (None, True)),
        (2, 200, 0, (2, False)),
        (4, 50_000, 0, (4, False)),
        (None, 100, 0, (None, False)),
    ],
)
def test_classify_likes(raw, followers, comments, expected) -> None:
    assert classify_likes(raw, followers, comments) == expected


def test_cli_ingest(picme_home: Path, tree) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    root, _ = tree
    result = CliRunner().invoke(app, ["ingest", str(root)])
    assert result.exit_code == 0, result.output
    assert "7 new posts" in result.output
    missing = CliRunner().invoke(app, ["ingest", str(root / "nope")])
    assert missing.exit_code == 2
    assert "no such folder" in missing.output
    assert "Traceback" not in missing.output


def test_shortcode_file_names_and_a_post_in_two_folders(picme_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "raw"
    taken = "2026-03-01_12-00-00_UTC"
    # picme scrape's pattern, with a shortcode that itself ends in _<digits>.
    write_post(
        root / "alice",
        node("Cx_12", 0, typename="GraphSidecar", n_children=2),
        observed_at=SCRAPE,
        basename=f"{taken}_Cx_12",
    )
    # The same post seen later from a hashtag feed; hashtag nodes may lack the owner's name.
    tagged = node("Cx_12", 0, typename="GraphSidecar", n_children=2, likes=500)
    write_post(root / "#sunset", tagged, observed_at=SCRAPE + timedelta(hours=5))
    orphan = node("NOOWNER", 9)
    del orphan["owner"]["username"]
    meta = write_post(root / "#sunset", orphan, observed_at=SCRAPE)
    settings = get_settings()
    report = ingest_raw([root], settings)
    assert report.skipped == [(str(meta), report.skipped[0][1])]
    assert "no owner username" in report.skipped[0][1]
    posts = posts_by_shortcode(settings)
    assert set(posts) == {"Cx_12"}
    assert posts["Cx_12"]["likes"] == 500 and posts["Cx_12"]["n_images"] == 2
    assert report.observations_new == 2
    media = lake.read_table(settings, "media")
    assert media is not None and media.num_rows == 4
    alice_files = sorted(p.name for p in (root / "alice").glob("*.jpg"))
    assert alice_files == [f"{taken}_Cx_12_1.jpg", f"{taken}_Cx_12_2.jpg"]


def test_a_changed_image_is_checked_again_and_the_cover_follows(
    picme_home: Path, tree, image_fixtures: dict[str, Path]
) -> None:
    root, files = tree
    settings = get_settings()
    ingest_raw([root], settings)
    cover = Path(posts_by_shortcode(settings)["CAROUSEL"]["image_path"])
    cover.write_bytes(image_fixtures["truncated"].read_bytes())
    report = ingest_raw([root], settings)
    assert report.files_read == 1 and report.media_new == 1 and report.posts_updated == 1
    assert [p for p, _ in report.skipped] == [str(cover)]
    assert "post kept with its other images" in report.skipped[0][1]
    post = posts_by_shortcode(settings)["CAROUSEL"]
    assert post["image_path"] == str(cover).replace("_1.jpg", "_2.jpg")
    media = {r["path"]: r for r in lake.read_table(settings, "media").to_pylist()}
    assert media[str(cover)]["decodable"] is False


def test_media_checks_in_worker_processes_match_inline_checks(
    image_fixtures: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from picme.lake.media import MediaChecker

    paths = [str(image_fixtures[k]) for k in ("ok", "gray", "exif_rotated", "truncated", "text")]
    inline = MediaChecker(paths, workers=1).results()
    monkeypatch.setattr(MediaChecker, "MIN_FOR_PROCESSES", 2)
    monkeypatch.setattr(MediaChecker, "CHUNK", 3)  # 2 chunks, 2 worker processes
    with MediaChecker(paths, workers=2) as checker:
        assert checker.in_processes
        pooled = checker.results()
    assert pooled == inline
    assert [inline[p]["decodable"] for p in paths] == [True, True, True, False, False]
    # EXIF orientation 6: stored 64x96, displayed 96x64.
    assert (inline[paths[2]]["width"], inline[paths[2]]["height"]) == (96, 64)
