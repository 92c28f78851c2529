from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def ingest(
        raw_dir: list[Path] = typer.Argument(
            None, help="instaloader trees: a folder of targets or one target (default: raw/)."
        ),
        workers: int = typer.Option(0, "--workers", help="Threads for image checks (0: cores)."),
    ) -> None:
        """Read instaloader trees into the Parquet lake (idempotent, keeps like history)."""
        from picme.lake.ingest import ingest_raw
        from picme.settings import get_settings

        settings = get_settings(**({"workers": workers} if workers else {}))
        report = ingest_raw(list(raw_dir) if raw_dir else [settings.raw_dir], settings=settings)
        typer.echo(report.summary())
