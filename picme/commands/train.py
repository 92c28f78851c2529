from __future__ import annotations

import typer

from picme.commands._common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def train(
        model: str = typer.Option("fusion", "--model", help="Registered model name."),
        loss: str = typer.Option("pairwise", "--loss", help="bce, mse, cosine or pairwise."),
        epochs: int | None = typer.Option(None, "--epochs"),
        batch_size: int = typer.Option(32, "--batch-size"),
        lr: float = typer.Option(1e-3, "--lr"),
        image_size: int | None = typer.Option(None, "--image-size"),
        arch: str | None = typer.Option(None, "--arch", help="Backbone architecture name."),
        weights: str | None = typer.Option(None, "--weights", help="Pretrained weights file."),
        from_scratch: bool = typer.Option(False, "--from-scratch"),
        register_model: bool = typer.Option(True, "--register/--no-register"),
    ) -> None:
        """Train a model, evaluate it on the test split, log to MLflow, promote if it wins."""
        from picme.settings import get_settings
        from picme.train import TrainConfig, train_and_register

        cfg = TrainConfig(
            model=model,
            loss=loss,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            image_size=image_size,
            arch=arch,
            weights=weights,
            from_scratch=from_scratch,
            register=register_model,
        )
        result = train_and_register(cfg, settings=get_settings())
        typer.echo(result.summary())
