"""The account split (sql/photo_links.sql and picme.dataset.splits, as the build runs them),
sql/split_time.sql and sql/near_duplicates.sql: splits that do not leak an account, the
future, or an image."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest

from picme.dataset.sql import connect as sql_connect
from picme.dataset.sql import create_table
from picme.dataset.steps import assign_groups
from tests.buildfixtures import NOW, account_posts, connect, load, params


def _assign(rows: list[dict[str, Any]], split: str, **settings: Any) -> dict[str, str]:
    con = connect(rows)
    p = params(min_posts_per_account=1, **settings)
    create_table(con, "checked", "checks", p)
    create_table(con, "labelled", "labels", p)
    if split == "account":
        create_table(con, "links", "photo_links", p)
        assign_groups(con, p)
    else:
        create_table(con, "assignment", f"split_{split}", p)
    return dict(con.execute("SELECT shortcode, split FROM assignment").fetchall())


def _many_accounts(n: int, per: int = 5) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rows += account_posts(f"acct{i:02d}", per, start=NOW - timedelta(days=200, minutes=i))
    return rows


def test_account_split_never_shares_an_account_and_sizes_by_fraction() -> None:
    rows = _many_accounts(20)
    got = _assign(rows, "account", test_fraction=0.2, val_fraction=0.1, seed=7)
    owner = {r["shortcode"]: r["owner_username"] for r in rows}
    sides: dict[str, set[str]] = {}
    for code, side in got.items():
        sides.setdefault(owner[code], set()).add(side)
    assert all(len(s) == 1 for s in sides.values())
    per_side = {s: sum(1 for v in sides.values() if v == {s}) for s in ("train", "val", "test")}
    assert per_side == {"test": 4, "val": 2, "train": 14}


def test_account_split_is_deterministic_per_seed() -> None:
    rows = _many_accounts(20)
    a = _assign(rows, "account", seed=1)
    assert a == _assign(list(reversed(rows)), "account", seed=1)
    assert a != _assign(rows, "account", seed=2)


@pytest.mark.parametrize(("n", "expect"), [(2, (1, 0, 1)), (3, (1, 1, 1)), (6, (1, 1, 4))])
def test_small_lakes_still_get_a_test_account(n: int, expect: tuple[int, int, int]) -> None:
    got = _assign(_many_accounts(n), "account", test_fraction=0.2, val_fraction=0.1)
    owners = {
        side: {code.split("-")[0] for code, s in got.items() if s == side}
        for side in ("test", "val", "train")
    }
    assert tuple(len(owners[s]) for s in ("test", "val", "train")) == expect


def test_time_split_puts_the_newest_posts_in_test() -> None:
    rows = _many_accounts(4, per=25)
    when = {r["shortcode"]: r["taken_at"] for r in rows}
    got = _assign(rows, "time", test_fraction=0.2, val_fraction=0.1)
    by_side = {s: [when[c] for c, v in got.items() if v == s] for s in ("train", "val", "test")}
    assert max(by_side["train"]) < min(by_side["val"]) <= max(by_side["val"]) < min(by_side["test"])
    assert abs(len(by_side["test"]) - 0.2 * len(got)) <= 1
    assert abs(len(by_side["val"]) - 0.1 * len(got)) <= 1


def _random_hash(rng: random.Random) -> int:
    return rng.getrandbits(64) - (1 << 63)


def _flip(value: int, bits: list[int]) -> int:
    unsigned = value & ((1 << 64) - 1)
    for b in bits:
        unsigned ^= 1 << b
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def _dropped(rows: list[tuple[str, str, str, int]], max_bits: int = 4) -> dict[str, str]:
    """rows: (shortcode, split, sha256, phash_int) -> {shortcode: reason} dropped."""
    con = sql_connect(threads=1)
    load(
        con,
        {
            "checked": pa.table(
                {
                    "shortcode": [r[0] for r in rows],
                    "owner_username": [f"owner-{r[0]}" for r in rows],
                    "sha256": [r[2] for r in rows],
                    "phash_int": pa.array([r[3] for r in rows], pa.int64()),
                    "reason": pa.nulls(len(rows), pa.string()),
                }
            ),
            "assignment": pa.table(
                {"shortcode": [r[0] for r in rows], "split": [r[1] for r in rows]}
            ),
        },
    )
    p = params()
    p["max_distance"] = max_bits
    con.execute("CREATE TABLE labelled AS SELECT shortcode, NULL::VARCHAR AS reason FROM checked")
    create_table(con, "links", "photo_links", p)
    create_table(con, "dropped", "near_duplicates", p)
    return dict(con.execute("SELECT shortcode, reason FROM dropped").fetchall())


def test_same_image_is_dropped_from_the_training_side() -> None:
    rng = random.Random(0)
    h = _random_hash(rng)
    rows = [
        ("tr", "train", "same", h),
        ("va", "val", "same", _random_hash(rng)),
        ("te", "test", "same", _random_hash(rng)),
        ("tr2", "train", "same2", h ^ 1),  # also one bit from tr: near, not identical
        ("tr3", "train", "same2", _random_hash(rng)),  # same image, same side: kept
    ]
    assert _dropped(rows) == {
        "tr": "same_image_across_splits",
        "va": "same_image_across_splits",
    }


@pytest.mark.parametrize("max_bits", [0, 2, 4, 7])
def test_banded_search_finds_exactly_the_brute_force_near_pairs(max_bits: int) -> None:
    rng = random.Random(max_bits)
    rows: list[tuple[str, str, str, int]] = []
    sides = ("train", "val", "test")
    for i in range(150):
        rows.append((f"r{i}", rng.choice(sides), f"sha{i}", _random_hash(rng)))
    # Plant copies 0..max_bits+2 bits away, some on other sides, some on the same side.
    for i in range(60):
        src = rng.choice(rows)
        bits = rng.sample(range(64), rng.randint(0, max_bits + 2))
        rows.append((f"c{i}", rng.choice(sides), f"csha{i}", _flip(src[3], bits)))
    rank = {"train": 0, "val": 1, "test": 2}
    expect = set()
    for a in rows:
        for b in rows:
            unsigned = (a[3] ^ b[3]) & ((1 << 64) - 1)
            if rank[a[1]] < rank[b[1]] and bin(unsigned).count("1") <= max_bits:
                expect.add(a[0])
    got = _dropped(rows, max_bits)
    assert set(got) == expect
    assert set(got.values()) <= {"near_duplicate_across_splits"}
    assert any(code.startswith("c") for code in expect) or max_bits == 0
