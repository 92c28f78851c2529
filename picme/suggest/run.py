"""``picme suggest``: the champion's view of candidate posts (see the package docstring).

Predicted engagement: the champion scores the photo with the metadata the person controls
(caption, hashtags, the account's followers) at the suggested time (the best hour and
weekday where the evidence supports them, else averaged over the day or week). Scores
become log likes through the within-account calibration slope of the champion on the
training rows it learned from (:func:`picme.suggest.timing.calibration_slope`), relative
to the champion's mean score of the account's own posts (of every account when it is not
in the table): ``predicted`` is the expected likes as a multiple of the account's usual.
Its 95 % interval is the prediction interval from the residual spread of that calibration
on the test split (a post's likes scatter that much around what the model expects).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from picme.errors import InputError
from picme.features.decode import decode_image
from picme.features.extractors import ANALYSIS_SIDE, features_from_array
from picme.models.table import load_training_set
from picme.scoring import api as scoring_api
from picme.scoring.ranker import RankerScorer
from picme.settings import get_settings
from picme.suggest.history import AccountHistory, account_history
from picme.suggest.timing import (
    NO_DIFFERENCE,
    WEEKDAYS,
    TimeEffect,
    best_times,
    calibration_slope,
    centred,
    sweep,
    time_evidence,
)

if TYPE_CHECKING:
    from picme.models.ranker import TabularRanker
    from picme.settings import Settings
    from picme.suggest.config import SuggestConfig

Z95 = 1.959964
#: Fewest test rows for the residual spread; below it, every row's (said in the output).
MIN_TEST_ROWS = 10


@dataclass
class Suggestion:
    path: str
    predicted: float  # expected likes / the account's usual
    interval: tuple[float, float]
    best_hour: int | None
    best_weekday: str | None
    hour: TimeEffect
    weekday: TimeEffect
    rank: int = 0
    predicted_likes: float | None = None
    likes_interval: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "predicted": round(self.predicted, 4),
            "interval": [round(v, 4) for v in self.interval],
            "best_hour": self.best_hour,
            "best_weekday": self.best_weekday,
            "rank": self.rank,
            "predicted_likes": None
            if self.predicted_likes is None
            else round(self.predicted_likes),
            "likes_interval": None
            if self.likes_interval is None
            else [round(v) for v in self.likes_interval],
            "best_hour_note": None if self.hour.supported else NO_DIFFERENCE,
            "best_weekday_note": None if self.weekday.supported else NO_DIFFERENCE,
            "hour_effect": {"hour": int(self.hour.best), **self.hour.as_dict()},
            "weekday_effect": {"weekday": WEEKDAYS[self.weekday.best], **self.weekday.as_dict()},
        }


@dataclass
class SuggestReport:
    suggestions: list[Suggestion]
    model: str
    history: AccountHistory | None
    method: list[str] = field(default_factory=list)


def champion_ranker(settings: Settings) -> tuple[TabularRanker, str]:
    """The general champion, which must be a tabular ranker that reads the posting time."""
    scorer = scoring_api.load_scorer(None, settings, personal=False)
    if not isinstance(scorer, RankerScorer):
        raise InputError(
            f"picme suggest needs a champion that is a tabular ranker (the current scorer is "
            f"{scorer.name}); train one with `picme train` (or `--model ranker`)"
        )
    missing = {"hour", "weekday"} - set(scorer.ranker.columns)
    if missing:
        raise InputError(
            f"the champion {scorer.name} does not read {', '.join(sorted(missing))}; "
            "retrain it on a training table with the posting time (`picme train`)"
        )
    return scorer.ranker, f"{scorer.name} version {scorer.version}"


def tags_of(hashtags: list[str], caption: str | None) -> list[str]:
    given = [t.lstrip("#") for h in hashtags for t in re.split(r"[,\s]+", h) if t.strip("#")]
    in_caption = re.findall(r"#(\w+)", caption or "")
    return list(dict.fromkeys([*given, *in_caption]))


def metadata(config: SuggestConfig, history: AccountHistory | None) -> dict[str, float]:
    """The metadata columns the person controls (a plain single-image post, no location)."""
    caption = config.caption or ""
    tags = tags_of(config.hashtags, config.caption)
    text = caption + "".join(f" #{t}" for t in tags if f"#{t}" not in caption)
    meta = {
        "caption_len": float(len(text.strip())),
        "n_hashtags": float(len(tags)),
        "n_mentions": float(len(re.findall(r"@\w+", caption))),
        "n_tagged": 0.0, "is_carousel": 0.0, "n_images": 1.0, "is_sponsored": 0.0,
        "has_location": 0.0,
    }  # fmt: skip
    if history is not None and history.followers is not None:
        f = history.followers
        meta["log_followers"] = float(np.log1p(f))
        meta["size_bucket"] = float(sum(f >= b for b in (1_000, 10_000, 100_000, 1_000_000)))
    return meta


def photo_rows(photos: list[Path], meta: dict[str, float]) -> pd.DataFrame:
    rows = []
    for p in photos:
        if not Path(p).is_file():
            raise InputError(f"photo {p} does not exist; give the paths of the photos to post")
        feats = features_from_array(decode_image(p, max_side=ANALYSIS_SIDE))
        rows.append({**{k: v for k, v in feats.items() if np.isscalar(v)}, **meta})
    return pd.DataFrame(rows)


def calibration(
    ranker: TabularRanker, table: pd.DataFrame, account: str | None
) -> tuple[float, float, float, str]:
    """(slope, residual sd, reference score, where the sd comes from)."""
    scores = ranker.predict(table)
    fit = (table["split"] != "test").to_numpy()
    slope = calibration_slope(scores[fit], table[fit])
    test = ~fit
    where = f"the test split ({int(test.sum())} posts)"
    if test.sum() < MIN_TEST_ROWS:
        test, where = np.ones(len(table), bool), f"every post ({len(table)}; too few test posts)"
    x, y = centred(table[test], scores[test])
    resid = y - slope * x
    sd = float(np.nanstd(resid, ddof=1)) if np.isfinite(resid).sum() > 1 else float("nan")
    own = (table["owner_username"] == account).to_numpy() if account else np.zeros(0, bool)
    if own.any():
        ref = float(scores[own].mean())
    else:
        ref = float(pd.Series(scores).groupby(table["owner_username"].to_numpy()).mean().mean())
    return slope, sd, ref, where


def _at_time(s: np.ndarray, hour: TimeEffect, day: TimeEffect) -> float:
    """The photo's score at the suggested time: the supported parts fixed, the rest averaged."""
    h = s[hour.best] if hour.supported else s.mean(axis=0)
    return float(h[day.best] if day.supported else h.mean())


