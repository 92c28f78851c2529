"""Evaluate flow: a Markdown artifact with a trained model's test metrics, its MLflow run,
its registered version and whether it became the champion.

The metrics are computed by picme.training.run on the held-out test split and stored on the
MLflow run; this flow reads them back from the tracking server, so it reports on any run
(the one just trained, or the current champion when no run is given).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel

from flows.common import (
    EVALUATION_KEY,
    load_settings,
    md_escape,
    resolve_settings,
    settings_payload,
)


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


@task(name="read-mlflow-run")
def read_run_task(settings: dict[str, Any], run_id: str | None, version: str | None) -> Evaluation:
    from picme.registry.tracking import TAG_REASON, TAG_ROLE, champion_info, client

    s = load_settings(settings)
    champion = champion_info(s)
    if run_id is None:
        if champion is None:
            return Evaluation(found=False, tracking_uri=s.tracking_uri)
        run_id, version = champion["run_id"], champion["version"]
    c = client(s)
    run = c.get_run(run_id)
    tags: dict[str, str] = {}
    if version is not None:
        tags = dict(c.get_model_version(s.model_name, version).tags or {})
    return Evaluation(
        found=True,
        tracking_uri=s.tracking_uri,
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
    )


def evaluation_markdown(info: Evaluation) -> str:
    if not info.found:
        return (
            "# Evaluation\n\nNo trained model yet in "
            f"`{md_escape(info.tracking_uri)}`: run the train flow first."
        )
    version = info.version
    is_champion = version is not None and version == info.champion_version
    lines = [
        f"# Evaluation of {md_escape(info.model_name)} v{md_escape(version)}"
        if version
        else "# Evaluation (unregistered run)",
        "",
        f"- MLflow run: `{md_escape(info.run_id)}` ({md_escape(info.run_name)}), "
        f"experiment {md_escape(info.experiment_id)}",
        f"- Tracking URI: `{md_escape(info.tracking_uri)}`",
        f"- Registered version: {md_escape(version) if version else 'not registered'}",
        f"- Champion: {'yes' if is_champion else 'no'} "
        f"(current champion: v{md_escape(info.champion_version)})",
    ]
    if info.reason:
        lines.append(f"- Registry decision: {md_escape(info.reason)}")
    test = {k: v for k, v in info.metrics.items() if k.startswith("test")}
    rest = {k: v for k, v in info.metrics.items() if k not in test}
    for title, metrics in (("Test metrics", test), ("Other metrics", rest)):
        if metrics:
            lines += ["", f"## {title}", "", "| metric | value |", "|---|---|"]
            lines += [f"| {md_escape(k)} | {v:.4g} |" for k, v in metrics.items()]
    return "\n".join(lines)


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
