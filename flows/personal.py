"""Personal flow: learn a person's own ranker from their keep/reject feedback (the
``feedback`` table of the lake), register it as ``picme-personal`` and let the champion's
gate decide (see picme.training.personal)."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from pydantic import BaseModel

from flows.common import load_settings, resolve_settings, settings_payload
from picme.training.config import TrainConfig


class PersonalRun(BaseModel):
    """One personal ranker: its MLflow run, its registered version and the gate's verdict."""

    summary: str
    run_id: str | None
    version: str | None
    promoted: bool
    reason: str
    metrics: dict[str, float] = {}


@task(name="train-personal")
def personal_task(settings: dict[str, Any], config: TrainConfig) -> PersonalRun:
    from picme.training.personal import train_personal

    result = train_personal(config, settings=load_settings(settings))
    return PersonalRun(
        summary=result.summary(),
        run_id=result.run_id,
        version=result.version,
        promoted=result.promoted,
        reason=result.reason,
        metrics={k: float(v) for k, v in result.metrics.items()},
    )


@flow(name="train-personal", log_prints=True)
def personal_flow(
    home: str | None = None,
    model: str = "auto",
    seed: int | None = None,
) -> PersonalRun:
    """Train the personal ranker on the current feedback and register it as picme-personal.

    Args:
        home: PICME_HOME, the data folder (default: the PICME_HOME of the process running
            the flow).
        model: auto (linear-pairwise, for a few hundred decisions), ranker or
            linear-pairwise.
        seed: Seed of the held-out split and the fit (default: PICME_SEED).
    """
    config = TrainConfig(personal=True, model=model, seed=seed)
    result = personal_task(settings_payload(resolve_settings(home)), config)
    print(result.summary)
    return result
