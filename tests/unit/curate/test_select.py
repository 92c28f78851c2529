"""Quality gate, best of group, why-not lines and diversity (MMR) on synthetic records."""

from __future__ import annotations

import numpy as np
import pytest

from picme.curate.select import (
    DEFAULT_DIVERSITY,
    DiversityParams,
    gate_failures,
    percentile,
    select,
    similarity_to,
)
from picme.features.extractors import FEATURE_COLUMNS

D = 144
GOOD = {
    "brightness": 0.5,
    "contrast": 0.2,
    "saturation": 0.4,
    "colorfulness": 40.0,
    "sharpness": 4.0,
    "noise": 2.0,
    "overexposed": 0.0,
    "underexposed": 0.0,
    "edge_density": 0.1,
    "face_count": 0.0,
    "face_area": 0.0,
    "eye_count": 0.0,
}


def feats(**over: float) -> np.ndarray:
    f = {**GOOD, **over}
    return np.array([f[c] for c in FEATURE_COLUMNS], np.float32)


class Album:
    """Photos described by features, score, a look (embedding + histogram) and a time."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.names: list[str] = []
        self.feats: list[np.ndarray] = []
        self.scores: list[float] = []
        self.groups: list[int] = []
        self.embeds: list[np.ndarray] = []
        self.hists: list[np.ndarray] = []
        self.times: list[float] = []

    def look(self) -> tuple[np.ndarray, np.ndarray]:
        e = self.rng.normal(0, 1, D)
        h = np.zeros(24)
        h[self.rng.choice(24, 3, replace=False)] = 1 / 3
        return e, h

    def add(self, name, score, group, look, t=np.nan, noise=0.05, **f):  # type: ignore[no-untyped-def]
        e = look[0] + self.rng.normal(0, noise, D)
        e = e - e.mean()
        self.names.append(name)
        self.feats.append(feats(**f))
        self.scores.append(score)
        self.groups.append(group)
        self.embeds.append(np.round(e / np.linalg.norm(e) * 127).astype(np.int8))
        self.hists.append(look[1].astype(np.float32))
        self.times.append(t)

    def select(self, top: int, **kw):  # type: ignore[no-untyped-def]
        return select(
            self.names,
            np.array(self.scores),
            np.stack(self.feats),
            np.array(self.groups),
            np.stack(self.embeds),
            np.stack(self.hists),
            np.array(self.times),
            top,
            **kw,
        )


def test_gate_flags_blur_exposure_and_closed_eyes() -> None:
    rows = np.stack(
        [
            feats(),
            feats(sharpness=1.1),
            feats(brightness=0.08),
            feats(brightness=0.5, underexposed=0.4),
            feats(brightness=0.93),
            feats(face_count=1, face_area=0.1, eye_count=0),
            feats(face_count=1, face_area=0.1, eye_count=2),
            feats(face_count=1, face_area=0.001, eye_count=0),  # too small to judge eyes
            # A dark copy of a crisp photo: low raw sharpness because of low contrast only.
            feats(brightness=0.07, contrast=0.044, sharpness=1.1),
        ]
    )
    fails = gate_failures(rows)
    assert fails[0] == [] and fails[6] == [] and fails[7] == []
    assert len(fails[8]) == 1 and fails[8][0].startswith("underexposed")
    assert fails[1][0].startswith("blurred")
    assert fails[2][0].startswith("underexposed") and fails[3][0].startswith("underexposed")
    assert fails[4][0].startswith("overexposed")
    assert fails[5][0].startswith("eyes closed")


def test_blurred_and_dark_copies_lose_even_with_higher_scores() -> None:
    a = Album()
    look = a.look()
    a.add("IMG_0001.jpg", 0.9, 0, look, sharpness=1.0)  # blurred, scorer loves it anyway
    a.add("IMG_0002.jpg", 0.95, 0, look, brightness=0.07)  # dark
    a.add("IMG_0003.jpg", 0.6, 0, look)  # sharp, well exposed
    a.add("IMG_0004.jpg", 0.5, 0, look, sharpness=3.0)  # passes, but softer
    sel = a.select(top=5)
    assert sel.kept.tolist() == [False, False, True, False]
    assert sel.status == ["rejected", "rejected", "picked", "duplicate"]
    assert sel.reasons[0][0].startswith("blurred")
    assert sel.reasons[0][-1].startswith("kept IMG_0003.jpg: sharper")
    assert sel.reasons[1][0].startswith("underexposed")
    assert "better exposed" in sel.reasons[1][-1]
    # Scores in words are on the 0-100 scale: the percentile within the album.
    assert sel.reasons[3] == ["kept IMG_0003.jpg: sharper, higher score (33 vs 0)"]
    assert sel.picks == [2]


def test_eyes_open_wins_within_a_group() -> None:
    a = Album()
    look = a.look()
    a.add("blink.jpg", 0.8, 0, look, face_count=1, face_area=0.1, eye_count=0)
    a.add("open.jpg", 0.7, 0, look, face_count=1, face_area=0.1, eye_count=2)
    sel = a.select(top=1)
    assert sel.status == ["rejected", "picked"]
    assert "eyes open" in sel.reasons[0][-1]


def test_nothing_better_in_group_keeps_the_best_failing_photo() -> None:
    a = Album()
    night = a.look()
    a.add("night1.jpg", 0.3, 0, night, brightness=0.1)
    a.add("night2.jpg", 0.4, 0, night, brightness=0.12)
    for k in range(3):
        a.add(f"day{k}.jpg", 0.2 + 0.01 * k, 1 + k, a.look())
    sel = a.select(top=10)
    assert sel.kept.tolist() == [False, True, True, True, True]
    assert any("nothing better of this shot" in r for r in sel.reasons[1])
    assert "ranked after every photo that passes the quality gate" in sel.reasons[1]
    # Photos failing the gate are picked only after every photo that passes.
    assert sel.rank[1] == 4 and sorted(sel.rank[2:]) == [1, 2, 3]  # type: ignore[type-var]
    sel = a.select(top=2)
    assert sel.status[1] == "rejected" and sel.rank[1] is None
    # Left out, the best of the night shots is rejected for its flaw, and its sibling does
    # not claim it was kept.
    assert sel.reasons[1][0].startswith("underexposed") and "kept" not in sel.reasons[1][0]
    assert sel.status[0] == "rejected"
    assert "kept" not in sel.reasons[0][-1].split(":")[0]
    assert "nothing of this shot was kept" in sel.reasons[0][-1]
    # The good day shot outside the top 2 is an alternative, not rejected.
    assert sel.status[2] == "alternative" and sel.reasons[2][0].startswith("not in the top 2")


def test_kept_photo_and_its_siblings_always_agree() -> None:
    """Whatever K, a sibling saying "kept X" means X is picked or an alternative."""
    a = Album()
    for g in range(5):
        look = a.look()
        a.add(f"b{g}_1.jpg", 0.5 + 0.05 * g, g, look)
        a.add(f"b{g}_2.jpg", 0.4 + 0.05 * g, g, look, sharpness=1.0)
        a.add(f"b{g}_3.jpg", 0.3 + 0.05 * g, g, look, sharpness=3.0)
    for top in (1, 2, 5, 10):
        sel = a.select(top=top)
        by_name = dict(zip(a.names, sel.status, strict=True))
        for k, reasons in enumerate(sel.reasons):
            for r in reasons:
                if r.startswith("kept "):
                    kept = r.removeprefix("kept ").split(":")[0]
                    assert by_name[kept] in ("picked", "alternative"), (top, a.names[k], r)
        assert sel.status.count("picked") == min(top, 5)
        assert sel.status.count("alternative") == 5 - min(top, 5)
        assert sel.status.count("rejected") == 5  # the blurred copies, flaw first
        assert all(
            sel.reasons[k][0].startswith("blurred")
            for k in range(len(a.names))
            if sel.status[k] == "rejected"
        )


def test_reasons_say_what_sets_each_pick_apart() -> None:
    a = Album()
    a.add("sharp.jpg", 0.9, 0, a.look(), sharpness=6.0)
    a.add("colour.jpg", 0.8, 1, a.look(), colorfulness=90.0)
    a.add("contrast.jpg", 0.7, 2, a.look(), contrast=0.4, sharpness=4.4)
    for k in range(5):
        a.add(f"plain{k}.jpg", 0.3 + 0.01 * k, 3 + k, a.look(), noise=3.0 + k)
    burst = a.look()
    a.add("burst_best.jpg", 0.85, 9, burst, sharpness=5.0, brightness=0.5)
    a.add("burst_soft.jpg", 0.6, 9, burst, sharpness=3.5, brightness=0.3)
    sel = a.select(top=4)
    why = {a.names[p]: sel.reasons[p] for p in sel.picks}
    assert "sharper than" in why["sharp.jpg"][1]
    assert "more colourful than" in why["colour.jpg"][1]
    assert "more contrast than" in why["contrast.jpg"][1]
    assert why["sharp.jpg"][1] != why["colour.jpg"][1] != why["contrast.jpg"][1]
    assert (
        "best of 2 near-duplicates: sharpest, best exposed, highest score" in why["burst_best.jpg"]
    )


def test_three_shots_of_one_sunset_do_not_crowd_out_the_trip() -> None:
    a = Album()
    sunset = a.look()
    t0 = 10_000.0
    # Three different framings of one sunset (not near-duplicates), the best-scored photos.
    for k, s in enumerate((0.95, 0.93, 0.91)):
        a.add(f"sunset{k}.jpg", s, k, sunset, t=t0 + 30 * k, noise=0.3)
    for k in range(12):
        a.add(f"trip{k:02d}.jpg", 0.85 - 0.03 * k, 3 + k, a.look(), t=t0 + 3600 * (k + 1))
    sel = a.select(top=4)
    picked = [a.names[p] for p in sel.picks]
    assert picked[0] == "sunset0.jpg"
    assert sum(n.startswith("sunset") for n in picked) == 1, picked
    not_picked = sel.reasons[a.names.index("sunset1.jpg")][0]
    assert "resembles pick #1 sunset0.jpg" in not_picked
    # Without the novelty term the sunsets would take three of four places.
    greedy = a.select(top=4, diversity=DiversityParams(lam=1.0))
    assert sum(a.names[p].startswith("sunset") for p in greedy.picks) == 3


def test_similarity_uses_look_and_capture_time() -> None:
    rng = np.random.default_rng(1)
    e = rng.normal(0, 1, D)
    e = np.round((e - e.mean()) / np.linalg.norm(e - e.mean()) * 127).astype(np.int8)
    embed = np.stack([e, e, e])
    hist = np.full((3, 24), 1 / 24, np.float32)
    times = np.array([0.0, 10.0, 86400.0])
    sim = similarity_to(0, embed, hist, times)
    assert sim[0] == pytest.approx(1.0, abs=0.01)
    assert sim[1] > 0.95 and sim[2] == pytest.approx(0.6, abs=0.01)
    no_time = similarity_to(0, embed, hist, np.full(3, np.nan))
    assert no_time[1] == pytest.approx(0.8, abs=0.01)
    assert DEFAULT_DIVERSITY.lam == 0.7


def test_percentile_ties_and_single() -> None:
    assert percentile(np.array([3.0])).tolist() == [1.0]
    assert percentile(np.array([1.0, 2.0, 2.0, 5.0])).tolist() == [0.0, 0.5, 0.5, 1.0]


def test_ties_are_broken_by_file_order() -> None:
    a = Album()
    look = a.look()
    a.add("b.jpg", 0.5, 0, look)
    a.add("c.jpg", 0.5, 0, look)
    sel = a.select(top=1)
    assert sel.status == ["picked", "duplicate"]
    assert sel.reasons[1] == ["kept b.jpg: same score, earlier in file order"]


def test_top_larger_than_album_picks_every_distinct_shot() -> None:
    a = Album()
    for k in range(4):
        a.add(f"p{k}.jpg", 0.1 * k, k, a.look())
    sel = a.select(top=100)
    assert sorted(r for r in sel.rank if r is not None) == [1, 2, 3, 4]
    assert sel.picks[0] == 3 and sel.reasons[3][0].startswith("rank 1: score 100/100, the highest")
