"""``picme generate --best-hour H``: posts made at UTC hour H get more likes, every hour of
the day has posts, and without the option no hour is planted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from picme.errors import InputError
from picme.synthetic.instagram import TRUTH_FILE, generate_sample


def _truth(out: Path, **kw: object) -> pd.DataFrame:
    generate_sample(out, n_accounts=2, posts_per_account=150, seed=2, image_size=32, **kw)  # type: ignore[arg-type]
    truth = pd.read_csv(out / TRUTH_FILE)
    truth["hour"] = pd.to_datetime(truth["taken_at"]).dt.hour
    truth["log_likes"] = np.log(truth["likes_final"])
    # The account's audience and the image quality explain the rest of the likes.
    truth["rest"] = truth["log_likes"] - truth.groupby("owner_username")["log_likes"].transform(
        "mean"
    )
    return truth


def test_the_planted_hour_gets_more_likes(tmp_path: Path) -> None:
    truth = _truth(tmp_path / "planted", best_hour=5, hour_lift=1.5)
    assert truth["hour"].nunique() >= 20  # posting times spread over the day
    by_hour = truth.groupby("hour")["rest"].mean()
    assert by_hour.idxmax() == 5
    assert by_hour[5] - by_hour.drop(5).mean() > 0.8


def test_without_it_no_hour_is_planted_and_bad_hours_are_refused(tmp_path: Path) -> None:
    truth = _truth(tmp_path / "plain")
    # None of the hours with posts enough to tell stands out.
    counts = truth["hour"].value_counts()
    busy = counts.index[counts >= 10]
    by_hour = truth[truth["hour"].isin(busy)].groupby("hour")["rest"].mean()
    assert by_hour.max() < 0.4
    with pytest.raises(InputError, match="--best-hour takes a UTC hour"):
        generate_sample(tmp_path / "bad", n_accounts=1, posts_per_account=2, best_hour=24)
