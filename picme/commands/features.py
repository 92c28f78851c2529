from __future__ import annotations

import typer

from picme.commands._common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def features(
        workers: int = typer.Option(0, "--workers", help="Processes (0: one per core)."),
        split: str | None = typer.Option(None, "--split", help="'account' or 'time'."),
        threshold: float | None = typer.Option(
            None, "--threshold", help="Binary label: likes/followers above this."
        ),
        include_videos: bool = typer.Option(False, "--include-videos"),
    ) -> None:
        """Compute image features, then build the training table, labels, pairs and splits."""
        from picme.build import build_training_table
        from picme.imagefeat import update_image_features
        from picme.settings import get_settings

        overrides: dict[str, object] = {"include_videos": include_videos}
        if workers:
            overrides["workers"] = workers
        if split:
            overrides["split"] = split
        if threshold is not None:
            overrides["engagement_threshold"] = threshold
        settings = get_settings(**overrides)
        feat = update_image_features(settings=settings)
        typer.echo(feat.summary())
        report = build_training_table(settings=settings)
        typer.echo(report.summary())
