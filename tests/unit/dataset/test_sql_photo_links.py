"""sql/photo_links.sql on a tiny in-memory DuckDB: exact and near-identical photos are
linked, other photos and excluded rows are not; checked against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from picme.dataset.sql import connect, run_query


def _tables(con, rows: list[tuple[str, str, int | None, str | None]]) -> None:  # type: ignore[no-untyped-def]
    con.execute("CREATE TABLE labelled (shortcode VARCHAR, reason VARCHAR)")
    con.execute(
        "CREATE TABLE checked (shortcode VARCHAR, sha256 VARCHAR, phash_int BIGINT, reason VARCHAR)"
    )
    for code, sha, ph, reason in rows:
        con.execute("INSERT INTO labelled VALUES (?, ?)", [code, reason])
        con.execute("INSERT INTO checked VALUES (?, ?, ?, NULL)", [code, sha, ph])


def test_same_file_and_near_hash_are_linked_excluded_rows_are_not() -> None:
    con = connect()
    _tables(
        con,
        [
            ("a", "s1", 0b1111, None),
            ("b", "s1", -1, None),  # same file as a, unrelated hash
            ("c", "s2", 0b1110, None),  # one bit from a
            ("d", "s3", 0x7F00FF00FF00FF00, None),  # far from everything
            ("e", "s4", 0b1111, "few_posts"),  # same hash as a, but excluded
        ],
    )
    got = run_query(con, "photo_links", {"max_distance": 4}).fetchall()
    assert got == [("a", "b", True), ("a", "c", False)]


def _signed(u: int) -> int:
    return u - 2**64 if u >= 2**63 else u


@pytest.mark.parametrize("bits", [0, 2, 4, 7])
def test_near_links_equal_brute_force(bits: int) -> None:
    rng = np.random.default_rng(bits)
    base = rng.integers(-(2**62), 2**62, 40, dtype=np.int64)
    hashes = []
    for h in base:
        hashes.append(int(h))
        flips = rng.choice(64, size=int(rng.integers(0, 9)), replace=False)
        mask = sum(1 << int(f) for f in flips)
        hashes.append(_signed((int(h) & (2**64 - 1)) ^ mask))
    rows = [(f"p{i:03d}", f"sha{i}", h, None) for i, h in enumerate(hashes)]
    con = connect()
    _tables(con, rows)
    got = {(a, b) for a, b, _ in run_query(con, "photo_links", {"max_distance": bits}).fetchall()}
    want = {
        (ra[0], rb[0])
        for ra, rb in itertools.combinations(rows, 2)
        if bin((ra[2] ^ rb[2]) & (2**64 - 1)).count("1") <= bits
    }
    assert got == want
