"""The account's own record: its posts and audience from the lake (``posts`` and
``profiles``), or from the training table when the lake holds only that."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from picme.errors import InputError
from picme.lake.tables import read_table

if TYPE_CHECKING:
    from picme.settings import Settings

#: The usual likes are the median of this many latest posts.
RECENT = 30
WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class AccountHistory:
    name: str
    posts: int
    followers: int | None
    usual_likes: float | None
    hours: list[tuple[int, int]] = field(default_factory=list)  # (UTC hour, posts), top 3
    weekdays: list[tuple[int, int]] = field(default_factory=list)  # (0=Monday, posts), top 3

    def line(self) -> str:
        who = f"@{self.name}: {self.posts} posts"
        if self.followers is not None:
            who += f", {self.followers:,} followers"
        if self.usual_likes is not None:
            who += f", usually {self.usual_likes:,.0f} likes (median of the last {RECENT})"
        hours = ", ".join(f"{h:02d}:00 ({n})" for h, n in self.hours)
        days = ", ".join(f"{WEEKDAY_ABBR[d]} ({n})" for d, n in self.weekdays)
        return f"{who}; posts mostly at {hours} UTC; on {days}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.name,
            "posts": self.posts,
            "followers": self.followers,
            "usual_likes": self.usual_likes,
            "usual_hours_utc": [h for h, _ in self.hours],
            "usual_weekdays": [WEEKDAY_ABBR[d] for d, _ in self.weekdays],
        }


def _posts(settings: Settings, account: str, training: pd.DataFrame | None) -> pd.DataFrame:
    table = read_table(settings, "posts")
    cols = ["owner_username", "taken_at", "likes", "followers"]
    if table is not None:
        frame = table.select(cols).to_pandas()
        frame = frame[frame["owner_username"] == account]
        if len(frame):
            return frame
    if training is not None and {*cols} <= set(training.columns):
        return training.loc[training["owner_username"] == account, cols]
    return pd.DataFrame(columns=cols)


def _followers(settings: Settings, account: str, posts: pd.DataFrame) -> int | None:
    profiles = read_table(settings, "profiles")
    if profiles is not None:
        p = profiles.to_pandas()
        p = p[(p["username"] == account) & p["followers"].notna()]
        if len(p):
            return int(p.sort_values("observed_at")["followers"].iloc[-1])
    f = posts.dropna(subset=["followers"])
    return int(f.sort_values("taken_at")["followers"].iloc[-1]) if len(f) else None


def account_history(
    settings: Settings, account: str, training: pd.DataFrame | None = None
) -> AccountHistory:
    """The account's posts, followers, usual likes and usual posting times."""
    name = account.strip().lstrip("@")
    posts = _posts(settings, name, training)
    if not len(posts):
        raise InputError(
            f"no posts of @{name} in the lake; scrape and ingest it first (`picme scrape "
            f"{name}`, `picme ingest`), or leave out --account"
        )
    taken = pd.to_datetime(posts["taken_at"], utc=True)
    likes = posts.assign(t=taken).sort_values("t")["likes"].dropna().tail(RECENT)
    usual = float(np.median(likes.to_numpy(np.float64))) if len(likes) else None
    hours = Counter(int(h) for h in taken.dt.hour)
    days = Counter(int(d) for d in taken.dt.weekday)
    return AccountHistory(
        name=name,
        posts=len(posts),
        followers=_followers(settings, name, posts),
        usual_likes=usual,
        hours=hours.most_common(3),
        weekdays=days.most_common(3),
    )
