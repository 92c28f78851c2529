"""`picme scrape`: its options are the fields of picme.scrape.config.ScrapeConfig."""

from __future__ import annotations

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.scrape.config import ScrapeConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(ScrapeConfig)
    def scrape(config: ScrapeConfig = None) -> None:  # type: ignore[assignment]
        """Download posts, images and profile snapshots into raw/ (incremental, polite)."""
        # instaloader loads only for the command that uses it.
        from picme.scrape.run import ScrapeError, scrape

        try:
            report = scrape(config)
        except ScrapeError as exc:
            # What was saved before the run stopped is worth showing beside the reason.
            if exc.report is not None:
                say(exc.report.summary())
            raise
        except KeyboardInterrupt:
            typer.secho(
                "interrupted: complete posts are kept; run again to resume",
                fg=typer.colors.YELLOW,
                err=True,
            )
            raise typer.Exit(code=130) from None
        say(report.summary())
        for line in report.errors:
            typer.secho(f"error: {line}", fg=typer.colors.RED, err=True)
        if report.errors:
            raise typer.Exit(code=2)
