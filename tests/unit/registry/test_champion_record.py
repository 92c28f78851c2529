"""Recording the gate's decision in a real (embedded) registry: roles, evidence, the alias,
concurrent decisions serialised, unfinished versions never champion."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from picme.registry import tracking
from picme.registry.champion import (
    COMPLETE,
    INCOMPLETE,
    TAG_STATE,
    decide_and_record,
    mark_incomplete,
)
from picme.registry.gate import GateDecision, PairOutcomes, decide
from picme.registry.recovery import recover
from picme.settings import Settings, get_settings

pytestmark = pytest.mark.slow  # MLflow's import and its SQLite store take seconds


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    s = get_settings(home=tmp_path / "home")
    c = tracking.client(s)
    c.create_registered_model(s.model_name)
    for _ in range(3):
        c.create_model_version(s.model_name, source=str(tmp_path), run_id=None)
    return s


def _outcomes(rate: float, seed: int) -> PairOutcomes:
    rng = np.random.default_rng(seed)
    acc = np.repeat([f"a{i}" for i in range(10)], 20).astype(object)
    return PairOutcomes(acc, (rng.random(200) < rate).astype(float))


def _judge(rate: float):  # type: ignore[no-untyped-def]
    def judge(before):  # type: ignore[no-untyped-def]
        cand = _outcomes(rate, 1)
        return decide(cand, {"random": PairOutcomes.chance(cand)})

    return judge


def test_a_winner_takes_the_alias_and_the_old_champion_retires(settings: Settings) -> None:
    c = tracking.client(settings)
    name = settings.model_name
    d1 = decide_and_record(settings, "1", _judge(0.8), {"picme.model": "ranker"})
    assert d1.promoted
    v1 = c.get_model_version(name, "1").tags
    assert v1["picme.role"] == "champion" and v1[TAG_STATE] == COMPLETE
    assert v1["picme.gate.random.n_pairs"] == "200" and v1["picme.model"] == "ranker"
    d2 = decide_and_record(settings, "2", _judge(0.85), {})
    assert d2.promoted
    assert str(tracking.champion_version(settings).version) == "2"  # type: ignore[union-attr]
    assert c.get_model_version(name, "1").tags["picme.role"] == "retired"
    d3 = decide_and_record(settings, "3", _judge(0.5), {})
    assert not d3.promoted
    assert c.get_model_version(name, "3").tags["picme.role"] == "challenger"
    assert str(tracking.champion_version(settings).version) == "2"  # type: ignore[union-attr]


def test_concurrent_decisions_see_each_other(settings: Settings) -> None:
    """Each judge runs under the lock and sees the champion the other one just set."""
    seen: dict[str, str | None] = {}

    def judge_for(version: str):  # type: ignore[no-untyped-def]
        def judge(before) -> GateDecision:  # type: ignore[no-untyped-def]
            seen[version] = None if before is None else str(before.version)
            time.sleep(0.5)  # a slow re-evaluation: the other training must wait
            cand = _outcomes(0.9, 2)
            return decide(cand, {"random": PairOutcomes.chance(cand)})

        return judge

    threads = [
        threading.Thread(target=decide_and_record, args=(settings, v, judge_for(v), {}))
        for v in ("1", "2")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One decided first and saw no champion; the other saw the first one's version.
    first, second = sorted(seen, key=lambda v: seen[v] is not None)
    assert seen[first] is None and seen[second] == first
    roles = {
        v: tracking.client(settings).get_model_version(settings.model_name, v).tags["picme.role"]
        for v in ("1", "2")
    }
    assert sorted(roles.values()) == ["champion", "retired"]


def test_a_half_registered_version_is_marked_and_never_champion(settings: Settings) -> None:
    mark_incomplete(settings, "3")
    notes = recover(settings)
    tags = tracking.client(settings).get_model_version(settings.model_name, "3").tags
    assert tags[TAG_STATE] == INCOMPLETE and "never champion" in tags["picme.failure"]
    assert any("version 3" in n for n in notes)
    assert tracking.champion_version(settings) is None
