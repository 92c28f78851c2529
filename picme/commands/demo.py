from __future__ import annotations

import typer

from picme.commands._common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def demo(
        accounts: int = typer.Option(6, "--accounts"),
        posts: int = typer.Option(40, "--posts", help="Posts per account."),
        epochs: int = typer.Option(4, "--epochs"),
    ) -> None:
        """Generate sample data and run the whole pipeline on embedded defaults."""
        from picme.demo import run_demo

        typer.echo(run_demo(accounts=accounts, posts=posts, epochs=epochs))
