"""Retrain flow (scheduled): refresh the lake and the training table, then train only when
the table grew or changed since the champion was trained (policy: picme.registry.retrain).

Every run publishes the decision as a Markdown artifact, so a skipped run says why.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel

from flows.common import RETRAIN_KEY, load_settings, resolve_settings, settings_payload
from flows.train import TrainRun, train_and_evaluate
from picme.registry.report import retrain_markdown
from picme.registry.retrain import DEFAULT_MIN_GROWTH, RetrainDecision
from picme.settings import Settings
from picme.training.config import TrainConfig


class TrainOutcome(BaseModel):
    """Whether a model was trained and why; ``train`` is the run when one was."""

    trained: bool
    reason: str
    decision: RetrainDecision
    train: TrainRun | None = None


class RetrainResult(TrainOutcome):
    """The retrain flow's outcome, after the ingest and features subflows it ran first."""

    # The stage flows' own results, whatever type each of them returns.
    ingest: Any
    features: Any


@task(name="decide-retrain")
def decide_task(settings: dict[str, Any], min_growth: float, on_change: bool) -> RetrainDecision:
    from picme.registry.retrain import check_retrain

    return check_retrain(load_settings(settings), min_growth=min_growth, on_change=on_change)


def train_if_needed(
    settings: Settings,
    config: TrainConfig,
    *,
    min_growth: float = DEFAULT_MIN_GROWTH,
    on_change: bool = True,
    force: bool = False,
) -> TrainOutcome:
    """Decide, record the decision, and train when it says so; called inside a flow."""
    logger = get_run_logger()
    decision = decide_task(settings_payload(settings), min_growth, on_change)
    if force and not decision.train:
        decision = dataclasses.replace(
            decision, train=True, reason=f"forced (would have skipped: {decision.reason})"
        )
    create_markdown_artifact(
        retrain_markdown(decision.as_dict(), min_growth=min_growth, on_change=on_change),
        key=RETRAIN_KEY,
        description="Retrain decision",
    )
    if not decision.train:
        logger.info("skipping training: %s", decision.reason)
        return TrainOutcome(trained=False, reason=decision.reason, decision=decision)
    logger.info("training: %s", decision.reason)
    result = train_and_evaluate(settings, config)
    return TrainOutcome(trained=True, reason=decision.reason, decision=decision, train=result)


@flow(name="retrain", log_prints=True)
def retrain_flow(
    home: str | None = None,
    min_growth: float = DEFAULT_MIN_GROWTH,
    retrain_on_change: bool = True,
    force: bool = False,
    train: TrainConfig = TrainConfig(),
) -> RetrainResult:
    """Ingest raw/, update features and the training table, then train if it grew by at
    least ``min_growth`` (a fraction: 0.1 is 10%) since the champion (or the last model).

    Args:
        home: PICME_HOME, the data folder (default: the PICME_HOME of the process running
            the flow).
        min_growth: Train when at least this share of the champion's rows (0.1 is 10%) are
            new, removed or changed, compared row by row.
        retrain_on_change: Count changed and removed rows too (off: only new rows count).
        force: Train whatever the decision; the artifact records what it would have been.
        train: What to train and how (the options of `picme train`).
    """
    from flows.features import features_flow
    from flows.ingest import ingest_flow

    settings = resolve_settings(home)
    settings.ensure_dirs()
    home_str = str(settings.home)
    ingest = ingest_flow(home=home_str)
    features = features_flow(home=home_str)
    outcome = train_if_needed(
        settings, train, min_growth=min_growth, on_change=retrain_on_change, force=force
    )
    return RetrainResult(**dict(outcome), ingest=ingest, features=features)
