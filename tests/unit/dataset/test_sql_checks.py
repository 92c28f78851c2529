"""sql/checks.sql: data checks and row exclusions, each reason on its own row."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from picme.dataset.sql import create_table
from tests.buildfixtures import NOW, connect, params, post

OLD = NOW - timedelta(days=30)


def _checked(rows: list[dict[str, Any]], **kw: Any) -> dict[str, dict[str, Any]]:
    settings = kw.pop("settings", {})
    con = connect(rows, **kw)
    create_table(con, "checked", "checks", params(**settings))
    cur = con.execute("SELECT shortcode, reason, likes_ok, followers FROM checked")
    out = {}
    for code, reason, likes_ok, followers in cur.fetchall():
        out.setdefault(code, {"reason": reason, "likes_ok": likes_ok, "followers": followers})
    return out


def test_each_reason_and_which_likes_feed_the_baseline() -> None:
    rows = [
        post("ok", "a", OLD, 10),
        post("hidden", "a", OLD, None),
        post("negative", "a", OLD, -1),
        post("nofollow", "a", OLD, 10, followers=None),
        post("zerofollow", "a", OLD, 10, followers=0),
        post("noowner", "", OLD, 10),
        post("future", "a", NOW + timedelta(days=2), 10),
        post("notime", "a", None, 10),
        post("young", "a", NOW - timedelta(days=1), 10),
        post("video", "a", OLD, 10, is_video=True),
        post("reel", "a", OLD, 10, typename="GraphVideo"),
        post("noimage", "a", OLD, 10, image_path=None),
        post("nomedia", "a", OLD, 10),
        post("badimage", "a", OLD, 10),
        post("badfeat", "a", OLD, 10),
        post("nofeat", "a", OLD, 10),
        post("nanfeat", "a", OLD, 10),
        post("seenbefore", "a", OLD, 10, observed_at=OLD - timedelta(days=2)),
    ]
    got = _checked(
        rows,
        skip_media=["nomedia"],
        media_overrides={"badimage": {"decodable": False}},
        feature_overrides={"badfeat": {"decodable": False}, "nanfeat": {"sharpness": math.nan}},
        skip_features=["nofeat"],
    )
    expect = {
        "ok": None,
        "hidden": "hidden_likes",
        "negative": "negative_likes",
        "nofollow": "invalid_followers",
        "zerofollow": "invalid_followers",
        "noowner": "missing_owner",
        "future": "invalid_taken_at",
        "notime": "invalid_taken_at",
        "young": "unsettled",
        "video": "video",
        "reel": "video",
        "noimage": "no_image",
        "nomedia": "no_image",
        "badimage": "undecodable_image",
        "badfeat": "undecodable_image",
        "nofeat": "no_image_features",
        "nanfeat": "no_image_features",
        "seenbefore": "invalid_observed_at",
    }
    assert {k: v["reason"] for k, v in got.items()} == expect
    # Likes that are valid, visible and settled feed the account's baseline even when the
    # post itself is left out for its image or for being a video.
    trusted = {k for k, v in got.items() if v["likes_ok"]}
    assert trusted == {
        "ok",
        "video",
        "reel",
        "noimage",
        "nomedia",
        "badimage",
        "badfeat",
        "nofeat",
        "nanfeat",
    }


def test_settle_age_is_measured_at_observation_not_today() -> None:
    taken = NOW - timedelta(days=100)
    rows = [
        # Observed one hour after posting: its likes were still growing, however old it is.
        post("early", "a", taken, 10, observed_at=taken + timedelta(hours=1)),
        post("late", "a", taken, 10, observed_at=taken + timedelta(days=5)),
        post("unobserved", "a", NOW - timedelta(days=2), 10, observed_at=None),
    ]
    got = _checked(rows, settings={"settle_days": 3})
    assert got["early"]["reason"] == "unsettled"
    assert got["late"]["reason"] is None
    assert got["unobserved"]["reason"] == "unsettled"  # no observation time: judged at now
    assert _checked(rows, settings={"settle_days": 0})["early"]["reason"] is None


def test_videos_are_kept_when_asked() -> None:
    got = _checked([post("v", "a", OLD, 10, is_video=True)], settings={"include_videos": True})
    assert got["v"]["reason"] is None


def test_duplicate_shortcode_keeps_the_latest_observation() -> None:
    rows = [
        post("dup", "a", OLD, 5, observed_at=OLD + timedelta(days=4)),
        post("dup", "a", OLD, 9, observed_at=OLD + timedelta(days=9)),
    ]
    con = connect(rows)
    create_table(con, "checked", "checks", params())
    got = con.execute("SELECT likes, reason FROM checked ORDER BY likes").fetchall()
    assert got == [(5, "duplicate_shortcode"), (9, None)]


def test_missing_followers_come_from_the_latest_earlier_profile_snapshot() -> None:
    seen = OLD + timedelta(days=5)
    rows = [
        post("p1", "a", OLD, 10, followers=None, observed_at=seen),
        post("p2", "b", OLD, 10, followers=None, observed_at=seen),
        post("p3", "a", OLD, 10, followers=700, observed_at=seen),
    ]
    profiles = [
        {"username": "a", "observed_at": seen - timedelta(days=10), "followers": 500},
        {"username": "a", "observed_at": seen - timedelta(days=1), "followers": 600},
        {"username": "a", "observed_at": seen + timedelta(days=1), "followers": 999},
        # Only a snapshot after the observation: not used, the row stays excluded.
        {"username": "b", "observed_at": seen + timedelta(days=1), "followers": 999},
    ]
    got = _checked(rows, profiles=profiles)
    assert got["p1"] == {"reason": None, "likes_ok": True, "followers": 600}
    assert got["p2"]["reason"] == "invalid_followers"
    assert got["p3"]["followers"] == 700  # the post's own count wins
