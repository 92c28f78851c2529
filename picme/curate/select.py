"""Choosing: the quality gate, the best photo of each group, and a diverse top K.

Everything here works on small per-photo arrays (scores, features, hashes, embeddings,
capture times), never on pixels. Every decision comes with the words that explain it.

Quality gate (values are picme.features.extractors', computed at 512 px): a photo is *blurred*
when its contrast-adjusted sharpness (:func:`focus`) is below ``min_focus`` (that sharpness:
~0.5-1.5 blurred, ~4-5 crisp), *badly
exposed* when its mean brightness is outside [min_brightness, max_brightness] or more than
``max_clipped`` of its pixels are black or blown out, and has *eyes closed* when a face
of at least ``min_face_area`` of the frame shows no open eye. A photo that fails is
``rejected``, with its flaw as the first reason, unless it is the best of a shot that has
nothing better: then it stays a candidate, flagged, picked only after every photo that
passes (and ``rejected`` if not picked). A good kept photo outside the top K is an
``alternative``; a good photo that is not its group's best is a ``duplicate``.

Within a group the kept photo is the highest-scoring one that passes the gate (ties: the
first in file order). The top K among kept photos is chosen by maximal marginal relevance:
repeatedly take the photo maximising ``lam * relevance - (1 - lam) * max similarity to the
photos already picked``, where relevance is the photo's score percentile among kept photos
(scorer-independent: a model's logits and the heuristic's [0, 1] behave the same) and
similarity combines look (embedding cosine and hue/saturation histogram overlap) and
closeness in capture time (see :func:`similarity_to`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from picme.curate.explain import (
    Standing,
    advantages,
    album_standout,
    group_edge,
    ordinal,
    percentile,
    score_100,
    standing,
)
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

    status: list[str]  # picked, alternative, duplicate, rejected
    rank: list[int | None]
    reasons: list[list[str]]
    kept: np.ndarray  # bool: best of its group
    gate: list[list[str]]  # quality-gate failures of each photo
    picks: list[int] = field(default_factory=list)  # photo indices in rank order
    score_100: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


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


@dataclass(frozen=True)
class _Photos:
    """What every step of :func:`select` reads, computed once."""

    names: Sequence[str]
    scores: np.ndarray  # float64
    s100: np.ndarray  # 0-100: percentile of the score within the album
    features: np.ndarray
    fails: list[list[str]]  # quality-gate failures
    passes: np.ndarray  # bool: no failure
    foc: np.ndarray  # contrast-adjusted sharpness
    err: np.ndarray  # exposure error
    st: Standing  # traits and their standing in the album


def _photos(
    names: Sequence[str], scores: np.ndarray, features: np.ndarray, gate: GateParams
) -> _Photos:
    n = len(names)
    fails = gate_failures(features, gate) if n else []
    scores = np.asarray(scores, np.float64)
    foc = focus(features) if n else np.zeros(0)
    err = exposure_error(features) if n else np.zeros(0)
    return _Photos(
        names=names,
        scores=scores,
        s100=score_100(scores),
        features=features,
        fails=fails,
        passes=np.array([not f for f in fails], bool),
        foc=foc,
        err=err,
        st=standing(features, foc, err),
    )


def _keep_best_of_each_group(
    ph: _Photos, members: dict[int, list[int]], sel: Selection
) -> list[int]:
    """Mark the kept (best) photo of every group; the kept ones, by group."""
    reps: list[int] = []
    for g in sorted(members):
        ms = members[g]
        # Best = passes the gate, then highest score, then first in file order.
        best = max(ms, key=lambda k: (ph.passes[k], ph.scores[k], -k))
        sel.kept[best] = True
        reps.append(best)
    return reps


def _explain_members(ph: _Photos, members: dict[int, list[int]], sel: Selection) -> None:
    """Status and words of every photo that is not its group's best, and the best's own
    notes, once the best's fate (picked, alternative, rejected) is known.

    A sibling only says "kept X" when X really was kept (picked or an alternative); when
    the best of a shot failed the gate too and was left out, nothing of it was kept and the
    siblings say so."""
    for g in sorted(members):
        ms = members[g]
        best = next(k for k in ms if sel.kept[k])
        best_left_out = sel.status[best] == "rejected"
        for k in ms:
            if k == best:
                continue
            adv = advantages(best, k, ph.scores, ph.s100, ph.features, ph.foc, ph.err)
            if best_left_out:
                line = (
                    f"best of this shot is {ph.names[best]} ({adv}), but it failed the "
                    "quality gate too: nothing of this shot was kept"
                )
            else:
                line = f"kept {ph.names[best]}: {adv}"
            if ph.fails[k]:
                sel.status[k] = "rejected"
                sel.reasons[k] = [*ph.fails[k], line]
            else:
                sel.status[k] = "duplicate"
                sel.reasons[k] = [line]
        if ph.fails[best]:
            note = "nothing better of this shot" if len(ms) > 1 else "no other shot of it"
            kept = "kept: " if sel.status[best] == "picked" else ""
            flaws = [f"{f}; {kept}{note}" for f in ph.fails[best]]
            sel.reasons[best] = [*flaws, *sel.reasons[best]]


def _traits(ph: _Photos, p: int, siblings: list[int]) -> list[str]:
    """How ``p`` stands apart: in the album, and within its group when it has one."""
    lines = [album_standout(ph.st, p)]
    if siblings:
        eyes = ph.features[:, FEATURE_COLUMNS.index("eye_count")]
        lines.append(group_edge(ph.st, p, siblings, eyes, ph.scores))
    return lines


def _explain_picks(
    ph: _Photos, cand: np.ndarray, siblings: dict[int, list[int]], sel: Selection
) -> None:
    by_score = np.argsort(-ph.scores[cand], kind="stable")
    score_rank = np.empty(len(cand), np.int64)
    score_rank[by_score] = np.arange(1, len(cand) + 1)
    pos = {int(c): p for p, c in enumerate(cand.tolist())}
    for r, p in enumerate(sel.picks, start=1):
        sel.status[p] = "picked"
        sel.rank[p] = r
        nth = int(score_rank[pos[p]])
        place = "the highest" if nth == 1 else f"the {ordinal(nth)} highest"
        why = [f"rank {r}: score {ph.s100[p]}/100, {place} of {len(cand)} distinct shots"]
        why += _traits(ph, p, siblings[p])
        if ph.fails[p]:
            why.append("ranked after every photo that passes the quality gate")
        if nth > r:
            why.append("chosen ahead of higher-scoring photos that resemble earlier picks")
        sel.reasons[p] = why


def _explain_left_out(
    ph: _Photos,
    cand: np.ndarray,
    siblings: dict[int, list[int]],
    near: tuple[np.ndarray, np.ndarray],
    top: int,
    diversity: DiversityParams,
    sel: Selection,
) -> None:
    """Kept photos outside the top K: an alternative (good, but the pick it resembles or
    its lower score kept it out) or, failing the gate, rejected."""
    max_sim, nearest = near
    scores = ph.scores
    pick_rank = {p: r for r, p in enumerate(sel.picks, start=1)}
    lowest = min(sel.picks, key=lambda p: scores[p]) if sel.picks else None
    for c_pos, c in enumerate(cand.tolist()):
        if c in pick_rank:
            continue
        near_pos = int(nearest[c_pos])
        if near_pos >= 0 and (
            max_sim[c_pos] >= diversity.similar_note
            or (lowest is not None and scores[c] > scores[lowest])
        ):
            other = int(cand[near_pos])
            line = (
                f"not in the top {top}: resembles pick #{pick_rank[other]} "
                f"{ph.names[other]} (similarity {max_sim[c_pos]:.2f})"
            )
        elif lowest is not None:
            line = f"not in the top {top}: score {ph.s100[c]}/100 (lowest pick {ph.s100[lowest]})"
        else:
            line = f"not in the top {top}"
        if ph.passes[c]:
            sel.status[c] = "alternative"
            sel.reasons[c] = [line, *_traits(ph, c, siblings[c])]
        else:
            sel.status[c] = "rejected"
            sel.reasons[c] = [line]


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
        score_100=ph.s100,
    )
    members: dict[int, list[int]] = {}
    for k, g in enumerate(groups.tolist()):
        members.setdefault(g, []).append(k)
    cand = np.array(_keep_best_of_each_group(ph, members, sel), np.int64)
    siblings = {k: [o for o in members[g] if o != k] for k, g in enumerate(groups.tolist())}
    if len(cand):
        relevance = percentile(ph.scores[cand])
        tier = (~ph.passes[cand]).astype(np.int64)  # gate failures only after every pass
        sel.picks, max_sim, nearest = mmr(
            cand, relevance, tier, top, embed, hs_hist, times, diversity
        )
        _explain_picks(ph, cand, siblings, sel)
        _explain_left_out(ph, cand, siblings, (max_sim, nearest), top, diversity, sel)
    _explain_members(ph, members, sel)
    return sel
