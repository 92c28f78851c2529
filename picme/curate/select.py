"""Choosing: the quality gate, the best photo of each group, and a diverse top K.

Everything here works on small per-photo arrays (scores, features, hashes, embeddings,
capture times), never on pixels. Every decision comes with the words that explain it.

Quality gate (values are picme.features.extractors', computed at 512 px): a photo is *blurred*
when its contrast-adjusted sharpness (:func:`focus`) is below ``min_focus`` (that sharpness:
~0.5-1.5 blurred, ~4-5 crisp), *badly
exposed* when its mean brightness is outside [min_brightness, max_brightness] or more than
``max_clipped`` of its pixels are black or blown out, and has *eyes closed* when a face
of at least ``min_face_area`` of the frame shows no open eye. A photo that fails is rejected
when its group holds one that passes; otherwise it stays, flagged, and is only picked
after every photo that passes.

Within a group the kept photo is the highest-scoring one that passes the gate (ties: the
first in file order). The top K among kept photos is chosen by maximal marginal relevance:
repeatedly take the photo maximising ``lam * relevance - (1 - lam) * max similarity to the
photos already picked``, where relevance is the photo's score percentile among kept photos
(scorer-independent: a model's logits and the heuristic's [0, 1] behave the same) and
similarity combines look (embedding cosine and hue/saturation histogram overlap) and
closeness in capture time (see :func:`similarity_to`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from picme.features.extractors import FEATURE_COLUMNS

_F = {name: i for i, name in enumerate(FEATURE_COLUMNS)}
REFERENCE_CONTRAST = 0.2


@dataclass(frozen=True)
class GateParams:
    min_focus: float = 2.0
    min_brightness: float = 0.18
    max_brightness: float = 0.85
    max_clipped: float = 0.25
    min_face_area: float = 0.02


@dataclass(frozen=True)
class DiversityParams:
    lam: float = 0.7  # weight of relevance against novelty in MMR
    time_scale_s: float = 1800.0  # capture-time closeness decays over ~30 minutes
    similar_note: float = 0.7  # above this, a not-picked photo is said to resemble a pick


DEFAULT_GATE = GateParams()
DEFAULT_DIVERSITY = DiversityParams()


@dataclass
class Selection:
    """Decisions for n photos (indices into the arrays given to :func:`select`)."""

    status: list[str]  # picked, duplicate, rejected
    rank: list[int | None]
    reasons: list[list[str]]
    kept: np.ndarray  # bool: best of its group
    gate: list[list[str]]  # quality-gate failures of each photo
    picks: list[int] = field(default_factory=list)  # photo indices in rank order


def feature(features: np.ndarray, name: str) -> np.ndarray:
    return features[:, _F[name]].astype(np.float64)


def focus(features: np.ndarray) -> np.ndarray:
    """Sharpness with the photo's contrast factored out, on the features' sharpness scale.

    The features' sharpness is log(1 + Laplacian-of-Gaussian variance), and that variance
    scales with the square of the contrast: a dark copy of a crisp photo would read as
    blurred. Rescaling the variance to a reference contrast of 0.2 (typical of photos)
    leaves what blur does; at contrast 0.2 focus equals sharpness.
    """
    contrast = np.maximum(feature(features, "contrast"), 0.02)
    variance = np.expm1(np.maximum(feature(features, "sharpness"), 0.0))
    return np.log1p(variance * (REFERENCE_CONTRAST / contrast) ** 2)


def exposure_error(features: np.ndarray) -> np.ndarray:
    return (
        np.abs(feature(features, "brightness") - 0.5)
        + feature(features, "underexposed")
        + feature(features, "overexposed")
    )


def gate_failures(features: np.ndarray, params: GateParams = DEFAULT_GATE) -> list[list[str]]:
    sharp = focus(features)
    bright = feature(features, "brightness")
    under = feature(features, "underexposed")
    over = feature(features, "overexposed")
    faces = feature(features, "face_count")
    face_area = feature(features, "face_area")
    eyes = feature(features, "eye_count")
    out: list[list[str]] = []
    for k in range(len(features)):
        fails: list[str] = []
        if sharp[k] < params.min_focus:
            fails.append(
                f"blurred (sharpness {sharp[k]:.1f} < {params.min_focus}, contrast-adjusted)"
            )
        if bright[k] < params.min_brightness or under[k] > params.max_clipped:
            fails.append(
                f"underexposed (brightness {bright[k]:.2f}, {under[k]:.0%} of pixels black)"
            )
        elif bright[k] > params.max_brightness or over[k] > params.max_clipped:
            fails.append(
                f"overexposed (brightness {bright[k]:.2f}, {over[k]:.0%} of pixels blown out)"
            )
        if faces[k] >= 1 and face_area[k] >= params.min_face_area and eyes[k] < 1:
            fails.append("eyes closed (no open eye found on the face)")
        out.append(fails)
    return out


def similarity_to(
    c: int,
    embed: np.ndarray,
    hs_hist: np.ndarray,
    times: np.ndarray,
    params: DiversityParams = DEFAULT_DIVERSITY,
) -> np.ndarray:
    """Similarity in [0, 1] of photo ``c`` to every photo.

    look = mean of the embedding cosine (clipped at 0) and the hue/saturation histogram
    intersection; time = exp(-|dt| / time_scale_s) when both have a capture time, else 0.5;
    similarity = look * (0.6 + 0.4 * time): alike and shot together is most similar, alike
    but on another day still counts.
    """
    cos = (embed.astype(np.float32) @ embed[c].astype(np.float32)) / (127.0 * 127.0)
    inter = np.minimum(hs_hist, hs_hist[c]).sum(axis=1)
    look = 0.5 * np.clip(cos, 0.0, 1.0) + 0.5 * np.clip(inter, 0.0, 1.0)
    with np.errstate(invalid="ignore"):
        prox = np.exp(-np.abs(times - times[c]) / params.time_scale_s)
    prox = np.where(np.isnan(prox), 0.5, prox)
    return (look * (0.6 + 0.4 * prox)).astype(np.float64)


def percentile(scores: np.ndarray) -> np.ndarray:
    """Score percentile in [0, 1] (ties share their average rank); 1.0 for a single photo."""
    n = len(scores)
    if n <= 1:
        return np.ones(n)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based rank of each distinct value's first copy
    ranks = (first + (counts - 1) / 2.0)[inverse]
    return ranks / (n - 1.0)


def mmr(
    candidates: np.ndarray,
    relevance: np.ndarray,
    tier: np.ndarray,
    k: int,
    embed: np.ndarray,
    hs_hist: np.ndarray,
    times: np.ndarray,
    params: DiversityParams = DEFAULT_DIVERSITY,
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Maximal marginal relevance over ``candidates`` (photo indices).

    Lower ``tier`` first: a photo of tier 1 is only taken when tier 0 is exhausted. Returns
    the picks in order, and for every candidate its largest similarity to a pick and which
    pick that was (-1 when none). Ties go to the earlier candidate: deterministic.
    """
    m = len(candidates)
    sub_embed, sub_hs, sub_times = embed[candidates], hs_hist[candidates], times[candidates]
    max_sim = np.zeros(m)
    nearest = np.full(m, -1, np.int64)
    taken = np.zeros(m, bool)
    picks: list[int] = []
    for _ in range(min(k, m)):
        free = ~taken
        best_tier = tier[free].min()
        eligible = free & (tier == best_tier)
        value = params.lam * relevance - (1.0 - params.lam) * max_sim
        value = np.where(eligible, value, -np.inf)
        c = int(np.argmax(value))
        taken[c] = True
        picks.append(c)
        sim = similarity_to(c, sub_embed, sub_hs, sub_times, params)
        closer = sim > max_sim
        closer[c] = False
        nearest[closer] = c
        max_sim = np.where(closer, sim, max_sim)
    return [int(candidates[p]) for p in picks], max_sim, nearest


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _qualities(f: np.ndarray, foc: float, err: float) -> list[str]:
    words = []
    if foc >= 3.5:
        words.append("sharp")
    if err <= 0.15:
        words.append("well exposed")
    if f[_F["colorfulness"]] >= 59:
        words.append("colourful")
    if f[_F["face_count"]] >= 1:
        words.append("faces with open eyes" if f[_F["eye_count"]] >= 1 else "faces")
    return words


