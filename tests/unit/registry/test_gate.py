"""The champion gate: paired bootstrap over accounts, no free pass, failures never promote."""

from __future__ import annotations

import numpy as np
import pytest

from picme.registry.gate import PairOutcomes, compare, decide


def _outcomes(rate_by_account: dict[str, float], pairs_each: int, seed: int) -> PairOutcomes:
    rng = np.random.default_rng(seed)
    accounts, right = [], []
    for acc, rate in rate_by_account.items():
        accounts += [acc] * pairs_each
        right += (rng.random(pairs_each) < rate).astype(float).tolist()
    return PairOutcomes(np.array(accounts, dtype=object), np.array(right))


ACCOUNTS = [f"acc{i}" for i in range(12)]


def test_from_scores_counts_ties_as_half_and_skips_unscored() -> None:
    scores = np.array([3.0, 1.0, 1.0, np.nan])
    pairs = (np.array([0, 1, 0]), np.array([1, 2, 3]), np.array([1.0, 1.0, 0.0]))
    o = PairOutcomes.from_scores(scores, pairs, ["a", "a", "a", "a"])
    assert o.right[:2].tolist() == [1.0, 0.5]
    assert np.isnan(o.right[2])


def test_a_clearly_better_model_is_promoted_with_its_evidence() -> None:
    good = _outcomes(dict.fromkeys(ACCOUNTS, 0.85), 30, 1)
    heuristic = _outcomes(dict.fromkeys(ACCOUNTS, 0.65), 30, 2)
    d = decide(good, {"heuristic": heuristic, "random": PairOutcomes.chance(good)})
    assert d.promoted, d.summary()
    c = d.comparisons[0]
    assert c.low > 0 and c.n_pairs == 360 and c.n_accounts == 12
    assert c.low < c.diff < c.high
    tags = d.tags()
    assert tags["picme.gate.promoted"] == "true"
    assert tags["picme.gate.heuristic.n_pairs"] == "360"
    assert "95% interval" in d.summary()


def test_a_model_that_loses_to_the_heuristic_is_refused() -> None:
    weak = _outcomes(dict.fromkeys(ACCOUNTS, 0.55), 30, 3)
    heuristic = _outcomes(dict.fromkeys(ACCOUNTS, 0.67), 30, 4)
    d = decide(weak, {"heuristic": heuristic, "random": PairOutcomes.chance(weak)})
    assert not d.promoted
    assert d.reason.startswith("challenger: does not beat heuristic")


def test_an_interval_that_overlaps_zero_is_refused_even_with_a_higher_mean() -> None:
    """A small edge on few accounts is noise: higher mean, interval spanning 0, refused."""
    cand = _outcomes({"a": 0.9, "b": 0.4, "c": 0.7}, 8, 5)
    ref = _outcomes({"a": 0.5, "b": 0.6, "c": 0.6}, 8, 6)
    c = compare("heuristic", cand, ref)
    assert c.diff > 0 and c.low <= 0 < c.high
    assert not decide(cand, {"heuristic": ref}).promoted


def test_no_free_pass_for_the_first_model_at_chance() -> None:
    chance_like = _outcomes(dict.fromkeys(ACCOUNTS, 0.5), 30, 7)
    d = decide(chance_like, {"random": PairOutcomes.chance(chance_like)})
    assert not d.promoted


def test_a_champion_that_could_not_be_re_evaluated_blocks_promotion() -> None:
    good = _outcomes(dict.fromkeys(ACCOUNTS, 0.9), 30, 8)
    d = decide(good, {"random": PairOutcomes.chance(good), "champion v3": "model failed to load"})
    assert not d.promoted
    assert "champion v3 could not be compared" in d.reason
    assert d.tags()["picme.gate.champion_v3.failed"] == "model failed to load"


@pytest.mark.parametrize("seed", [0, 1])
def test_the_interval_is_paired_and_deterministic(seed: int) -> None:
    cand = _outcomes(dict.fromkeys(ACCOUNTS, 0.8), 20, 9)
    same = PairOutcomes(cand.account, cand.right.copy())
    c = compare("self", cand, same, seed=seed)
    # Identical outcomes: every paired resample differs by exactly 0.
    assert c.diff == c.low == c.high == 0.0
    assert compare("x", cand, PairOutcomes.chance(cand), seed=seed) == compare(
        "x", cand, PairOutcomes.chance(cand), seed=seed
    )


def test_one_test_account_still_gets_an_honest_interval_from_its_pairs() -> None:
    one = _outcomes({"solo": 0.62}, 60, 11)
    c = compare("random", one, PairOutcomes.chance(one))
    assert c.n_accounts == 1 and c.n_pairs == 60
    assert c.low < c.diff < c.high and c.high - c.low > 0.1
