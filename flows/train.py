"""Train flow: fit a scorer on the training table, log it to MLflow, register it, and let
the registry decide whether it becomes the champion (see picme.registry.tracking)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, task
from pydantic.dataclasses import dataclass

from flows.common import load_settings, resolve_settings, settings_payload
from picme.settings import Settings


@task(name="train-and-register")
def train_task(settings: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    from picme.training.run import TrainConfig, train_and_register

    result = train_and_register(TrainConfig(**config), settings=load_settings(settings))
    return {
        "summary": result.summary(),
        "run_id": result.run_id,
        "version": None if result.version is None else str(result.version),
        "promoted": bool(result.promoted),
        "reason": result.reason,
        "metrics": {k: float(v) for k, v in (result.metrics or {}).items()},
    }


@dataclass
class TrainOptions:
    """TrainConfig's fields as a flow parameter (the defaults are the CLI's).

    A pydantic dataclass rather than a BaseModel: ``register`` would shadow a BaseModel
    method, and Prefect validates and serialises dataclass parameters just as well.
    """

    model: str = "fusion"
    loss: str = "pairwise"
    epochs: int | None = None
    batch_size: int = 32
    lr: float = 1e-3
    image_size: int | None = None
    arch: str | None = None
    weights: str | None = None
    from_scratch: bool = False
    register: bool = True
    seed: int | None = None


@flow(name="train", log_prints=True)
def train_flow(
    home: str | None = None,
    model: str = "fusion",
    loss: str = "pairwise",
    epochs: int | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    image_size: int | None = None,
    arch: str | None = None,
    weights: str | None = None,
    from_scratch: bool = False,
    register_model: bool = True,
) -> dict[str, Any]:
    """Train one model on lake/training/ and register it; then publish its evaluation."""
    settings = resolve_settings(home)
    options = TrainOptions(
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
    return train_and_evaluate(settings, options)


def train_and_evaluate(settings: Settings, options: TrainOptions) -> dict[str, Any]:
    """Train (a task), then the evaluate subflow; called inside a flow."""
    from flows.evaluate import evaluate_flow

    result = train_task(settings_payload(settings), asdict(options))
    print(result["summary"])
    result["evaluation"] = evaluate_flow(
        home=str(settings.home), run_id=result["run_id"], version=result["version"]
    )
    return result