def suggest(
    photos: list[Path], config: SuggestConfig, settings: Settings | None = None
) -> SuggestReport:
    """What the champion expects of each photo, when to post it, and which to post first."""
    settings = settings or get_settings()
    if not photos:
        raise InputError("give at least one photo to suggest for")
    ranker, model = champion_ranker(settings)
    table, _pairs = load_training_set(settings)
    history = account_history(settings, config.account, table) if config.account else None
    rows = photo_rows([Path(p) for p in photos], metadata(config, history))
    scores = sweep(ranker, rows)
    slope, sd, ref, where = calibration(ranker, table, history.name if history else None)
    kw = {"permutations": config.permutations, "seed": config.seed}
    by_hour = time_evidence(ranker, table, "hour", **kw)
    by_day = time_evidence(ranker, table, "weekday", **kw)
    best_h, best_d = best_times(scores)
    hours = [by_hour.judge(int(h)) for h in best_h]
    days = [by_day.judge(int(d)) for d in best_d]
    out = []
    for i, p in enumerate(photos):
        delta = slope * (_at_time(scores[i], hours[i], days[i]) - ref)
        lo, hi = np.exp(delta - Z95 * sd), np.exp(delta + Z95 * sd)
        sug = Suggestion(
            path=str(p), predicted=float(np.exp(delta)), interval=(float(lo), float(hi)),
            best_hour=hours[i].best if hours[i].supported else None,
            best_weekday=WEEKDAYS[days[i].best] if days[i].supported else None,
            hour=hours[i], weekday=days[i],
        )  # fmt: skip
        if history is not None and history.usual_likes is not None:
            u = history.usual_likes
            sug.predicted_likes, sug.likes_interval = u * sug.predicted, (u * lo, u * hi)
        out.append(sug)
    for r, sug in enumerate(sorted(out, key=lambda s: -s.predicted), start=1):
        sug.rank = r
    method = [
        f"predicted: likes as a multiple of the account's usual, from the champion's score "
        f"(calibrated on its training posts); 95% interval from its residual spread on {where}",
        "best hour/weekday: the champion's sweep (UTC); shown where the posts made then beat "
        "what the champion expects, by more than any hour or weekday does in "
        f"{config.permutations} shuffles of each account's posting times (95% interval "
        "above 0; else 'no measurable difference')",
    ]
    return SuggestReport(out, model, history, method)
