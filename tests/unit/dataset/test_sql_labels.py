"""sql/labels.sql and sql/metadata.sql: engagement labels, the account-relative baseline,
the account-level exclusions, and the metadata features."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from picme.dataset.contract import METADATA_COLUMNS
from picme.dataset.sql import create_table
from tests.buildfixtures import NOW, account_posts, connect, params, post


def _labelled(rows: list[dict[str, Any]], **settings: Any) -> dict[str, dict[str, Any]]:
    con = connect(rows)
    p = params(**settings)
    create_table(con, "checked", "checks", p)
    create_table(con, "labelled", "labels", p)
    cur = con.execute(
        "SELECT shortcode, reason, likes, followers, engagement, log_engagement, label, "
        "log_likes, baseline_log_likes, rel_log_likes, label_rel FROM labelled"
    )
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_engagement_and_threshold_label() -> None:
    likes = [10, 20, 30, 349, 350, 351, 900]
    rows = account_posts("a", len(likes), likes=likes, followers=1000)
    got = _labelled(rows, baseline_window=1)
    for r, n in zip(rows, likes, strict=True):
        g = got[r["shortcode"]]
        assert g["engagement"] == pytest.approx(n / 1000)
        assert g["log_likes"] == pytest.approx(math.log1p(n))
        assert g["log_engagement"] == pytest.approx(math.log1p(n) - math.log1p(1000))
        assert g["label"] == int(n / 1000 > 0.35)  # strictly above the seed's threshold
    lowered = _labelled(rows, engagement_threshold=0.02)
    assert [lowered[r["shortcode"]]["label"] for r in rows[:3]] == [0, 0, 1]


def test_broken_rows_get_no_labels() -> None:
    t = NOW - timedelta(days=50)
    rows = account_posts("a", 5) + [
        post("neg", "a", t, -1),
        post("zero", "a", t, 5, followers=0),
        post("hid", "a", t, None),
    ]
    got = _labelled(rows, min_posts_per_account=1)
    for code in ("neg", "zero", "hid"):
        g = got[code]
        assert g["reason"] in {"negative_likes", "invalid_followers", "hidden_likes"}
        assert g["engagement"] is None and g["label"] is None and g["log_likes"] is None


def test_baseline_is_median_of_previous_posts_and_needs_three() -> None:
    likes = [100, 50, 400, 30, 250, 90, 700, 60, 20, 300]
    rows = account_posts("a", len(likes), likes=likes)
    window = 4
    got = _labelled(rows, baseline_window=window, min_posts_per_account=1)
    for i, r in enumerate(rows):
        g = got[r["shortcode"]]
        previous = [math.log1p(n) for n in likes[max(0, i - window) : i]]
        if len(previous) < 3:
            assert g["reason"] == "no_baseline" and g["label_rel"] is None
            continue
        assert g["reason"] is None
        assert g["baseline_log_likes"] == pytest.approx(statistics.median(previous))
        assert g["rel_log_likes"] == pytest.approx(
            math.log1p(likes[i]) - statistics.median(previous)
        )
        assert g["label_rel"] == int(math.log1p(likes[i]) > statistics.median(previous))


def test_baseline_follows_time_not_row_order_and_skips_untrusted_likes() -> None:
    t0 = NOW - timedelta(days=100)
    rows = [
        post("p3", "a", t0 + timedelta(days=3), 10),
        post("p0", "a", t0, 100),
        post("hidden", "a", t0 + timedelta(days=1), None),
        # A video is left out of the table but its likes are the account's usual results.
        post("vid", "a", t0 + timedelta(days=1, hours=1), 300, is_video=True),
        post("p1", "a", t0 + timedelta(days=2), 200),
        post("p4", "a", t0 + timedelta(days=4), 50),
    ]
    got = _labelled(rows, min_posts_per_account=1)
    assert got["p3"]["baseline_log_likes"] == pytest.approx(math.log1p(200))
    assert got["p4"]["baseline_log_likes"] == pytest.approx(
        statistics.median([math.log1p(n) for n in (100, 300, 200, 10)])
    )
    assert got["vid"]["reason"] == "video" and got["hidden"]["reason"] == "hidden_likes"


def test_accounts_with_too_few_usable_posts_are_excluded_whole() -> None:
    rows = account_posts("big", 8) + account_posts("small", 6)
    # small keeps 6 - 3 (no baseline) = 3 rows: under the minimum of 4.
    got = _labelled(rows, min_posts_per_account=4)
    reasons = {code: g["reason"] for code, g in got.items()}
    assert [reasons[f"small-{i:03d}"] for i in range(6)] == ["no_baseline"] * 3 + ["few_posts"] * 3
    assert [reasons[f"big-{i:03d}"] for i in range(8)] == ["no_baseline"] * 3 + [None] * 5


def test_metadata_columns_and_values() -> None:
    when = datetime(2026, 3, 4, 17, 30, tzinfo=UTC)  # a Wednesday
    rows = account_posts("acc", 4, start=when - timedelta(days=4), followers=25_000)
    rows.append(
        post(
            "meta",
            "acc",
            when,
            500,
            followers=25_000,
            caption="Hé #a #b @c",
            hashtags=["a", "b"],
            mentions=["c"],
            tagged_users=["x", "y", "z"],
            typename="GraphSidecar",
            n_images=3,
            is_sponsored=True,
            location="Paris",
        )
    )
    rows.append(
        post(
            "bare",
            "acc",
            when + timedelta(days=1),
            5,
            followers=25_000,
            caption=None,
            hashtags=None,
            mentions=None,
            tagged_users=None,
            typename=None,
            n_images=None,
            is_sponsored=None,
        )
    )
    con = connect(rows)
    p = params(min_posts_per_account=1)
    for table, query in (("checked", "checks"), ("labelled", "labels"), ("metadata", "metadata")):
        create_table(con, table, query, p)
    cur = con.execute("SELECT * FROM metadata")
    names = [d[0] for d in cur.description]
    assert names == ["shortcode", *METADATA_COLUMNS]
    assert {str(d[1]) for d in cur.description[1:]} == {"DOUBLE"}
    got = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    assert got["meta"] == {
        "shortcode": "meta",
        "hour": 17.0,
        "weekday": 2.0,
        "caption_len": 11.0,
        "n_hashtags": 2.0,
        "n_mentions": 1.0,
        "n_tagged": 3.0,
        "is_carousel": 1.0,
        "n_images": 3.0,
        "is_sponsored": 1.0,
        "has_location": 1.0,
        "size_bucket": 2.0,
        "log_followers": pytest.approx(math.log1p(25_000)),
    }
    bare = got["bare"]
    assert (bare["caption_len"], bare["n_hashtags"], bare["n_tagged"]) == (0.0, 0.0, 0.0)
    assert (bare["is_carousel"], bare["n_images"], bare["is_sponsored"]) == (0.0, 1.0, 0.0)


def test_size_buckets() -> None:
    buckets = {1: 0, 999: 0, 1000: 1, 99_999: 2, 100_000: 3, 5_000_000: 4}
    rows: list[dict[str, Any]] = []
    for followers in buckets:
        rows += account_posts(f"f{followers}", 4, followers=followers, likes=[1, 1, 1, 1])
    con = connect(rows)
    p = params(min_posts_per_account=1)
    for table, query in (("checked", "checks"), ("labelled", "labels"), ("metadata", "metadata")):
        create_table(con, table, query, p)
    got = dict(
        con.execute(
            "SELECT DISTINCT split_part(shortcode, '-', 1), size_bucket FROM metadata"
        ).fetchall()
    )
    assert got == {f"f{k}": float(v) for k, v in buckets.items()}