def why_not(
    kept: int,
    other: int,
    names: Sequence[str],
    scores: np.ndarray,
    features: np.ndarray,
    foc: np.ndarray,
    err: np.ndarray,
) -> str:
    """ "kept IMG_0012.jpg: sharper, better exposed, higher score (0.71 vs 0.64)"."""
    adv: list[str] = []
    if foc[kept] - foc[other] > 0.5:
        adv.append("sharper")
    if err[other] - err[kept] > 0.08:
        adv.append("better exposed")
    eyes_k, eyes_o = features[kept, _F["eye_count"]], features[other, _F["eye_count"]]
    if features[kept, _F["face_count"]] >= 1 and eyes_k > eyes_o:
        adv.append("eyes open")
    if scores[kept] > scores[other]:
        adv.append(f"higher score ({scores[kept]:.3f} vs {scores[other]:.3f})")
    elif scores[kept] == scores[other]:
        adv.append("same score, earlier in file order")
    else:
        adv.append(f"passes the quality gate (score {scores[kept]:.3f} vs {scores[other]:.3f})")
    return f"kept {names[kept]}: " + ", ".join(adv)


@dataclass(frozen=True)
class _Photos:
    """What every step of :func:`select` reads, computed once."""

    names: Sequence[str]
    scores: np.ndarray  # float64
    features: np.ndarray
    fails: list[list[str]]  # quality-gate failures
    passes: np.ndarray  # bool: no failure
    foc: np.ndarray  # contrast-adjusted sharpness
    err: np.ndarray  # exposure error


