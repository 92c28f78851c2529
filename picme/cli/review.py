"""``picme review``: the album is the argument, every option comes from ReviewConfig."""

from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.review.config import ReviewConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(ReviewConfig)
    def review(
        album: Path = typer.Argument(..., help="Album folder (read, never modified)."),
        config: ReviewConfig = None,  # type: ignore[assignment]  # filled by config_options
    ) -> None:
        """Review a curation in the browser: keep, reject, star, re-pick; export the result."""
        # Imported here: `picme --help` need not load Starlette, uvicorn or DuckDB.
        from picme.curate.handoff import write_sidecars
        from picme.review import export, serve, session
        from picme.settings import get_settings

        xmp = write_sidecars if config.xmp else None

        if not config.export:
            serve.check_bind(config)  # a refused --host fails before any curation runs
        review_session = session.open_session(album, config, get_settings())
        if review_session.curated_now:
            say(f"curated {review_session.album} first, into {review_session.out}")
        if config.export:
            say(export.export_review(review_session, config.export_dir, xmp=xmp).summary())
            return
        try:
            serve.serve(review_session, config, announce=lambda line: typer.echo(line), xmp=xmp)
        except KeyboardInterrupt:
            say("review stopped; every decision was stored as it was made")
