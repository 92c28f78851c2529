"""The personal ranker's data: the person's current decisions as rows and pairs.

Each photo with a decision in force (:func:`picme.lake.feedback.current`) is one row: its
image features, the heuristic, and :data:`~picme.scoring.personal.BASE_COLUMN` (the score
the general scorer gives it). Its grade is 1 when kept, starred or picked and 0 when
rejected. Each album's photos, in path order, are cut into blocks of :data:`BLOCK`
(photos shot together sit together, so a burst rarely straddles two).

Held-out feedback: with two or more albums that each hold both kinds of decision, whole
albums are held out (a person's taste is judged on albums the ranker never saw); with one
album, whole blocks of it. Training pairs are a kept photo over a rejected one of the same
album; held-out pairs the same within a block, and the blocks are the units the gate's
bootstrap resamples: pairs that share a photo are not independent, blocks nearly are, so
resampling pairs alone would give intervals far too narrow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from picme.errors import InputError
from picme.features.decode import ImageDecodeError, decode_image
from picme.features.extractors import ANALYSIS_SIDE, FEATURE_COLUMNS, features_from_array
from picme.lake.feedback import current
from picme.models.metrics import pairs_from_rows
from picme.models.ranker import HEURISTIC, derived
from picme.scoring.personal import BASE_COLUMN, base_scores

if TYPE_CHECKING:
    from picme.scoring.base import Scorer
    from picme.settings import Settings

POSITIVE = ("keep", "star", "pick")
NEGATIVE = ("reject",)
BLOCK = 8
#: Share of the albums (or blocks) held out, at least one.
HELD_OUT = 0.3
#: Fewest kept and fewest rejected photos to learn anything from.
MIN_EACH = 5
BATCH = 32


@dataclass
class FeedbackSet:
    """Rows (one per photo) with ``album``, ``path``, ``grade``, ``block``, ``split``
    (train/test), the features, heuristic and base score."""

    frame: pd.DataFrame
    split_by: str  # "album" or "block"
    notes: list[str] = field(default_factory=list)

    def part(self, split: str) -> pd.DataFrame:
        return self.frame[self.frame["split"] == split].reset_index(drop=True)

    def sizes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for split in ("train", "test"):
            part = self.part(split)
            out[f"{split}_photos"] = len(part)
            out[f"{split}_albums"] = int(part["album"].nunique())
            out[f"{split}_blocks"] = int(part["block"].nunique())
        out["train_pairs"] = len(pairs_of(self.part("train"), "album")[0])
        out["test_pairs"] = len(pairs_of(self.part("test"), "block")[0])
        return out

    def describe(self) -> str:
        s = self.sizes()
        held = (
            f"{s['test_albums']} albums" if self.split_by == "album" else "blocks of the one album"
        )
        return (
            f"held out by {self.split_by}: {held}, {s['test_blocks']} blocks of up to {BLOCK} "
            f"photos, {s['test_photos']} photos, {s['test_pairs']} kept-over-rejected pairs "
            f"within blocks; trained on {s['train_photos']} photos, {s['train_pairs']} pairs "
            "within albums"
        )


def pairs_of(frame: pd.DataFrame, within: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kept-over-rejected pairs within each ``within`` (album or block) of ``frame``
    (target 1: a was kept)."""
    return pairs_from_rows(frame[within].tolist(), frame["grade"].to_numpy(np.float64), margin=0.5)


def decisions(settings: Settings) -> pd.DataFrame:
    """The decisions in force that say keep or reject, with each photo's file."""
    table = current(settings).to_pandas()
    table = table[table["decision"].isin(POSITIVE + NEGATIVE)].reset_index(drop=True)
    table["grade"] = table["decision"].isin(POSITIVE).astype(np.float64)
    table["file"] = [str(Path(a) / p) for a, p in zip(table["album"], table["path"], strict=True)]
    return table


