from __future__ import annotations

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.training.config import TrainConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(TrainConfig)
    def train(config: TrainConfig) -> None:
        """Train a model, evaluate it on the test split, log to MLflow, promote if it wins.

        With no options (--model auto): the candidates are cross-validated on the training
        accounts and the best one is trained; it becomes champion only if it beats the
        heuristic, the baselines and the current champion on the test split. With
        --personal: your own ranker from your review feedback (model picme-personal)."""
        from picme.cli.checks import need_training_table
        from picme.settings import get_settings

        settings = get_settings()
        if config.personal:
            from picme.training.personal import train_personal

            say(train_personal(config, settings=settings).summary())
            return
        need_training_table(settings)
        if config.devices > 1:
            # DDP re-executes its command line: the GPUs train in a torchrun subprocess,
            # as from the train flow, never as copies of this command.
            from picme.training.launch import train_distributed

            say(str(train_distributed(config, settings)["summary"]))
            return
        # Lightning, torch and MLflow load only once there is something to train on.
        from picme.training.run import train_and_register

        result = train_and_register(config, settings=settings)
        say(result.summary())
