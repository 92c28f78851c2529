"""sql/pairs.sql (ranking pairs), sql/exclusions.sql and sql/fingerprint.sql."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest

from picme.dataset.sql import connect as sql_connect
from picme.dataset.sql import create_table, run_query
from tests.buildfixtures import NOW, load, params

_TS = pa.timestamp("us", tz="UTC")


def _training(rows: list[tuple[str, str, str, float, float]]) -> pa.Table:
    """rows: (owner, split, shortcode, days since start, likes)."""
    start = NOW - timedelta(days=300)
    return pa.table(
        {
            "owner_username": [r[0] for r in rows],
            "split": [r[1] for r in rows],
            "shortcode": [r[2] for r in rows],
            "taken_at": pa.array([start + timedelta(days=r[3]) for r in rows], _TS),
            "log_likes": [math.log1p(r[4]) for r in rows],
        }
    )


def _pairs(rows: list[tuple[str, str, str, float, float]], **over: Any) -> list[dict[str, Any]]:
    con = sql_connect(threads=1)
    load(con, {"training": _training(rows)})
    p = params(**{k: v for k, v in over.items() if k != "max_neighbours"})
    if "max_neighbours" in over:
        p["max_neighbours"] = over["max_neighbours"]
    create_table(con, "pairs", "pairs", p)
    cur = con.execute("SELECT * FROM pairs")
    names = [d[0] for d in cur.description]
    assert names == ["owner_username", "shortcode_a", "shortcode_b", "target", "split"]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_pairs_follow_window_margin_account_and_split() -> None:
    rows = [
        ("a", "train", "a0", 0, 100),
        ("a", "train", "a1", 10, 300),  # vs a0: 10 days, log diff 1.1 -> pair
        ("a", "train", "a2", 20, 310),  # vs a1: diff 0.03 <= margin -> no pair
        ("a", "train", "a3", 45, 20),  # vs a1: 35 days > window; vs a2: 25 days -> pair
        ("b", "train", "b0", 0, 1000),  # other account: never paired with a*
        ("b", "test", "b1", 1, 10),  # other split of the same account: not paired
    ]
    got = _pairs(rows, pair_window_days=30, pair_margin=0.2)
    likes = {r[2]: r[4] for r in rows}
    assert {frozenset((g["shortcode_a"], g["shortcode_b"])) for g in got} == {
        frozenset(p) for p in [("a0", "a1"), ("a0", "a2"), ("a2", "a3")]
    }
    for g in got:
        assert g["owner_username"] == "a" and g["split"] == "train"
        assert g["target"] == int(likes[g["shortcode_a"]] > likes[g["shortcode_b"]])


def test_each_pair_appears_once_and_targets_are_not_all_one_way() -> None:
    rows = [("a", "train", f"p{i}", i, 2 ** (i % 7) * 10) for i in range(40)]
    got = _pairs(rows, pair_window_days=1000, pair_margin=0.1)
    keys = [frozenset((g["shortcode_a"], g["shortcode_b"])) for g in got]
    assert len(keys) == len(set(keys))
    likes = {r[2]: r[4] for r in rows}
    expect = {
        frozenset((x[2], y[2]))
        for x, y in itertools.combinations(rows, 2)
        if abs(math.log1p(likes[x[2]]) - math.log1p(likes[y[2]])) > 0.1
    }
    assert set(keys) == expect
    share = sum(g["target"] for g in got) / len(got)
    assert 0.3 < share < 0.7  # "a" is not simply the earlier or the better post


def test_each_post_is_paired_with_at_most_its_next_neighbours() -> None:
    rows = [("a", "train", f"p{i:02d}", i / 24, (i % 2) * 1000 + 10) for i in range(30)]
    got = _pairs(rows, max_neighbours=3, pair_margin=0.1)
    order = {r[2]: i for i, r in enumerate(rows)}
    gaps = {abs(order[g["shortcode_a"]] - order[g["shortcode_b"]]) for g in got}
    assert gaps == {1, 3}  # neighbours 1 and 3 alternate in likes; 2 has the same likes


def test_exclusions_list_every_reason_once() -> None:
    con = sql_connect(threads=1)
    load(
        con,
        {
            "labelled": pa.table(
                {
                    "shortcode": ["k", "h", "v"],
                    "owner_username": ["a", "a", "b"],
                    "reason": [None, "hidden_likes", "video"],
                }
            ),
            "dropped": pa.table(
                {
                    "shortcode": ["d"],
                    "owner_username": ["c"],
                    "reason": ["near_duplicate_across_splits"],
                }
            ),
        },
    )
    create_table(con, "exclusions", "exclusions", {})
    assert sorted(con.execute("SELECT * FROM exclusions").fetchall()) == [
        ("d", "c", "near_duplicate_across_splits"),
        ("h", "a", "hidden_likes"),
        ("v", "b", "video"),
    ]


def _fingerprint(table: pa.Table) -> tuple[int, int, str]:
    con = sql_connect(threads=1)
    load(con, {"training": table})
    row = run_query(con, "fingerprint", {"feature_version": 1}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


@pytest.fixture
def small_table() -> pa.Table:
    return pa.table(
        {
            "shortcode": ["x", "y", "z"],
            "owner_username": ["a", "a", "b"],
            "sha256": ["s1", "s2", "s3"],
            "likes": [1, 2, 3],
            "followers": [10, 10, 20],
            "label": [0, 1, 0],
            "label_rel": [1, 0, 1],
            "split": ["train", "train", "test"],
            "brightness": [0.1, 0.2, 0.3],
        }
    )


def test_fingerprint_ignores_row_order_but_not_feature_values(small_table: pa.Table) -> None:
    rows, accounts, fp = _fingerprint(small_table)
    assert (rows, accounts, len(fp)) == (3, 2, 64)
    assert _fingerprint(small_table.take([2, 0, 1]))[2] == fp
    # A changed feature value (a new formula, say) is a changed table: retraining sees it.
    brighter = small_table.set_column(8, "brightness", pa.array([0.9, 0.9, 0.9]))
    assert _fingerprint(brighter)[2] != fp


@pytest.mark.parametrize("column", ["label", "label_rel", "likes", "split", "sha256"])
def test_fingerprint_changes_with_content(small_table: pa.Table, column: str) -> None:
    i = small_table.schema.get_field_index(column)
    changed = {
        "label": [1, 0, 1],
        "label_rel": [1, 0, 0],
        "likes": [1, 2, 4],
        "split": ["test", "train", "test"],
        "sha256": ["s1", "s2", "s9"],
    }[column]
    other = small_table.set_column(i, column, pa.array(changed, small_table.schema.field(i).type))
    assert _fingerprint(other)[2] != _fingerprint(small_table)[2]


def test_fingerprint_of_an_empty_table_is_stable(small_table: pa.Table) -> None:
    empty = small_table.slice(0, 0)
    assert _fingerprint(empty) == _fingerprint(empty) == (0, 0, _fingerprint(empty)[2])
    assert _fingerprint(empty)[2] != _fingerprint(small_table)[2]
    # Rows are not summed in a way that lets two of them stand for one.
    assert _fingerprint(small_table.slice(0, 1))[2] != _fingerprint(small_table.slice(0, 2))[2]
