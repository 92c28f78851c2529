"""Decide whether the training table has grown or changed enough to train a new model.

The scheduled retrain flow calls :func:`check_retrain`; the policy itself
(:func:`decide_retrain`) is a pure function of two table states so it can be tested and
explained without MLflow or Prefect.

The rule, in order:

1. an empty training table never trains (there is nothing to learn from);
2. no model yet, or one with no record of its table: train (with no champion, the last
   model trained, a challenger, stands in for it: the same table would train it again);
3. same fingerprint as the champion's table (every column of every row and the feature
   version, see :mod:`picme.dataset.fingerprint`): skip, nothing changed;
4. the number of accounts changed: train, since a new account shifts what "usual" means;
5. the share of the champion's rows that are new, removed or changed (row by row, from the
   row hashes logged with the champion's run) is at least ``min_growth``: train; below it,
   skip and wait for more change. Growth, edits (likes refreshed, a feature formula) and
   removals count alike. With ``on_change`` off only new rows count.

A champion trained before row hashes were logged cannot be compared row by row: then rows
that grew by at least ``min_growth`` train, and any other change trains when ``on_change``
is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from picme.dataset.fingerprint import ROW_HASHES, table_fingerprint, table_row_hashes
from picme.errors import InputError
from picme.registry.tracking import champion_info, latest_info, use_tracking

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
class RowChange:
    """Rows added, removed and changed since the champion's table of ``base`` rows."""

    added: int
    removed: int
    changed: int
    base: int

    def fraction(self, on_change: bool = True) -> float:
        moved = self.added + (self.removed + self.changed if on_change else 0)
        return moved / max(1, self.base)

    def short(self) -> str:
        return f"{self.added} new, {self.removed} removed, {self.changed} changed"


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to train, and a sentence saying why (recorded when training is skipped)."""

    train: bool
    reason: str
    current: TableState
    champion: TableState | None = None
    champion_version: str | None = None
    growth: float | None = None
    #: ``champion``, or ``challenger`` when the last model trained stands in for one.
    champion_role: str | None = None

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
            "champion_role": self.champion_role,
            "growth": self.growth,
        }


def decide_retrain(
    current: Mapping[str, Any] | TableState,
    champion: Mapping[str, Any] | None,
    *,
    min_growth: float = DEFAULT_MIN_GROWTH,
    on_change: bool = True,
    change: RowChange | None = None,
) -> RetrainDecision:
    """Apply the rule in the module docstring (``change``: the row-by-row comparison with
    the champion's table, when its run recorded the row hashes).

    ``current`` is :func:`picme.dataset.fingerprint.table_fingerprint`'s dict; ``champion`` is
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
    role = "champion" if champion is None else str(champion.get("role") or "champion")
    label = f"{role} v{version}" if version else f"the {role}"

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
            champion_role=role,
        )

    growth = (cur.rows - old.rows) / old.rows if old.rows > 0 else float("inf")

    def decision(train: bool, reason: str) -> RetrainDecision:
        return RetrainDecision(train, reason, cur, old, version, growth, role)

    if cur.fingerprint == old.fingerprint:
        return decision(
            False, f"training table unchanged since {label} was trained ({cur.short()})"
        )
    if cur.accounts != old.accounts:
        return decision(
            True, f"accounts changed from {old.accounts} to {cur.accounts} since {label}"
        )
    if change is not None:
        share = change.fraction(on_change)
        what = "new, removed or changed" if on_change else "new"
        if share >= min_growth:
            return decision(
                True,
                f"{_pct(share)} of {label}'s rows are {what} ({change.short()}), at least "
                f"the {_pct(min_growth)} required",
            )
        return decision(
            False,
            f"only {_pct(share)} of {label}'s rows are {what} ({change.short()}), below the "
            f"{_pct(min_growth)} required; waiting for more change",
        )
    if cur.rows > old.rows and growth >= min_growth:
        return decision(
            True,
            f"training table grew by {_pct(growth)} ({old.rows} -> {cur.rows} rows), "
            f"at least the {_pct(min_growth)} required",
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
    current = table_fingerprint(settings)
    # With no champion, the last model trained stands in: the gate refused it, and the
    # same table would train the same model again.
    champion = champion_info(settings) or latest_info(settings)
    change = None
    if champion is not None and champion.get("fingerprint") != current["fingerprint"]:
        change = row_change(settings, champion.get("run_id"))
    return decide_retrain(
        current, champion, min_growth=min_growth, on_change=on_change, change=change
    )


def row_change(settings: Settings, run_id: str | None) -> RowChange | None:
    """The table now against the row hashes logged with run ``run_id`` (None when that run
    has none: a champion from before they were logged)."""
    import pyarrow.parquet as pq

    if not run_id:
        return None
    try:
        import mlflow

        use_tracking(settings)
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=ROW_HASHES)
    except Exception:  # no such artifact: an older champion
        return None
    before = pq.read_table(path)
    now = table_row_hashes(settings)
    old = dict(zip(before["shortcode"].to_pylist(), before["h"].to_pylist(), strict=True))
    new = dict(zip(now["shortcode"].to_pylist(), now["h"].to_pylist(), strict=True))
    added = sum(1 for k in new if k not in old)
    changed = sum(1 for k, h in new.items() if k in old and old[k] != h)
    removed = sum(1 for k in old if k not in new)
    return RowChange(added, removed, changed, len(old))


def _pct(fraction: float) -> str:
    return "inf%" if fraction == float("inf") else f"{fraction * 100:.1f}%"


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
