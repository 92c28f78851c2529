"""Where the build writes: ``lake/training/`` (training, pairs and exclusions Parquet files
and ``split.json``), all or nothing, then the views of ``picme.duckdb`` over the lake.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.dataset.sql import literal
from picme.errors import InputError
from picme.lake.paths import lake_paths
from picme.lake.store import publish
from picme.settings import Settings
from picme.util.generations import new_generation

if TYPE_CHECKING:
    import duckdb


def training_dir(settings: Settings) -> Path:
    return lake_paths(settings).training_dir


def output_paths(settings: Settings) -> dict[str, Path]:
    paths = lake_paths(settings)
    return {
        "training": paths.training,
        "pairs": paths.pairs,
        "exclusions": paths.exclusions,
        "split": paths.split,
    }


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    paths: Mapping[str, Path],
    record: Mapping[str, Any],
    settings: Settings,
) -> None:
    """Publish the training set (table, pairs, exclusions, split.json) as one generation:
    written whole into a staging folder, then swapped with the old one in one step, so a
    reader sees the old set or the new set, never a mix, and a failure leaves the old one."""
    target = paths["training"].parent
    with new_generation(target, kind="training-set") as stage:
        for table in ("training", "pairs", "exclusions"):
            out = stage / paths[table].name
            con.execute(f"COPY {table} TO {literal(str(out))} (FORMAT parquet, COMPRESSION zstd)")
        split = stage / paths["split"].name
        split.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    publish(settings, ("training",))  # an object-store lake: the new set, as one generation


def view_statements(settings: Settings) -> list[str]:
    """``CREATE OR REPLACE VIEW`` over every lake table that exists: the views of
    picme.duckdb, and of ``picme sql``'s in-memory database."""
    paths = lake_paths(settings)
    names = ("posts", "media", "image_features", "profiles", "training", "pairs", "exclusions")
    sources = {name: paths.table(name) for name in names}
    statements = [
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
        f"{literal(str(path.resolve()))})"
        for name, path in sources.items()
        if path.is_file()
    ]
    observations = paths.observations_dir
    if observations.is_dir() and any(observations.glob("*.parquet")):
        pattern = str((observations / "*.parquet").resolve())
        statements.append(
            "CREATE OR REPLACE VIEW post_observations AS SELECT * FROM read_parquet("
            f"{literal(pattern)}, union_by_name = true)"
        )
    return statements


def update_views(settings: Settings, warnings: list[str]) -> bool:
    """Point views in picme.duckdb at the lake, so `duckdb picme-data/picme.duckdb` can
    explore it. The file is single-writer: when someone holds it, the build still succeeds
    and says how to refresh the views later."""
    import duckdb

    statements = view_statements(settings)
    try:
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.duckdb_path)) as con:
            for stmt in statements:
                con.execute(stmt)
    except duckdb.Error as exc:
        warnings.append(
            f"views in {settings.duckdb_path} not updated ({str(exc).splitlines()[0]}); "
            "close other DuckDB sessions on it and run `picme features` again"
        )
        return False
    return True


def read_split(settings: Settings) -> dict[str, Any]:
    """The split record written with the table (split.json)."""
    path = output_paths(settings)["split"]
    if not path.is_file():
        raise InputError(f"{path} does not exist: run `picme features` first")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is unreadable ({exc}); run `picme features` again") from exc
    return data
