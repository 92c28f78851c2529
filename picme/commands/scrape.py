from __future__ import annotations

from datetime import datetime

import typer

from picme.commands._common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def scrape(
        profile: list[str] = typer.Option([], "--profile", help="Instagram profile to fetch."),
        hashtag: list[str] = typer.Option([], "--hashtag", help="Hashtag to fetch (needs login)."),
        max_posts: int | None = typer.Option(None, "--max-posts", help="At most N posts a target."),
        since: datetime | None = typer.Option(None, "--since", help="Only posts on or after DATE."),
        login: str | None = typer.Option(
            None, "--login", help="Use instaloader's saved session file of USER (never a password)."
        ),
        videos: bool = typer.Option(False, "--videos", help="Download video files too."),
    ) -> None:
        """Download posts, images and profile snapshots into raw/ (incremental, polite)."""
        from picme.scrape import scrape_targets
        from picme.settings import get_settings

        report = scrape_targets(
            profiles=profile,
            hashtags=hashtag,
            max_posts=max_posts,
            since=since,
            login=login,
            download_videos=videos,
            settings=get_settings(),
        )
        typer.echo(report.summary())
