"""Retrain flow (scheduled): refresh the lake and the training table, then train only when
the table grew or changed since the champion was trained (policy: picme.registry.retrain).

Every run publishes the decision as a Markdown artifact, so a skipped run says why.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.common import RETRAIN_KEY, load_settings, md_escape, resolve_settings, settings_payload
from flows.train import TrainOptions, train_and_evaluate
from picme.registry.retrain import DEFAULT_MIN_GROWTH
from picme.settings import Settings


@task(name="decide-retrain")
def decide_task(settings: dict[str, Any], min_growth: float, on_change: bool) -> dict[str, Any]:
    from picme.registry.retrain import check_retrain

    decision = check_retrain(load_settings(settings), min_growth=min_growth, on_change=on_change)
    return decision.as_dict()


def train_if_needed(
    settings: Settings,
    options: TrainOptions,
    *,
    min_growth: float = DEFAULT_MIN_GROWTH,
    on_change: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """Decide, record the decision, and train when it says so; called inside a flow."""
    logger = get_run_logger()
    decision = decide_task(settings_payload(settings), min_growth, on_change)
    if force and not decision["train"]:
        decision["reason"] = f"forced (would have skipped: {decision['reason']})"
        decision["train"] = True
    verb = "Training" if decision["train"] else "Training skipped"
    create_markdown_artifact(
        f"# {verb}\n\n{md_escape(decision['reason'])}\n\n"
        f"- training table now: `{md_escape(decision['current'])}`\n"
        f"- champion's table: `{md_escape(decision['champion'])}` "
        f"(version {md_escape(decision['champion_version'])})\n"
        f"- min_growth: {min_growth:.3g}, retrain_on_change: {on_change}",
        key=RETRAIN_KEY,
        description="Retrain decision",
    )
    if not decision["train"]:
        logger.info("skipping training: %s", decision["reason"])
        return {"trained": False, "reason": decision["reason"], "decision": decision}
    logger.info("training: %s", decision["reason"])
    result = train_and_evaluate(settings, options)
    return {"trained": True, "reason": decision["reason"], "decision": decision, "train": result}


@flow(name="retrain", log_prints=True)
def retrain_flow(
    home: str | None = None,
    min_growth: float = DEFAULT_MIN_GROWTH,
    retrain_on_change: bool = True,
    force: bool = False,
    train: TrainOptions | None = None,
) -> dict[str, Any]:
    """Ingest raw/, update features and the training table, then train if it grew by at
    least ``min_growth`` (a fraction: 0.1 is 10%) or changed since the champion."""
    from flows.features import features_flow
    from flows.ingest import ingest_flow

    settings = resolve_settings(home)
    settings.ensure_dirs()
    home_str = str(settings.home)
    ingest = ingest_flow(home=home_str)
    features = features_flow(home=home_str)
    outcome = train_if_needed(
        settings,
        train or TrainOptions(),
        min_growth=min_growth,
        on_change=retrain_on_change,
        force=force,
    )
    return {"ingest": ingest, "features": features, **outcome}
