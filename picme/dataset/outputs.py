"""Where the build writes: ``lake/training/`` (training, pairs and exclusions Parquet files
and ``split.json``), all or nothing, then the views of ``picme.duckdb`` over the lake.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.dataset.sql import literal
from picme.errors import InputError
from picme.settings import Settings
from picme.util.atomic import atomic_path

if TYPE_CHECKING:
    import duckdb


def training_dir(settings: Settings) -> Path:
    return settings.lake_dir / "training"


def output_paths(settings: Settings) -> dict[str, Path]:
    out = training_dir(settings)
    return {
        "training": out / "training.parquet",
        "pairs": out / "pairs.parquet",
        "exclusions": out / "exclusions.parquet",
        "split": out / "split.json",
    }


def write_outputs(
    con: duckdb.DuckDBPyConnection, paths: Mapping[str, Path], record: Mapping[str, Any]
) -> None:
    """Write every file to a temporary name first and rename them only when all are
    written, so a failure leaves the previous table, pairs and split.json as they were."""
    with contextlib.ExitStack() as stack:
        for table in ("training", "pairs", "exclusions"):
            tmp = stack.enter_context(atomic_path(paths[table]))
            con.execute(f"COPY {table} TO {literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        tmp = stack.enter_context(atomic_path(paths["split"]))
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def update_views(settings: Settings, warnings: list[str]) -> bool:
    """Point views in picme.duckdb at the lake, so `duckdb picme-data/picme.duckdb` can
    explore it. The file is single-writer: when someone holds it, the build still succeeds
    and says how to refresh the views later."""
    import duckdb

    lake = settings.lake_dir
    sources = {
        "posts": lake / "posts" / "posts.parquet",
        "media": lake / "media" / "media.parquet",
        "image_features": lake / "image_features" / "image_features.parquet",
        "profiles": lake / "profiles" / "profiles.parquet",
        "training": lake / "training" / "training.parquet",
        "pairs": lake / "training" / "pairs.parquet",
        "exclusions": lake / "training" / "exclusions.parquet",
    }
    statements = [
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
        f"{literal(str(path.resolve()))})"
        for name, path in sources.items()
        if path.is_file()
    ]
    observations = lake / "post_observations"
    if observations.is_dir() and any(observations.glob("*.parquet")):
        pattern = str((observations / "*.parquet").resolve())
        statements.append(
            "CREATE OR REPLACE VIEW post_observations AS SELECT * FROM read_parquet("
            f"{literal(pattern)}, union_by_name = true)"
        )
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
