from __future__ import annotations

import typer

from picme.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def train(
        model: str = typer.Option(
            "fusion", "--model", help="seed-cnn, metadata, fusion or backbone."
        ),
        loss: str = typer.Option("pairwise", "--loss", help="bce, mse, cosine or pairwise."),
        epochs: int | None = typer.Option(None, "--epochs", help="Default: per model."),
        batch_size: int = typer.Option(32, "--batch-size"),
        lr: float = typer.Option(1e-3, "--lr"),
        image_size: int | None = typer.Option(None, "--image-size", help="Default: per model."),
        arch: str | None = typer.Option(
            None, "--arch", help="Backbone architecture (default resnet50)."
        ),
        weights: str | None = typer.Option(
            None, "--weights", help="Pretrained weights file (never downloaded)."
        ),
        from_scratch: bool = typer.Option(
            False, "--from-scratch", help="Backbone from random initialisation."
        ),
        register_model: bool = typer.Option(True, "--register/--no-register"),
        devices: int = typer.Option(
            1, "--devices", help="GPUs to use; more than 1 trains with DDP (one process each)."
        ),
        seed: int | None = typer.Option(None, "--seed", help="Default: PICME_SEED."),
    ) -> None:
        """Train a model, evaluate it on the test split, log to MLflow, promote if it wins.

        With no options: the project's default model (fusion, pairwise loss)."""
        from picme.settings import get_settings
        from picme.training.run import TrainConfig, train_and_register

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
            devices=devices,
            seed=seed,
        )
        result = train_and_register(cfg, settings=get_settings())
        typer.echo(result.summary())
