"""The timing evidence recovers a planted best hour and invents none where none was
planted; the calibration, the metadata and the account's history from the lake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from picme.lake.tables import POSTS_SCHEMA, PROFILES_SCHEMA, conform, table_path
from picme.models.ranker import fit_lambdarank
from picme.settings import Settings
from picme.suggest.config import SuggestConfig
from picme.suggest.history import account_history
from picme.suggest.render import effect_text
from picme.suggest.run import metadata, photo_rows, tags_of
from picme.suggest.timing import (
    NO_DIFFERENCE,
    TimeEffect,
    best_times,
    calibration_slope,
    sweep,
    time_evidence,
)
from picme.training.tabular import tabular_columns
from picme.util.atomic import write_parquet_atomic
from tests.unit.suggest.planted import candidate_photos, planted_table


def _judged(
    home: Path, best_hour: int | None, seed: int = 0
) -> tuple[list[TimeEffect], list[TimeEffect]]:
    frame = planted_table(home, best_hour=best_hour, seed=seed)
    train = frame[frame["split"] != "test"].reset_index(drop=True)
    champion = fit_lambdarank(train, tabular_columns(frame), seed=0)
    rows = photo_rows(candidate_photos(home / "photos", n=3), {"caption_len": 20.0})
    hours, days = best_times(sweep(champion, rows))
    by_hour = time_evidence(champion, frame, "hour", seed=1)
    by_day = time_evidence(champion, frame, "weekday", seed=1)
    return [by_hour.judge(int(h)) for h in hours], [by_day.judge(int(d)) for d in days]


def test_a_planted_best_hour_is_recovered(tmp_path: Path) -> None:
    hours, days = _judged(tmp_path, best_hour=18)
    for h in hours:
        assert h.best == 18 and h.supported, h
        assert h.low > 0 and h.low <= h.gain <= h.high
        # The planted lift is 1.0 log likes at one hour in 24: about 0.96 above the mean.
        assert 0.3 < h.gain < 1.3
        assert effect_text(h, "18:00").startswith("18:00 (+")
    assert not any(d.supported for d in days)  # no weekday effect was planted
    assert effect_text(days[0], "Monday") == NO_DIFFERENCE


@pytest.mark.parametrize("seed", [0, 1])
def test_no_planted_hour_says_no_measurable_difference(tmp_path: Path, seed: int) -> None:
    hours, days = _judged(tmp_path, best_hour=None, seed=seed)
    for effect in [*hours, *days]:
        assert not effect.supported and effect.low <= 0
        assert effect_text(effect, "x") == NO_DIFFERENCE


def test_calibration_slope_is_log_likes_per_score_within_accounts() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=400)
    owner = np.repeat(["a", "b", "c", "d"], 100)
    level = np.repeat([3.0, 5.0, 7.0, 9.0], 100)  # accounts differ: not part of the slope
    frame = pd.DataFrame(
        {"owner_username": owner, "log_likes": level + 0.4 * scores + rng.normal(0, 0.05, 400)}
    )
    assert calibration_slope(scores + level, frame) == pytest.approx(0.4, abs=0.02)


def test_metadata_is_what_the_person_controls() -> None:
    assert tags_of(["travel,city", "#sea night"], "Dusk #sunset #travel") == [
        "travel", "city", "sea", "night", "sunset"
    ]  # fmt: skip
    config = SuggestConfig(caption="Dusk with @ana #sunset", hashtags=["travel"])
    meta = metadata(config, None)
    assert meta["n_hashtags"] == 2 and meta["n_mentions"] == 1
    assert meta["caption_len"] == len("Dusk with @ana #sunset #travel")
    assert "log_followers" not in meta  # no account: the ranker's training mean


def test_account_history_reads_posts_and_profiles(picme_home: Path) -> None:
    settings = Settings()
    start = datetime(2026, 3, 2, 18, tzinfo=UTC)  # a Monday
    posts = [
        {"shortcode": f"s{i}", "owner_username": "me", "taken_at": start + timedelta(days=7 * i),
         "likes": 100 + i, "followers": 5000}
        for i in range(5)
    ] + [{"shortcode": "x", "owner_username": "other", "taken_at": start, "likes": 9,
          "followers": 10}]  # fmt: skip
    posts[0]["taken_at"] = start.replace(hour=9) + timedelta(days=2)
    write_parquet_atomic(
        conform(pa.Table.from_pylist(posts), POSTS_SCHEMA), table_path(settings, "posts")
    )
    profile = {"username": "me", "followers": 6100, "observed_at": start}
    write_parquet_atomic(
        conform(pa.Table.from_pylist([profile]), PROFILES_SCHEMA), table_path(settings, "profiles")
    )
    h = account_history(settings, "@me")
    assert (h.posts, h.followers, h.usual_likes) == (5, 6100, 102.0)
    assert h.hours[0] == (18, 4) and h.weekdays[0] == (0, 4)
    assert "@me: 5 posts, 6,100 followers" in h.line() and "18:00 (4)" in h.line()
    meta = metadata(SuggestConfig(account="me"), h)
    assert meta["size_bucket"] == 1.0 and meta["log_followers"] == pytest.approx(np.log1p(6100))
