"""The table's fingerprint and row hashes cover every column and the feature version."""

from __future__ import annotations

import duckdb
import pytest

from picme.dataset import fingerprint as fp
from picme.dataset.sql import connect


def _con(rows: list[tuple[str, str, float, float]]) -> duckdb.DuckDBPyConnection:
    con = connect()
    con.execute(
        "CREATE TABLE training (shortcode VARCHAR, owner_username VARCHAR, likes DOUBLE, "
        "sharpness DOUBLE)"
    )
    con.executemany("INSERT INTO training VALUES (?, ?, ?, ?)", rows)
    return con


ROWS = [("a", "u", 10.0, 0.5), ("b", "u", 20.0, 0.25), ("c", "v", 5.0, 0.75)]


def test_a_changed_feature_value_changes_the_fingerprint_and_that_rows_hash() -> None:
    before = fp.fingerprint(_con(ROWS))
    changed = [ROWS[0], ("b", "u", 20.0, 0.2500001), ROWS[2]]
    after = fp.fingerprint(_con(changed))
    assert before[:2] == after[:2] and before[2] != after[2]
    h0 = dict(fp.row_hashes(_con(ROWS)).to_pylist()[i].values() for i in range(3))
    h1 = dict(fp.row_hashes(_con(changed)).to_pylist()[i].values() for i in range(3))
    assert [k for k in h0 if h0[k] != h1[k]] == ["b"]


def test_the_order_of_rows_does_not_matter() -> None:
    assert fp.fingerprint(_con(ROWS)) == fp.fingerprint(_con(list(reversed(ROWS))))


def test_a_new_feature_version_changes_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    before = fp.fingerprint(_con(ROWS))
    monkeypatch.setattr(fp, "FEATURE_VERSION", fp.FEATURE_VERSION + 1)
    assert fp.fingerprint(_con(ROWS))[2] != before[2]