def _photos(
    names: Sequence[str], scores: np.ndarray, features: np.ndarray, gate: GateParams
) -> _Photos:
    n = len(names)
    fails = gate_failures(features, gate) if n else []
    return _Photos(
        names=names,
        scores=np.asarray(scores, np.float64),
        features=features,
        fails=fails,
        passes=np.array([not f for f in fails], bool),
        foc=focus(features) if n else np.zeros(0),
        err=exposure_error(features) if n else np.zeros(0),
    )


def _keep_best_of_each_group(
    ph: _Photos, members: dict[int, list[int]], sel: Selection
) -> list[int]:
    """Mark the kept photo of every group and explain the others; the kept ones, by group."""
    reps: list[int] = []
    for g in sorted(members):
        ms = members[g]
        # Best = passes the gate, then highest score, then first in file order.
        best = max(ms, key=lambda k: (ph.passes[k], ph.scores[k], -k))
        sel.kept[best] = True
        reps.append(best)
        for k in ms:
            if k == best:
                continue
            line = why_not(best, k, ph.names, ph.scores, ph.features, ph.foc, ph.err)
            if ph.fails[k]:
                sel.status[k] = "rejected"
                sel.reasons[k] = [*ph.fails[k], line]
            else:
                sel.reasons[k] = [line]
        if ph.fails[best]:
            note = "nothing better of this shot" if len(ms) > 1 else "no other shot of it"
            sel.reasons[best] = [f"{f}; kept: {note}" for f in ph.fails[best]]
    return reps


