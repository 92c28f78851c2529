"""Train flow: fit a scorer on the training table, log it to MLflow, register it, and let
the registry decide whether it becomes the champion (see picme.registry.tracking)."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from pydantic import BaseModel

from flows.common import load_settings, resolve_settings, settings_payload
from flows.evaluate import Evaluation, evaluate_flow
from picme.settings import Settings
from picme.training.config import TrainConfig


class TrainRun(BaseModel):
    """One trained model: its MLflow run, its registered version and the champion gate's
    verdict, then the evaluation the evaluate subflow published."""

    summary: str
    run_id: str | None
    version: str | None
    promoted: bool
    reason: str
    metrics: dict[str, float] = {}
    evaluation: Evaluation | None = None


@task(name="train-and-register")
def train_task(settings: dict[str, Any], config: TrainConfig) -> TrainRun:
    from picme.training.launch import outcome, train_distributed

    if config.devices > 1:
        # DDP re-executes its command line: several GPUs train in a torchrun subprocess,
        # never as copies of this flow run.
        return TrainRun(**train_distributed(config, load_settings(settings)))
    from picme.training.run import train_and_register

    return TrainRun(**outcome(train_and_register(config, settings=load_settings(settings))))


@flow(name="train", log_prints=True)
def train_flow(home: str | None = None, config: TrainConfig = TrainConfig()) -> TrainRun:
    """Train one model on lake/training/ and register it; then publish its evaluation.

    Args:
        home: PICME_HOME, the data folder (default: the PICME_HOME of the process running
            the flow).
        config: What to train and how (the options of `picme train`).
    """
    return train_and_evaluate(resolve_settings(home), config)


def train_and_evaluate(settings: Settings, config: TrainConfig) -> TrainRun:
    """Train (a task), then the evaluate subflow; called inside a flow."""
    result = train_task(settings_payload(settings), config)
    print(result.summary)
    evaluation = evaluate_flow(
        home=str(settings.home), run_id=result.run_id, version=result.version
    )
    return result.model_copy(update={"evaluation": evaluation})
