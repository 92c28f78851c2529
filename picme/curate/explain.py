"""The words of curation: how a photo stands apart from its album and from its group.

A reason should tell a photographer what is *particular* about this photo, not repeat the
same adjectives on every pick. So every trait (sharpness, exposure, colour, contrast,
noise) is ranked within the album, and a pick is described by the traits where it stands
highest (``sharper than 92% of the album``), and within its group by the traits where it
beats every sibling (``sharpest and best exposed of 5 near-duplicates``). Scores are shown
on a 0-100 scale that is the photo's percentile within the album (see :func:`score_100`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from picme.features.extractors import FEATURE_COLUMNS

_F = {name: i for i, name in enumerate(FEATURE_COLUMNS)}
# A trait counts as standing out from the album from this percentile on.
STANDOUT = 0.75
# Compared within a group, a trait must beat every sibling by this share of its album range.
MARGIN = 0.02


@dataclass(frozen=True)
class Trait:
    name: str
    compare: str  # "sharper than 92% of the album"
    best: str  # "sharpest of 5 near-duplicates"


TRAITS = (
    Trait("sharpness", "sharper than", "sharpest"),
    Trait("exposure", "better exposed than", "best exposed"),
    Trait("colour", "more colourful than", "most colourful"),
    Trait("contrast", "more contrast than", "most contrast"),
    Trait("noise", "less noise than", "least noise"),
)


def percentile(scores: np.ndarray) -> np.ndarray:
    """Score percentile in [0, 1] (ties share their average rank); 1.0 for a single photo."""
    n = len(scores)
    if n <= 1:
        return np.ones(n)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based rank of each distinct value's first copy
    ranks = (first + (counts - 1) / 2.0)[inverse]
    return ranks / (n - 1.0)


def score_100(scores: np.ndarray) -> np.ndarray:
    """The 0-100 score shown to people: the raw score's percentile within the album.

    0 is the album's lowest score, 100 its highest, 50 the median; ties share a value. Raw
    scores are not comparable across scorers (a model's logits, the heuristic's [0, 1]),
    their place in the album is.
    """
    return np.rint(100.0 * percentile(np.asarray(scores, np.float64))).astype(np.int64)


def trait_values(features: np.ndarray, foc: np.ndarray, err: np.ndarray) -> np.ndarray:
    """n x len(TRAITS), every column oriented so that higher is better."""
    f = features.astype(np.float64)
    return np.stack(
        [foc, -err, f[:, _F["colorfulness"]], f[:, _F["contrast"]], -f[:, _F["noise"]]], axis=1
    ).reshape(len(features), len(TRAITS))


@dataclass(frozen=True)
class Standing:
    """Traits of every photo and their percentile within the album."""

    values: np.ndarray  # n x traits, higher is better
    pct: np.ndarray  # n x traits, percentile in [0, 1]
    span: np.ndarray  # per trait: album range (for group margins)
    faces_open: np.ndarray  # bool: a face with an open eye


def standing(features: np.ndarray, foc: np.ndarray, err: np.ndarray) -> Standing:
    values = trait_values(features, foc, err)
    n = len(values)
    pct = np.stack([percentile(values[:, t]) for t in range(len(TRAITS))], axis=1) if n else values
    span = (values.max(axis=0) - values.min(axis=0)) if n else np.zeros(len(TRAITS))
    faces = features[:, _F["face_count"]] >= 1 if n else np.zeros(0, bool)
    eyes = features[:, _F["eye_count"]] >= 1 if n else np.zeros(0, bool)
    return Standing(
        values=values, pct=pct.reshape(n, len(TRAITS)), span=span, faces_open=faces & eyes
    )


def album_standout(st: Standing, p: int) -> str:
    """What sets photo ``p`` apart in the album: its two highest-standing traits."""
    n = len(st.values)
    if n < 3:
        return "too few photos in the album to compare its traits"
    order = np.argsort(-st.pct[p], kind="stable")
    parts = [
        f"{TRAITS[t].compare} {round(100 * st.pct[p, t])}% of the album"
        for t in order[:2].tolist()
        if st.pct[p, t] >= STANDOUT
    ]
    n_faces = int(st.faces_open.sum())
    if st.faces_open[p] and n_faces <= n // 2:
        parts.append(f"faces with open eyes (only {n_faces} of {n} photos have them)")
    if not parts:
        t = int(order[0])
        return (
            f"no trait stands out (at most {TRAITS[t].compare} {round(100 * st.pct[p, t])}% "
            "of the album): its place comes from the scorer's overall score"
        )
    return "stands out: " + ", ".join(parts)


def group_edge(
    st: Standing, p: int, siblings: Sequence[int], eye_count: np.ndarray, scores: np.ndarray
) -> str:
    """What photo ``p`` has over the rest of its group: "best of 5 near-duplicates:
    sharpest, better exposed than 3 of them, highest score"."""
    others = list(siblings)
    size = len(others) + 1
    ranked: list[tuple[int, str]] = []
    for t, trait in enumerate(TRAITS):
        beats = int((st.values[p, t] - st.values[others, t] > MARGIN * max(st.span[t], 1e-9)).sum())
        if beats == len(others):
            ranked.append((beats + 1, trait.best))  # a superlative before a count
        elif beats * 2 >= len(others) and beats:
            ranked.append((beats, f"{trait.compare} {beats} of them"))
    ranked.sort(key=lambda x: -x[0])
    parts = [text for _, text in ranked[:3]]
    closed = sum(1 for o in others if eye_count[o] < eye_count[p])
    if st.faces_open[p] and closed:
        parts.append(f"eyes open (fewer open eyes in {closed} of them)")
    if scores[p] >= scores[others].max():
        parts.append("highest score")
    if not parts:
        return f"best of {size} near-duplicates that the quality gate could tell apart"
    return f"best of {size} near-duplicates: " + ", ".join(parts)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def score_pair(a: int, b: int, scores: np.ndarray, s100: np.ndarray) -> str:
    """ "93 vs 71" on the 0-100 scale; raw values when the two round alike."""
    if s100[a] != s100[b]:
        return f"{s100[a]} vs {s100[b]}"
    return f"{scores[a]:.3f} vs {scores[b]:.3f} raw"


def advantages(
    kept: int,
    other: int,
    scores: np.ndarray,
    s100: np.ndarray,
    features: np.ndarray,
    foc: np.ndarray,
    err: np.ndarray,
) -> str:
    """ "sharper, better exposed, higher score (93 vs 71)": ``kept`` against ``other``."""
    adv: list[str] = []
    if foc[kept] - foc[other] > 0.5:
        adv.append("sharper")
    if err[other] - err[kept] > 0.08:
        adv.append("better exposed")
    eyes_k, eyes_o = features[kept, _F["eye_count"]], features[other, _F["eye_count"]]
    if features[kept, _F["face_count"]] >= 1 and eyes_k > eyes_o:
        adv.append("eyes open")
    if scores[kept] > scores[other]:
        adv.append(f"higher score ({score_pair(kept, other, scores, s100)})")
    elif scores[kept] == scores[other]:
        adv.append("same score, earlier in file order")
    else:
        adv.append(f"passes the quality gate (score {score_pair(kept, other, scores, s100)})")
    return ", ".join(adv)
