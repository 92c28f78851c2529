"""MLflow tracking and model registry: embedded SQLite store by default, any server too.

The embedded default keeps the tracking store at ``PICME_HOME/mlflow.db`` and the artifacts
under ``PICME_HOME/mlartifacts`` (the experiment is created with that artifact location), so
nothing needs a server. ``MLFLOW_TRACKING_URI`` (or ``PICME_MLFLOW_TRACKING_URI``) pointing at
a server works the same; the server then decides where artifacts go.

Champion and challenger: a newly registered version of ``picme-scorer`` takes the alias
``champion`` only if it beats the current champion on the headline metric (test
within-account pairwise accuracy) on the same test split. When the champion was evaluated on
a different split (its split fingerprint differs), the caller re-evaluates it on the current
test split first (see ``picme.training.run``). Otherwise the new version is tagged ``challenger``.
Either way the reason is recorded as the version tag ``picme.reason``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import PicmeError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from picme.settings import Settings

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
HEADLINE = "test/pairwise_acc"

# Version tags: what champion_info reads back, and what a later comparison needs.
TAG_ROLE = "picme.role"
TAG_REASON = "picme.reason"
TAG_HEADLINE = "picme.test_pairwise_acc"
TAG_SPLIT = "picme.split_fingerprint"
TAG_TABLE = "picme.table_fingerprint"
TAG_ROWS = "picme.rows"
TAG_ACCOUNTS = "picme.accounts"
TAG_MODEL = "picme.model"
TAG_LOSS = "picme.loss"


def store_missing(uri: str) -> bool:
    """True when the tracking store is a local SQLite file that does not exist yet.

    Then there can be no champion, and we answer without importing mlflow (which would
    also create an empty database as a side effect)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return False
    return not Path(uri[len(prefix) :]).exists()


def is_embedded(settings: Settings) -> bool:
    return settings.tracking_uri.startswith("sqlite:///") and (settings.mlflow_tracking_uri is None)


def use_tracking(settings: Settings) -> None:
    """Point mlflow's global tracking and registry at this project's store.

    ``mlflow.set_tracking_uri`` also exports MLFLOW_TRACKING_URI, which Settings reads: left
    in place, the next Settings of another PICME_HOME in this process would silently use
    this store. The variable is restored to what the user had."""
    import os

    import mlflow

    if is_embedded(settings):
        settings.home.mkdir(parents=True, exist_ok=True)
    before = os.environ.get("MLFLOW_TRACKING_URI")
    uri = settings.tracking_uri
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


def client(settings: Settings) -> MlflowClient:
    from mlflow import MlflowClient

    use_tracking(settings)
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def ensure_experiment(settings: Settings) -> str:
    """The experiment id; created with its artifacts under PICME_HOME for the embedded store."""
    c = client(settings)
    exp = c.get_experiment_by_name(settings.experiment)
    if exp is not None:
        return str(exp.experiment_id)
    location = None
    if is_embedded(settings) or settings.tracking_uri.startswith("sqlite:"):
        settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
        location = settings.artifacts_dir.resolve().as_uri()
    return str(c.create_experiment(settings.experiment, artifact_location=location))


def champion_version(settings: Settings) -> ModelVersion | None:
    """The registered version holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    c = client(settings)
    try:
        return c.get_model_version_by_alias(settings.model_name, CHAMPION)
    except MlflowException:
        return None


def champion_info(settings: Settings) -> dict[str, Any] | None:
    """version, run_id, and the training table (rows/accounts/fingerprint) of the champion."""
    if store_missing(settings.tracking_uri):
        return None
    mv = champion_version(settings)
    if mv is None:
        return None
    tags = dict(mv.tags or {})

    def _num(key: str, cast: type) -> Any:
        try:
            return cast(tags[key])
        except (KeyError, ValueError):
            return None

    return {
        "version": str(mv.version),
        "run_id": mv.run_id,
        "uri": f"models:/{settings.model_name}@{CHAMPION}",
        "rows": _num(TAG_ROWS, int),
        "accounts": _num(TAG_ACCOUNTS, int),
        "fingerprint": tags.get(TAG_TABLE),
        "split_fingerprint": tags.get(TAG_SPLIT),
        "test_pairwise_acc": _num(TAG_HEADLINE, float),
        "model": tags.get(TAG_MODEL),
        "loss": tags.get(TAG_LOSS),
    }


@dataclass
class Decision:
    promoted: bool
    reason: str
    champion_before: str | None


def decide(
    new_score: float,
    champion_score: float | None,
    champion_version_id: str | None,
    *,
    min_gain: float = 0.0,
) -> Decision:
    """The champion rule, as a pure function so it is tested without MLflow."""
    if champion_version_id is None or champion_score is None:
        return Decision(True, f"first champion ({HEADLINE}={new_score:.4f})", None)
    if new_score > champion_score + min_gain:
        return Decision(
            True,
            f"beats champion v{champion_version_id} on {HEADLINE}: "
            f"{new_score:.4f} > {champion_score:.4f}",
            champion_version_id,
        )
    return Decision(
        False,
        f"does not beat champion v{champion_version_id} on {HEADLINE}: "
        f"{new_score:.4f} <= {champion_score:.4f}",
        champion_version_id,
    )


def record_decision(
    settings: Settings, version: str, decision: Decision, tags: dict[str, str]
) -> None:
    """Tag the new version, and move the alias when it won."""
    c = client(settings)
    name = settings.model_name
    for key, value in tags.items():
        c.set_model_version_tag(name, version, key, value)
    c.set_model_version_tag(name, version, TAG_REASON, decision.reason)
    if decision.promoted:
        c.set_registered_model_alias(name, CHAMPION, version)
        c.set_model_version_tag(name, version, TAG_ROLE, CHAMPION)
        if decision.champion_before is not None:
            c.set_model_version_tag(name, decision.champion_before, TAG_ROLE, "retired")
    else:
        c.set_model_version_tag(name, version, TAG_ROLE, CHALLENGER)


def require_registered(settings: Settings) -> None:
    """A one-line error when asking for the champion of an empty registry."""
    if champion_version(settings) is None:
        raise PicmeError(
            f"no champion for {settings.model_name!r} in {settings.tracking_uri}; "
            "run `picme train` first"
        )
