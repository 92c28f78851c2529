from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def curate(
        album: Path = typer.Argument(..., help="Album folder (read recursively, never modified)."),
        top: int = typer.Option(20, "--top", help="How many highlights to pick."),
        model: str | None = typer.Option(
            None, "--model", help="Model URI or 'heuristic' (default: champion if any)."
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Output folder (default: ALBUM-picme beside it; never inside it)."
        ),
        workers: int = typer.Option(0, "--workers", help="Processes (0: one per core)."),
    ) -> None:
        """Score an album, group near-duplicates, pick diverse highlights, explain each."""
        from picme.curate.run import curate_album
        from picme.settings import get_settings

        result = curate_album(
            album, top=top, model=model, out=out, workers=workers, settings=get_settings()
        )
        typer.echo(result.summary())
