"""The champion rule (picme.registry.champion), without MLflow."""

from __future__ import annotations

from picme.registry.champion import decide, decide_against, recorded_score
from picme.registry.tracking import HEADLINE, TAG_HEADLINE, TAG_SPLIT


def test_first_version_becomes_champion() -> None:
    d = decide(0.61, None, None)
    assert d.promoted and d.champion_before is None
    assert d.reason == f"first champion ({HEADLINE}=0.6100)"


def test_only_a_strictly_better_score_wins() -> None:
    win = decide(0.7, 0.65, "3")
    assert win.promoted and win.champion_before == "3" and "beats champion v3" in win.reason
    tie = decide(0.65, 0.65, "3")
    assert not tie.promoted and "does not beat champion v3" in tie.reason
    assert not decide(0.7, 0.65, "3", min_gain=0.1).promoted


def test_champion_scored_on_this_split_keeps_the_note() -> None:
    d = decide_against(0.6, "2", 0.7, "re-evaluated on the current test split")
    assert not d.promoted
    assert d.reason.endswith("(champion re-evaluated on the current test split)")
    assert decide_against(0.8, "2", 0.7).reason == decide(0.8, 0.7, "2").reason


def test_a_champion_that_cannot_be_scored_is_replaced_with_the_reason() -> None:
    d = decide_against(0.4, "2", None, "champion v2 could not be re-evaluated (OSError: gone)")
    assert d.promoted and d.champion_before == "2"
    assert d.reason == "champion v2 could not be re-evaluated (OSError: gone)"


def test_recorded_score_counts_only_on_the_same_split() -> None:
    tags = {TAG_SPLIT: "abc", TAG_HEADLINE: "0.812500"}
    assert recorded_score(tags, "abc") == 0.8125
    assert recorded_score(tags, "other") is None
    assert recorded_score({TAG_SPLIT: "abc"}, "abc") is None