def _check_enough(table: pd.DataFrame) -> None:
    kept, rejected = int((table["grade"] > 0).sum()), int((table["grade"] == 0).sum())
    if kept < MIN_EACH or rejected < MIN_EACH:
        raise InputError(
            f"not enough feedback for a personal ranker: {kept} kept and {rejected} rejected "
            f"photos in force (need at least {MIN_EACH} of each); review an album with "
            "`picme review ALBUM` and keep or reject more photos"
        )


def photo_rows(table: pd.DataFrame, base: Scorer) -> tuple[pd.DataFrame, list[str]]:
    """Features and base score of each decided photo; photos that are gone or cannot be
    decoded are left out, counted in the notes."""
    side = max(ANALYSIS_SIDE, int(getattr(base, "max_side", ANALYSIS_SIDE) or ANALYSIS_SIDE))
    keep_rows: list[int] = []
    feats: list[dict[str, Any]] = []
    scores: list[np.ndarray] = []
    missing = undecodable = 0
    for start in range(0, len(table), BATCH):
        images, batch_feats = [], []
        for i in range(start, min(start + BATCH, len(table))):
            path = Path(table["file"].iat[i])
            if not path.is_file():
                missing += 1
                continue
            try:
                rgb = decode_image(path, max_side=side)
            except ImageDecodeError:
                undecodable += 1
                continue
            images.append(rgb)
            batch_feats.append(features_from_array(rgb))
            keep_rows.append(i)
        scores.append(base_scores(base, images, batch_feats))
        feats += batch_feats
    notes = []
    if missing:
        notes.append(f"{missing} photos with feedback are no longer in their album: left out")
    if undecodable:
        notes.append(f"{undecodable} photos with feedback could not be decoded: left out")
    frame = table.iloc[keep_rows].reset_index(drop=True)
    cols = pd.DataFrame([{c: f.get(c) for c in FEATURE_COLUMNS} for f in feats])
    frame = pd.concat([frame, cols.apply(pd.to_numeric, errors="coerce")], axis=1)
    frame[HEURISTIC] = derived(frame, HEURISTIC) if len(frame) else np.zeros(0)
    frame[BASE_COLUMN] = np.concatenate(scores) if scores else np.zeros(0)
    return frame, notes


def _both_kinds(frame: pd.DataFrame, key: str) -> list[str]:
    """The values of ``key`` whose rows hold a kept and a rejected photo, sorted."""
    g = frame.groupby(key)["grade"].agg(["min", "max"])
    return sorted(str(k) for k in g.index[(g["min"] == 0) & (g["max"] > 0)])


def assign_split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, str]:
    """``block`` and ``split`` columns: whole albums held out, or whole blocks of one."""
    frame = frame.sort_values(["album", "path"], ignore_index=True)
    within = frame.groupby("album").cumcount().to_numpy() // BLOCK
    frame["block"] = [f"{a}#{b}" for a, b in zip(frame["album"], within, strict=True)]
    albums = _both_kinds(frame, "album")
    if len(albums) >= 2:
        units, by, key = albums, "album", "album"
    else:
        units, by, key = _both_kinds(frame, "block"), "block", "block"
    if len(units) < 2:
        raise InputError(
            "the feedback cannot be split for a fair test: keep and reject photos in more "
            "than one album, or more of one album"
        )
    rng = np.random.default_rng(seed)
    n_test = min(len(units) - 1, max(1, math.ceil(HELD_OUT * len(units))))
    test = set(rng.choice(np.array(units, dtype=object), size=n_test, replace=False).tolist())
    frame["split"] = np.where(frame[key].isin(test), "test", "train")
    return frame, by


def feedback_set(settings: Settings, base: Scorer, seed: int) -> FeedbackSet:
    """The person's current feedback, featured, base-scored and split."""
    table = decisions(settings)
    _check_enough(table)
    frame, notes = photo_rows(table, base)
    _check_enough(frame)
    frame, by = assign_split(frame, seed)
    return FeedbackSet(frame, by, notes)
