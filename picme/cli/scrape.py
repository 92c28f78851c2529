from __future__ import annotations

from datetime import datetime

import typer

from picme.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def scrape(
        profile: list[str] = typer.Option([], "--profile", help="Instagram profile to fetch."),
        hashtag: list[str] = typer.Option([], "--hashtag", help="Hashtag to fetch (needs login)."),
        max_posts: int | None = typer.Option(
            None, "--max-posts", help="At most N new posts a target."
        ),
        since: datetime | None = typer.Option(
            None, "--since", help="Only posts on or after DATE (UTC)."
        ),
        login: str | None = typer.Option(
            None,
            "--login",
            help="Use instaloader's saved session file of USER (never a password; create it "
            "with `instaloader --login USER`).",
        ),
        videos: bool = typer.Option(False, "--videos", help="Download video files too."),
        max_requests: int | None = typer.Option(
            None, "--max-requests", help="Stop after N requests (default PICME_MAX_REQUESTS)."
        ),
    ) -> None:
        """Download posts, images and profile snapshots into raw/ (incremental, polite)."""
        from picme.scrape.run import ScrapeError, scrape_targets
        from picme.settings import get_settings

        overrides: dict[str, object] = {}
        if max_requests is not None:
            overrides["max_requests"] = max_requests
        try:
            report = scrape_targets(
                profiles=profile,
                hashtags=hashtag,
                max_posts=max_posts,
                since=since,
                login=login,
                download_videos=videos,
                settings=get_settings(**overrides),
            )
        except ScrapeError as exc:
            # What was saved before the run stopped is worth showing beside the reason.
            if exc.report is not None:
                typer.echo(exc.report.summary())
            raise
        except KeyboardInterrupt:
            typer.secho(
                "interrupted: complete posts are kept; run again to resume",
                fg=typer.colors.YELLOW,
                err=True,
            )
            raise typer.Exit(code=130) from None
        typer.echo(report.summary())
        for line in report.errors:
            typer.secho(f"error: {line}", fg=typer.colors.RED, err=True)
        if report.errors:
            raise typer.Exit(code=2)
