"""The retrain-on-growth policy (picme.registry.retrain): every branch, with real table states."""

from __future__ import annotations

import pytest

from picme.errors import InputError
from picme.registry.retrain import RetrainDecision, TableState, decide_retrain


def table(rows: int, accounts: int = 6, fingerprint: str = "a" * 64) -> dict[str, object]:
    return {"rows": rows, "accounts": accounts, "fingerprint": fingerprint}


def champion(rows: int, accounts: int = 6, fingerprint: str = "a" * 64) -> dict[str, object]:
    # The shape picme.registry.tracking.champion_info returns.
    return {"version": "3", "run_id": "r1", **table(rows, accounts, fingerprint)}


def test_no_champion_trains() -> None:
    d = decide_retrain(table(100), None)
    assert d.train
    assert "no champion" in d.reason
    assert d.champion is None


def test_empty_table_never_trains() -> None:
    d = decide_retrain(table(0, accounts=0), None)
    assert not d.train
    assert "empty" in d.reason


def test_unchanged_table_skips_and_names_the_champion() -> None:
    d = decide_retrain(table(100), champion(100))
    assert not d.train
    assert "unchanged" in d.reason and "v3" in d.reason
    assert d.growth == 0.0
    assert d.summary().startswith("skip training: ")


def test_growth_at_threshold_trains() -> None:
    d = decide_retrain(table(110, fingerprint="b" * 64), champion(100), min_growth=0.1)
    assert d.train
    assert "grew by 10.0%" in d.reason
    assert d.growth == pytest.approx(0.1)


def test_small_growth_waits_for_more_data() -> None:
    d = decide_retrain(table(105, fingerprint="b" * 64), champion(100), min_growth=0.1)
    assert not d.train
    assert "5.0%" in d.reason and "10.0%" in d.reason


def test_threshold_is_configurable() -> None:
    cur, champ = table(105, fingerprint="b" * 64), champion(100)
    assert decide_retrain(cur, champ, min_growth=0.05).train
    assert not decide_retrain(cur, champ, min_growth=0.06).train


def test_new_account_trains_even_with_small_growth() -> None:
    d = decide_retrain(table(102, accounts=7, fingerprint="b" * 64), champion(100), min_growth=0.5)
    assert d.train
    assert "accounts changed from 6 to 7" in d.reason


def test_change_without_growth_trains_only_when_asked() -> None:
    cur, champ = table(100, fingerprint="c" * 64), champion(100)
    on = decide_retrain(cur, champ, on_change=True)
    off = decide_retrain(cur, champ, on_change=False)
    assert on.train and not off.train
    assert "changed without growing" in on.reason
    assert "retraining on change is off" in off.reason


def test_champion_without_table_record_trains() -> None:
    info = {"version": "2", "run_id": "r", "rows": None, "accounts": None, "fingerprint": None}
    d = decide_retrain(table(50), info)
    assert d.train
    assert "v2 has no record" in d.reason


def test_bad_inputs_are_one_line_errors() -> None:
    with pytest.raises(InputError, match="min_growth"):
        decide_retrain(table(1), None, min_growth=-0.1)
    with pytest.raises(InputError, match="picme features"):
        decide_retrain({"rows": 3}, None)


def test_decision_dict_is_plain_data() -> None:
    d = decide_retrain(table(120, fingerprint="d" * 64), champion(100))
    data = d.as_dict()
    assert data["train"] is True
    assert data["current"] == {"rows": 120, "accounts": 6, "fingerprint": "d" * 64}
    assert data["champion"]["rows"] == 100
    assert data["champion_version"] == "3"
    assert isinstance(d, RetrainDecision)
    assert TableState.from_mapping(data["current"]) == d.current


def test_one_rule_for_growth_edits_and_removals_when_rows_are_compared() -> None:
    from picme.registry.retrain import RowChange

    cur, champ = table(105, fingerprint="b" * 64), champion(100)
    # 5% growth plus 6% of rows edited (likes refreshed): 11% changed, trains.
    grown_and_edited = decide_retrain(cur, champ, change=RowChange(5, 0, 6, 100))
    assert grown_and_edited.train and "11.0% of champion v3's rows" in grown_and_edited.reason
    # The same table, changed by 3% without growing: below 10%, skipped, the same rule.
    edited = decide_retrain(table(100, fingerprint="c" * 64), champ, change=RowChange(0, 1, 2, 100))
    assert not edited.train and "only 3.0%" in edited.reason
    # Growth alone below the threshold waits as well.
    assert not decide_retrain(cur, champ, change=RowChange(5, 0, 0, 100)).train
    # With on_change off only new rows count.
    off = decide_retrain(cur, champ, change=RowChange(5, 0, 60, 100), on_change=False)
    assert not off.train and "are new" in off.reason
