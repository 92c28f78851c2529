"""The training table: labels, metadata features, exclusions, ranking pairs and leak-free
splits, computed by the DuckDB queries in ``sql/`` over the lake's Parquet files.

``build_training_table(settings)`` reads ``lake/posts``, ``lake/media`` and
``lake/image_features`` and writes, all or nothing, under ``lake/training/``:
``training.parquet``, ``pairs.parquet``, ``exclusions.parquet`` and ``split.json``; then
it points views in ``picme.duckdb`` at the lake. docs/features.md explains every column
and rule; the queries are the reference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from picme.dataset.contract import METADATA_COLUMNS, SPLITS
from picme.dataset.counts import TableCounts, check_columns, check_sides, count_tables, cutoffs
from picme.dataset.inputs import load_inputs
from picme.dataset.outputs import output_paths, training_dir, update_views, write_outputs
from picme.dataset.params import json_params, query_parameters
from picme.dataset.steps import build_connection, run_steps
from picme.features.extractors import FEATURE_COLUMNS
from picme.settings import Settings
from picme.util.locks import exclusive

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build produced and what it left out, with counts for every reason."""

    rows: int
    accounts: int
    excluded: dict[str, int]
    fingerprint: str
    split: str
    split_rows: dict[str, int] = field(default_factory=dict)
    split_accounts: dict[str, int] = field(default_factory=dict)
    pairs: int = 0
    split_pairs: dict[str, int] = field(default_factory=dict)
    posts_in: int = 0
    null_rates: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    out_dir: Path | None = None
    views_updated: bool = False
    # What no split crosses: "account" (accounts and photos), "photo_cluster" (photos and
    # their near-duplicates; accounts may span splits) or "time" (the time split's cut-off).
    guarantee: str = "account"

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded.values())

    def summary(self) -> str:
        sides = ", ".join(f"{s} {self.split_rows.get(s, 0)}" for s in SPLITS)
        lines = [
            f"training table: {self.rows} rows from {self.accounts} accounts "
            f"({sides}; split by {self.split}, {self.guarantee.replace('_', ' ')}s never "
            f"cross a split), {self.pairs} ranking pairs",
            f"posts read: {self.posts_in}; excluded: {self.n_excluded}"
            + (
                " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.excluded.items())) + ")"
                if self.excluded
                else ""
            ),
            f"fingerprint {self.fingerprint[:16]}; written to {self.out_dir}",
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def build_training_table(settings: Settings, *, now: datetime | None = None) -> BuildReport:
    """Build the training table, pairs and exclusions from the lake (see module doc).

    ``now`` (default: the current time) decides which posts are too young to count and is
    recorded in split.json; pass it to rebuild a table exactly.
    """
    # One build per home at a time: a second one waits, then builds from the same lake.
    with exclusive(
        settings.home / "locks" / "build.lock",
        "another `picme features` is building the training table and did not finish",
        wait=3600.0,
    ):
        return _build(settings, now)


def _build(settings: Settings, now: datetime | None) -> BuildReport:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    params = query_parameters(settings, now)
    warnings: list[str] = []
    timings: dict[str, float] = {}

    def timed(label: str, t0: float) -> float:
        t1 = time.perf_counter()
        timings[label] = round(t1 - t0, 4)
        return t1

    con = build_connection(settings)
    try:
        t = time.perf_counter()
        posts_in, null_rates = load_inputs(con, settings, warnings)
        t = timed("inputs", t)

        plan = run_steps(con, params, settings.split, timings=timings, keep_intermediate=False)
        if plan is not None:
            warnings.extend(plan.notes)
        check_columns(con)
        t = time.perf_counter()

        counts = count_tables(con)
        check_sides(settings, counts)
        spans = cutoffs(con)
        t = timed("counts", t)

        report = BuildReport(
            rows=counts.rows,
            accounts=counts.accounts,
            excluded=counts.excluded,
            fingerprint=counts.fingerprint,
            split=settings.split,
            split_rows=counts.split_rows,
            split_accounts=counts.split_accounts,
            pairs=sum(counts.split_pairs.values()),
            split_pairs=counts.split_pairs,
            posts_in=posts_in,
            null_rates=null_rates,
            timings=timings,
            warnings=warnings,
            out_dir=training_dir(settings),
            guarantee=plan.guarantee if plan is not None else "time",
        )
        record = _split_record(settings, report, counts, spans, params)
        write_outputs(con, output_paths(settings), record, settings)
        t = timed("write", t)
    finally:
        con.close()

    report.views_updated = update_views(settings, warnings)
    timings["views"] = round(time.perf_counter() - t, 4)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.info("%s", report.summary())
    return report


def _split_record(
    settings: Settings,
    report: BuildReport,
    counts: TableCounts,
    spans: Mapping[str, Any],
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """What split.json records: how the split was made, what it holds, from which input."""
    return {
        "strategy": settings.split,
        "guarantee": report.guarantee,
        "seed": settings.seed,
        "test_fraction": settings.test_fraction,
        "val_fraction": settings.val_fraction,
        "rows": counts.rows,
        "accounts": counts.accounts,
        "fingerprint": counts.fingerprint,
        "counts": report.split_rows,
        "accounts_per_split": report.split_accounts,
        "pairs": report.split_pairs,
        "cutoffs": spans,
        "excluded": counts.excluded,
        "posts_in": report.posts_in,
        "null_rates": report.null_rates,
        "params": json_params(params),
        "feature_columns": list(FEATURE_COLUMNS),
        "metadata_columns": list(METADATA_COLUMNS),
        "built_at": datetime.now(UTC).isoformat(),
    }
