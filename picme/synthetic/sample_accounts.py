"""The sample's accounts: themed usernames, audiences, posting rhythms and captions.

Part of the sample generator (:mod:`picme.synthetic.instagram`); every function draws from
the generator it is given, in the order the generator calls them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

# The last scrape of the sample; fixed so that output is reproducible byte for byte.
SCRAPE_TIME = datetime(2026, 6, 30, 18, 0, 0, tzinfo=UTC)
SPAN_DAYS = 180.0

THEMES: list[dict[str, Any]] = [
    {
        "name": "travel",
        "users": ["wander.lena", "nomad_tomas", "atlas.and.ash"],
        "tags": ["travel", "wanderlust", "roadtrip", "mountains", "sunset", "explore"],
        "places": ["Lisbon, Portugal", "Dolomites, Italy", "Kyoto, Japan", "Reykjavik"],
        "sky": ((90, 150, 220), (250, 200, 150)),
        "ground": ((60, 110, 70), (120, 100, 80)),
    },
    {
        "name": "food",
        "users": ["crumb.and.co", "spoonful_mia", "the.hungry.fox"],
        "tags": ["foodie", "brunch", "homemade", "bakery", "coffee", "yum"],
        "places": ["Paris, France", "Brooklyn, New York", "Melbourne, Australia"],
        "sky": ((230, 220, 200), (200, 160, 120)),
        "ground": ((150, 90, 60), (220, 200, 170)),
    },
    {
        "name": "city",
        "users": ["concrete.poems", "nightlines_jo", "urban.kai"],
        "tags": ["streetphotography", "citylife", "architecture", "urban", "neon"],
        "places": ["Berlin, Germany", "Tokyo, Japan", "Chicago, Illinois"],
        "sky": ((40, 50, 90), (160, 170, 190)),
        "ground": ((70, 70, 80), (110, 100, 90)),
    },
    {
        "name": "portrait",
        "users": ["faces.by.noor", "studio.elio", "golden.hour.ana"],
        "tags": ["portrait", "portraitphotography", "goldenhour", "model", "smile"],
        "places": ["Barcelona, Spain", "Austin, Texas", "Cape Town, South Africa"],
        "sky": ((200, 180, 160), (240, 220, 200)),
        "ground": ((120, 90, 80), (180, 150, 130)),
    },
]
FRIENDS = ["maya.k", "jonas_b", "li.wei", "sam.draws", "ines.m", "oskar.photo", "priya_r"]
_OPENERS = [
    "What a day",
    "Still thinking about this",
    "New favourite spot",
    "Weekend mood",
    "Can't get enough of this",
    "Little moments",
    "Back at it",
    "Found this gem",
]
_EMOJI = ["", " ✨", " 🌿", " 📸", " 🔥", " ☀️", " 🙌"]


@dataclass(frozen=True)
class Account:
    """One generated account: who it is and how its audience behaves."""

    username: str
    theme: dict[str, Any]
    userid: int
    followers0: float
    growth: float  # of the followers, per 30 days
    base_rate: float
    account_effect: float
    utc_offset: int
    followees: int
    target: Path
    times: list[datetime]
    others: list[str]

    def followers_at(self, t: datetime) -> int:
        months = (t - (SCRAPE_TIME - timedelta(days=SPAN_DAYS))).total_seconds() / (30 * 86400)
        return int(round(self.followers0 * math.exp(self.growth * months)))


def usernames(n_accounts: int) -> list[str]:
    """Themed usernames, the themes in turn; numbered once every name is taken."""
    names: list[str] = []
    for i in range(n_accounts):
        theme = THEMES[i % len(THEMES)]
        base = theme["users"][(i // len(THEMES)) % len(theme["users"])]
        suffix = "" if i < len(THEMES) * len(theme["users"]) else f"{i}"
        names.append(f"{base}{suffix}")
    return names


def draw_account(
    a: int,
    username: str,
    names: list[str],
    followers0: float,
    posts_per_account: int,
    out: Path,
    rng: np.random.Generator,
    *,
    all_day: bool = False,
) -> Account:
    """Account number ``a`` with its folder under ``out`` and its posting times (spread
    evenly over the day with ``all_day``)."""
    theme = THEMES[a % len(THEMES)]
    userid = int(rng.integers(10**9, 6 * 10**10))
    growth = float(rng.uniform(0.0, 0.04))
    # Small accounts engage more; the smallest ones straddle a 35 % likes/followers line.
    base_rate = 0.25 * (followers0 / 2_000) ** -0.3
    account_effect = float(rng.normal(0, 0.15))
    utc_offset = int(rng.choice([-5, 0, 1, 2, 9]))
    followees = int(rng.integers(150, 1500))
    target = out / username
    target.mkdir(parents=True, exist_ok=True)
    times = post_times(posts_per_account, utc_offset, rng, all_day=all_day)
    return Account(
        username=username,
        theme=theme,
        userid=userid,
        followers0=followers0,
        growth=growth,
        base_rate=base_rate,
        account_effect=account_effect,
        utc_offset=utc_offset,
        followees=followees,
        target=target,
        times=times,
        others=[u for u in names if u != username],
    )


def caption(theme: dict[str, Any], rng: np.random.Generator, others: list[str]) -> str:
    tags = list(rng.choice(theme["tags"], size=int(rng.integers(1, 5)), replace=False))
    text = str(rng.choice(_OPENERS)) + str(rng.choice(_EMOJI))
    if rng.random() < 0.4:
        who = str(rng.choice(others + FRIENDS))
        text += f" with @{who}"
    if rng.random() < 0.3:
        text += "\nShot on a rainy afternoon, edited on my phone."
    return text + "\n\n" + " ".join(f"#{t}" for t in tags)


def post_times(
    n: int, utc_offset_h: int, rng: np.random.Generator, *, all_day: bool = False
) -> list[datetime]:
    """Posting times over SPAN_DAYS with a daily rhythm (local lunch and evening peaks), or
    at any hour alike with ``all_day``."""
    start = SCRAPE_TIME - timedelta(days=SPAN_DAYS)
    days = np.sort(rng.uniform(0.0, SPAN_DAYS - 0.5, n))
    seen: set[datetime] = set()
    out: list[datetime] = []
    for d in days:
        if all_day:
            local_hour = float(rng.uniform(0.0, 24.0))
        else:
            local_hour = rng.normal(12.5, 1.2) if rng.random() < 0.35 else rng.normal(19.5, 1.8)
        day0 = start.replace(hour=0, minute=0, second=0) + timedelta(days=int(d))
        t = day0 + timedelta(hours=float(local_hour) - utc_offset_h)
        t = t.replace(microsecond=0) + timedelta(seconds=int(rng.integers(0, 60)))
        # Two posts in one second would collide in instaloader's default file name.
        while t in seen:
            t += timedelta(seconds=1)
        t = min(t, SCRAPE_TIME - timedelta(hours=1))
        seen.add(t)
        out.append(t)
    return sorted(out)
