from __future__ import annotations

from pathlib import Path

import typer

from picme.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def generate(
        out: Path | None = typer.Option(None, "--out", help="Target folder (default: raw/)."),
        accounts: int = typer.Option(6, "--accounts", help="Number of accounts."),
        posts: int = typer.Option(40, "--posts", help="Posts per account."),
        seed: int = typer.Option(0, "--seed"),
        image_size: int = typer.Option(256, "--image-size", help="Long side of images (px)."),
    ) -> None:
        """Write a sample instaloader tree with a learnable image/engagement relation."""
        from picme.settings import get_settings
        from picme.synthetic.instagram import generate_sample

        settings = get_settings()
        summary = generate_sample(
            out or settings.raw_dir,
            n_accounts=accounts,
            posts_per_account=posts,
            seed=seed,
            image_size=image_size,
        )
        typer.echo(summary.summary())