def _pick_reasons(ph: _Photos, p: int, rank: int, nth: int, n_cand: int, size: int) -> list[str]:
    """Why pick ``p`` has ``rank``, being the ``nth`` highest score of ``n_cand``."""
    place = "the highest" if nth == 1 else f"the {_ordinal(nth)} highest"
    why = [f"rank {rank}: score {ph.scores[p]:.3f}, {place} of {n_cand} distinct shots"]
    q = _qualities(ph.features[p], float(ph.foc[p]), float(ph.err[p]))
    if q:
        why.append(", ".join(q))
    if size > 1:
        why.append(f"best of {size} near-duplicates")
    if ph.fails[p]:
        why.append("ranked after every photo that passes the quality gate")
    if nth > rank:
        why.append("chosen ahead of higher-scoring photos that resemble earlier picks")
    return why


def _explain_picks(ph: _Photos, cand: np.ndarray, group_size: list[int], sel: Selection) -> None:
    by_score = np.argsort(-ph.scores[cand], kind="stable")
    score_rank = np.empty(len(cand), np.int64)
    score_rank[by_score] = np.arange(1, len(cand) + 1)
    pos = {int(c): p for p, c in enumerate(cand.tolist())}
    for r, p in enumerate(sel.picks, start=1):
        sel.status[p] = "picked"
        sel.rank[p] = r
        nth = int(score_rank[pos[p]])
        sel.reasons[p] = _pick_reasons(ph, p, r, nth, len(cand), group_size[p]) + sel.reasons[p]


def _explain_left_out(
    ph: _Photos,
    cand: np.ndarray,
    max_sim: np.ndarray,
    nearest: np.ndarray,
    top: int,
    diversity: DiversityParams,
    sel: Selection,
) -> None:
    """Kept photos outside the top K: the pick they resemble, or their low score."""
    scores = ph.scores
    pick_rank = {p: r for r, p in enumerate(sel.picks, start=1)}
    lowest = min(scores[p] for p in sel.picks) if sel.picks else math.nan
    for c_pos, c in enumerate(cand.tolist()):
        if c in pick_rank:
            continue
        sel.status[c] = "rejected"
        near = int(nearest[c_pos])
        if near >= 0 and (max_sim[c_pos] >= diversity.similar_note or scores[c] > lowest):
            other = int(cand[near])
            line = (
                f"not in the top {top}: resembles pick #{pick_rank[other]} "
                f"{ph.names[other]} (similarity {max_sim[c_pos]:.2f})"
            )
        else:
            line = f"not in the top {top}: score {scores[c]:.3f} (lowest pick {lowest:.3f})"
        sel.reasons[c] = [line, *sel.reasons[c]]


def select(
    names: Sequence[str],
    scores: np.ndarray,
    features: np.ndarray,
    groups: np.ndarray,
    embed: np.ndarray,
    hs_hist: np.ndarray,
    times: np.ndarray,
    top: int,
    gate: GateParams = DEFAULT_GATE,
    diversity: DiversityParams = DEFAULT_DIVERSITY,
) -> Selection:
    """Gate, keep the best of each group, pick a diverse top ``top``; explain everything."""
    n = len(names)
    ph = _photos(names, scores, features, gate)
    sel = Selection(
        status=["duplicate"] * n,
        rank=[None] * n,
        reasons=[[] for _ in range(n)],
        kept=np.zeros(n, bool),
        gate=ph.fails,
    )
    members: dict[int, list[int]] = {}
    for k, g in enumerate(groups.tolist()):
        members.setdefault(g, []).append(k)
    cand = np.array(_keep_best_of_each_group(ph, members, sel), np.int64)
    if len(cand):
        relevance = percentile(ph.scores[cand])
        tier = (~ph.passes[cand]).astype(np.int64)  # gate failures only after every pass
        sel.picks, max_sim, nearest = mmr(
            cand, relevance, tier, top, embed, hs_hist, times, diversity
        )
        group_size = [len(members[g]) for g in groups.tolist()]
        _explain_picks(ph, cand, group_size, sel)
        _explain_left_out(ph, cand, max_sim, nearest, top, diversity, sel)
    return sel
