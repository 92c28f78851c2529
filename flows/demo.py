"""`picme demo`: the pipeline flow on generated data, with nothing to start.

The library never imports flows/ or Prefect, yet this command starts the pipeline flow. The
edge lives here, outside the library: pyproject.toml registers :func:`register` under the
``picme.commands`` entry-point group and ``picme.cli.app`` adds every command of that group.
Flows are imported inside the command body so ``picme --help`` stays light.
"""

from __future__ import annotations

import os

import typer

from picme.cli.common import user_errors
from picme.cli.output import say

# Set before Prefect is imported: no telemetry calls, and a temporary API server that may
# take a while to start on a busy 2-core machine.
_PREFECT_OFFLINE_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def demo(
        # Enough accounts for a test split whose evidence can earn a champion (the gate
        # refuses on a handful: see docs/models.md).
        accounts: int = typer.Option(24, "--accounts", help="Generated accounts."),
        posts: int = typer.Option(60, "--posts", help="Posts per account."),
        epochs: int = typer.Option(4, "--epochs", help="Training epochs."),
        image_size: int = typer.Option(256, "--image-size", help="Generated image side."),
        seed: int = typer.Option(0, "--seed"),
        album: bool = typer.Option(True, "--album/--no-album", help="Curate a demo album."),
        force_train: bool = typer.Option(
            False, "--force-train", help="Train even when the data has not changed."
        ),
    ) -> None:
        """Generate sample data and run the whole pipeline (Prefect ephemeral mode, MLflow on
        SQLite under PICME_HOME): ingest, features, train, evaluate, curate."""
        for key, value in _PREFECT_OFFLINE_DEFAULTS.items():
            os.environ.setdefault(key, value)

        from flows.pipeline import pipeline_flow, where_text
        from picme.training.config import TrainConfig

        result = pipeline_flow(
            accounts=accounts,
            posts=posts,
            sample_image_size=image_size,
            seed=seed,
            train=TrainConfig(epochs=epochs),
            force_train=force_train,
            demo_album=album,
        )
        trained = result.train
        if trained.train is not None:
            say(trained.train.summary)
        else:
            say(f"training skipped: {trained.reason}")
        if result.curate is not None:
            say(result.curate.summary())
        say("")
        say(where_text(result.where))
