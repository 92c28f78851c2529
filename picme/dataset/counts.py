"""What the built tables hold, read back before anything is written: counts per exclusion
reason and per split, the time span of each split, the fingerprint, and the checks that
the table matches its contract and can train a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from picme.dataset.contract import BASE_COLUMNS, METADATA_COLUMNS, SPLITS
from picme.dataset.fingerprint import fingerprint
from picme.errors import InputError, PicmeError
from picme.features.extractors import FEATURE_COLUMNS
from picme.settings import Settings

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class TableCounts:
    """Counts of the built tables; per-split counts hold every split, zeros included."""

    rows: int
    accounts: int
    fingerprint: str
    excluded: dict[str, int]
    split_rows: dict[str, int]
    split_accounts: dict[str, int]
    split_pairs: dict[str, int]


def _count_by(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in con.execute(sql).fetchall()}


def _per_split(counts: Mapping[str, int]) -> dict[str, int]:
    return {s: counts.get(s, 0) for s in SPLITS}


def count_tables(con: duckdb.DuckDBPyConnection) -> TableCounts:
    """The counts of the tables training, exclusions and pairs in ``con``."""
    excluded = _count_by(con, "SELECT reason, count(*) FROM exclusions GROUP BY reason")
    split_rows = _count_by(con, "SELECT split, count(*) FROM training GROUP BY split")
    split_accounts = _count_by(
        con, "SELECT split, count(DISTINCT owner_username) FROM training GROUP BY split"
    )
    split_pairs = _count_by(con, "SELECT split, count(*) FROM pairs GROUP BY split")
    rows, accounts, digest = fingerprint(con)
    return TableCounts(
        rows=rows,
        accounts=accounts,
        fingerprint=digest,
        excluded=excluded,
        split_rows=_per_split(split_rows),
        split_accounts=_per_split(split_accounts),
        split_pairs=_per_split(split_pairs),
    )


def check_columns(con: duckdb.DuckDBPyConnection) -> None:
    got = [r[0] for r in con.execute("DESCRIBE training").fetchall()]
    want = BASE_COLUMNS + METADATA_COLUMNS + list(FEATURE_COLUMNS)
    if got != want:
        # The SQL and the Python column lists drifted apart: a bug, not bad input.
        raise PicmeError(f"training table columns {got} differ from the contract {want}")


def check_sides(settings: Settings, counts: TableCounts) -> None:
    """An InputError when no row is usable, or when train or test is empty."""
    if counts.rows == 0:
        why = ", ".join(f"{k} {v}" for k, v in sorted(counts.excluded.items())) or "none"
        raise InputError(
            f"no post is usable for training (excluded: {why}); scrape more posts or relax "
            "the settings (PICME_SETTLE_DAYS, PICME_MIN_POSTS_PER_ACCOUNT, PICME_INCLUDE_VIDEOS)"
        )
    if counts.split_rows["train"] == 0 or counts.split_rows["test"] == 0:
        if settings.split == "account":
            raise InputError(
                f"split by account needs at least 2 usable accounts, found "
                f"{sum(counts.split_accounts.values())}: add accounts or use the time split "
                "(PICME_SPLIT=time or --split time)"
            )
        raise InputError(
            "split by time left train or test empty (all posts share one time?): "
            "add posts or use the account split"
        )


def cutoffs(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for split, lo, hi in con.execute(
        "SELECT split, min(taken_at), max(taken_at) FROM training GROUP BY split ORDER BY split"
    ).fetchall():
        out[str(split)] = {
            "first": lo.isoformat() if lo else None,
            "last": hi.isoformat() if hi else None,
        }
    return out
