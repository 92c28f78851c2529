"""`picme ingest`: RAW_DIR... and the fields of picme.lake.config.IngestConfig."""

from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.lake.config import IngestConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(IngestConfig)
    def ingest(
        raw_dir: list[Path] = typer.Argument(
            None, help=IngestConfig.model_fields["raw_dirs"].description
        ),
        config: IngestConfig = None,  # type: ignore[assignment]
    ) -> None:
        """Read instaloader trees into the Parquet lake (idempotent, keeps like history)."""
        # pyarrow and DuckDB load only for the command that uses them.
        from picme.lake.ingest import ingest

        report = ingest(config.model_copy(update={"raw_dirs": list(raw_dir or [])}))
        say(report.summary())
