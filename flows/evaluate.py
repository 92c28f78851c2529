"""Evaluate flow: a Markdown artifact with a trained model against the baselines and the
champion (the gate's intervals), its MLflow run and registered version as links to the
MLflow UI, and whether it became the champion (picme.registry.report writes it).

The metrics are computed by picme.training.run on the held-out test split and stored on the
MLflow run; this flow reads them back from the tracking server, so it reports on any run
(the one just trained, or the current champion when no run is given).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel

from flows.common import EVALUATION_KEY, load_settings, resolve_settings, settings_payload


class Evaluation(BaseModel):
    """A trained model's MLflow run as the evaluate flow reports it; ``found`` is false when
    there was no run to report on (no run given and no champion yet)."""

    found: bool
    tracking_uri: str
    model_name: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    experiment_id: str | None = None
    version: str | None = None
    role: str | None = None
    reason: str | None = None
    champion_version: str | None = None
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    tags: dict[str, str] = {}  # the registered version's: the champion gate's evidence


@task(name="read-mlflow-run")
def read_run_task(settings: dict[str, Any], run_id: str | None, version: str | None) -> Evaluation:
    from picme.registry.report import shown_uri
    from picme.registry.tracking import TAG_REASON, TAG_ROLE, champion_info, client

    s = load_settings(settings)
    champion = champion_info(s)
    if run_id is None:
        if champion is None:
            # Prefect stores this result: a password in the URI stays out of it.
            return Evaluation(found=False, tracking_uri=shown_uri(s.tracking_uri))
        run_id, version = champion["run_id"], champion["version"]
    c = client(s)
    run = c.get_run(run_id)
    tags: dict[str, str] = {}
    if version is not None:
        tags = dict(c.get_model_version(s.model_name, version).tags or {})
    return Evaluation(
        found=True,
        tracking_uri=shown_uri(s.tracking_uri),
        model_name=s.model_name,
        run_id=run_id,
        run_name=run.info.run_name,
        experiment_id=run.info.experiment_id,
        version=version,
        role=tags.get(TAG_ROLE),
        reason=tags.get(TAG_REASON),
        champion_version=None if champion is None else champion["version"],
        metrics=dict(sorted(run.data.metrics.items())),
        params=dict(sorted(run.data.params.items())),
        tags=tags,
    )


def evaluation_markdown(info: Evaluation) -> str:
    """The model against the baselines, with its run and version linked to MLflow's UI."""
    from picme.registry.report import evaluation_markdown as markdown

    if not info.found:
        return markdown(tracking_uri=info.tracking_uri)
    return markdown(**info.model_dump(exclude={"found", "role"}))


@flow(name="evaluate", log_prints=True)
def evaluate_flow(
    home: str | None = None, run_id: str | None = None, version: str | None = None
) -> Evaluation:
    """Publish the evaluation of MLflow run ``run_id`` (default: the champion's).

    Args:
        home: PICME_HOME, the data folder (default: the PICME_HOME of the process running
            the flow).
        run_id: MLflow run to report on (default: the champion's run).
        version: Registered model version of ``run_id``, to report its registry decision.
    """
    settings = resolve_settings(home)
    info = read_run_task(settings_payload(settings), run_id, version)
    markdown = evaluation_markdown(info)
    create_markdown_artifact(markdown, key=EVALUATION_KEY, description="Model evaluation")
    print(markdown)
    return info
