"""Decide whether the training table has grown or changed enough to train a new model.

The scheduled retrain flow calls :func:`check_retrain`; the policy itself
(:func:`decide_retrain`) is a pure function of two table states so it can be tested and
explained without MLflow or Prefect.

Policy, in order:

1. an empty training table never trains (there is nothing to learn from);
2. no champion yet, or a champion with no record of its table: train;
3. same fingerprint as the champion's table: skip, nothing changed;
4. rows grew by at least ``min_growth`` (a fraction of the champion's rows): train;
5. the number of accounts changed: train, since a new account shifts what "usual" means;
6. same or fewer rows but a different fingerprint (likes refreshed, labels or split
   rebuilt, posts removed): train when ``on_change`` is true, since the champion was fitted
   to data that no longer exists as it was;
7. otherwise rows grew, but by less than ``min_growth``: skip and wait for more data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from picme.dataset.fingerprint import table_fingerprint
from picme.errors import InputError
from picme.registry.tracking import champion_info

if TYPE_CHECKING:
    from picme.settings import Settings

DEFAULT_MIN_GROWTH = 0.1


@dataclass(frozen=True)
class TableState:
    """What identifies a training table: its size and a content fingerprint."""

    rows: int
    accounts: int
    fingerprint: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TableState | None:
        """Read ``rows``/``accounts``/``fingerprint``; None when any is missing."""
        rows, accounts, fingerprint = (data.get(k) for k in ("rows", "accounts", "fingerprint"))
        if rows is None or accounts is None or fingerprint is None:
            return None
        return cls(rows=int(rows), accounts=int(accounts), fingerprint=str(fingerprint))

    def short(self) -> str:
        return f"{self.rows} rows, {self.accounts} accounts, fingerprint {self.fingerprint[:12]}"


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to train, and a sentence saying why (recorded when training is skipped)."""

    train: bool
    reason: str
    current: TableState
    champion: TableState | None = None
    champion_version: str | None = None
    growth: float | None = None

    def summary(self) -> str:
        verb = "train" if self.train else "skip training"
        return f"{verb}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """Plain types only, so the decision can travel as a Prefect result or artifact."""
        return {
            "train": self.train,
            "reason": self.reason,
            "current": asdict(self.current),
            "champion": asdict(self.champion) if self.champion else None,
            "champion_version": self.champion_version,
            "growth": self.growth,
        }


def decide_retrain(
    current: Mapping[str, Any] | TableState,
    champion: Mapping[str, Any] | None,
    *,
    min_growth: float = DEFAULT_MIN_GROWTH,
    on_change: bool = True,
) -> RetrainDecision:
    """Apply the policy in the module docstring.

    ``current`` is :func:`picme.dataset.build.table_fingerprint`'s dict; ``champion`` is
    :func:`picme.registry.tracking.champion_info`'s dict (None when there is no champion).
    """
    if min_growth < 0:
        raise InputError(f"min_growth must be a fraction >= 0 (0.1 means 10%), got {min_growth}")
    cur = current if isinstance(current, TableState) else TableState.from_mapping(current)
    if cur is None:
        raise InputError(
            "the training table state lacks rows/accounts/fingerprint; "
            "rebuild it with `picme features`"
        )
    version = None if champion is None else _str_or_none(champion.get("version"))
    label = f"champion v{version}" if version else "the champion"

    if cur.rows == 0:
        return RetrainDecision(
            False, "the training table is empty; ingest data and run features first", cur
        )
    if champion is None:
        return RetrainDecision(True, f"no champion model yet ({cur.short()})", cur)
    old = TableState.from_mapping(champion)
    if old is None:
        return RetrainDecision(
            True,
            f"{label} has no record of the table it was trained on",
            cur,
            champion_version=version,
        )

    growth = (cur.rows - old.rows) / old.rows if old.rows > 0 else float("inf")

    def decision(train: bool, reason: str) -> RetrainDecision:
        return RetrainDecision(train, reason, cur, old, version, growth)

    if cur.fingerprint == old.fingerprint:
        return decision(
            False, f"training table unchanged since {label} was trained ({cur.short()})"
        )
    if cur.rows > old.rows and growth >= min_growth:
        return decision(
            True,
            f"training table grew by {_pct(growth)} ({old.rows} -> {cur.rows} rows), "
            f"at least the {_pct(min_growth)} required",
        )
    if cur.accounts != old.accounts:
        return decision(
            True, f"accounts changed from {old.accounts} to {cur.accounts} since {label}"
        )
    if cur.rows <= old.rows:
        reason = (
            f"training table changed without growing ({old.rows} -> {cur.rows} rows, "
            f"fingerprint {old.fingerprint[:12]} -> {cur.fingerprint[:12]})"
        )
        if on_change:
            return decision(True, reason)
        return decision(False, reason + "; retraining on change is off")
    return decision(
        False,
        f"training table grew by only {_pct(growth)} ({old.rows} -> {cur.rows} rows), "
        f"below the {_pct(min_growth)} required; waiting for more data",
    )


def check_retrain(
    settings: Settings,
    *,
    min_growth: float = DEFAULT_MIN_GROWTH,
    on_change: bool = True,
) -> RetrainDecision:
    """Compare the table on disk with the one the current champion was trained on."""
    return decide_retrain(
        table_fingerprint(settings),
        champion_info(settings),
        min_growth=min_growth,
        on_change=on_change,
    )


def _pct(fraction: float) -> str:
    return "inf%" if fraction == float("inf") else f"{fraction * 100:.1f}%"


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
