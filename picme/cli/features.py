from __future__ import annotations

import typer

from picme.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def features(
        workers: int = typer.Option(0, "--workers", help="Processes (0: one per core)."),
        split: str | None = typer.Option(None, "--split", help="'account' or 'time'."),
        threshold: float | None = typer.Option(
            None, "--threshold", help="Binary label: likes/followers above this."
        ),
        include_videos: bool = typer.Option(
            False,
            "--include-videos",
            help="Keep videos (their cover image); or PICME_INCLUDE_VIDEOS.",
        ),
    ) -> None:
        """Compute image features, then build the training table, labels, pairs and splits."""
        from datetime import UTC, datetime

        from picme.dataset.build import build_training_table
        from picme.dataset.params import query_parameters
        from picme.features.table import update_image_features
        from picme.settings import get_settings

        overrides: dict[str, object] = {}
        # Only a given flag overrides the environment (PICME_INCLUDE_VIDEOS=1 stays on).
        if include_videos:
            overrides["include_videos"] = True
        if workers:
            overrides["workers"] = workers
        if split:
            overrides["split"] = split
        if threshold is not None:
            overrides["engagement_threshold"] = threshold
        settings = get_settings(**overrides)
        # Bad settings fail now, not after minutes of image features.
        query_parameters(settings, datetime.now(UTC))
        feat = update_image_features(settings=settings)
        typer.echo(feat.summary())
        report = build_training_table(settings=settings)
        typer.echo(report.summary())
