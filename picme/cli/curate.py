"""``picme curate``: the album is the argument, every option comes from CurateConfig."""

from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.curate.config import CurateConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(CurateConfig)
    def curate(
        album: Path = typer.Argument(..., help="Album folder (read recursively, never modified)."),
        config: CurateConfig = None,  # type: ignore[assignment]  # filled by config_options
    ) -> None:
        """Score an album, group near-duplicates, pick diverse highlights, explain each."""
        from picme.cli.checks import need_album

        need_album(album)
        # Imported here, after the check: the curation modules load OpenCV and SciPy.
        from picme.curate import run
        from picme.settings import get_settings

        result = run.curate(album, config, settings=get_settings())
        say(result.summary())
