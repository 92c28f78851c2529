"""``picme suggest``: the photos are the arguments, every option comes from SuggestConfig."""

from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.suggest.config import SuggestConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(SuggestConfig)
    def suggest(
        photos: list[Path] = typer.Argument(..., help="Candidate photos to post."),
        config: SuggestConfig = None,  # type: ignore[assignment]  # filled by config_options
    ) -> None:
        """Predict how each photo will do for the account, when to post it, and which first."""
        from picme.settings import get_settings
        from picme.suggest import render, run

        report = run.suggest(photos, config, settings=get_settings())
        if config.json_output:
            typer.echo(render.to_json(report))
        else:
            render.render(report)
