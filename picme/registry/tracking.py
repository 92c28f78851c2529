"""MLflow tracking and model registry: embedded SQLite store by default, any server too.

The embedded default keeps the tracking store at ``PICME_HOME/mlflow.db`` and the artifacts
under ``PICME_HOME/mlartifacts`` (the experiment is created with that artifact location), so
nothing needs a server. ``MLFLOW_TRACKING_URI`` (or ``PICME_MLFLOW_TRACKING_URI``) pointing at
a server works the same; the server then decides where artifacts go.

Here: the client, the experiment, the version tags and the champion lookup. The champion
rule and the record of each decision are in ``picme.registry.champion``.

mlflow is imported inside the functions: ``picme.scoring.api`` (curation's path) imports this
module, and asking for a champion of a store that does not exist must not import mlflow.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import PicmeError
from picme.util.locks import exclusive

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

#: The experiment tag MLflow's UI reads to choose its view; without it the UI opens the
#: GenAI (traces) view, where training runs do not show. The value is the UI's
#: ``custom_model_development`` kind (server/js ``ExperimentKind``), its model-training view.
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"


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


#: Seconds to wait for a tracking server before saying it does not answer.
SERVER_TIMEOUT = 10.0
_reachable: set[str] = set()  # servers that answered once in this process
_initialised: set[str] = set()  # SQLite stores whose tables this process has seen made


def check_server(uri: str, timeout: float = SERVER_TIMEOUT) -> None:
    """A tracking server that does not answer is one line within ``timeout`` seconds,
    instead of MLflow's minutes of silent retries."""
    import urllib.error
    import urllib.request

    if not uri.startswith(("http://", "https://")) or uri in _reachable:
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            pass
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PicmeError(
            f"the MLflow tracking server at {uri} does not answer ({reason}); start it, or "
            "unset MLFLOW_TRACKING_URI and PICME_MLFLOW_TRACKING_URI to use the embedded store"
        ) from None
    _reachable.add(uri)


def client(settings: Settings) -> MlflowClient:
    """A client of this project's store. The embedded store is created under a lock, so
    two processes that start at once do not both create its tables."""
    from mlflow import MlflowClient

    uri = settings.tracking_uri
    check_server(uri)
    use_tracking(settings)
    if not uri.startswith("sqlite:") or uri in _initialised:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    # The first use in this process creates or upgrades the tables (MLflow does it when the
    # store is opened); another process doing the same at that moment would collide, so
    # one at a time. The file can exist while its tables are still being made: the lock is
    # taken whatever is on disk.
    with exclusive(
        settings.home / "locks" / "tracking.lock",
        "another picme process is creating the MLflow store and did not finish",
        wait=120.0,
    ):
        c = MlflowClient(tracking_uri=uri, registry_uri=uri)
        c.search_experiments(max_results=1)
        c.search_registered_models(max_results=1)
    _initialised.add(uri)
    return c


def ensure_experiment(settings: Settings) -> str:
    """The experiment id; created with its artifacts under PICME_HOME for the embedded store."""
    c = client(settings)
    exp = c.get_experiment_by_name(settings.experiment)
    if exp is not None:
        # An experiment made before the tag existed, or by another tool: set it once. A
        # kind somebody chose on purpose is left alone.
        if TAG_EXPERIMENT_KIND not in (exp.tags or {}):
            c.set_experiment_tag(exp.experiment_id, TAG_EXPERIMENT_KIND, MODEL_TRAINING)
        return str(exp.experiment_id)
    location = None
    if is_embedded(settings) or settings.tracking_uri.startswith("sqlite:"):
        settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
        location = settings.artifacts_dir.resolve().as_uri()
    return str(
        c.create_experiment(
            settings.experiment,
            artifact_location=location,
            tags={TAG_EXPERIMENT_KIND: MODEL_TRAINING},
        )
    )


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
    return None if mv is None else version_info(settings, mv, CHAMPION)


def latest_info(settings: Settings) -> dict[str, Any] | None:
    """:func:`version_info` of the newest version whose decision was recorded (champion or
    challenger): the last model trained, whatever the gate decided."""
    if store_missing(settings.tracking_uri):
        return None
    versions = client(settings).search_model_versions(f"name='{settings.model_name}'")
    decided = [v for v in versions if TAG_REASON in (v.tags or {})]
    if not decided:
        return None
    mv = max(decided, key=lambda v: int(v.version))
    return version_info(settings, mv, (mv.tags or {}).get(TAG_ROLE, CHALLENGER))


def version_info(settings: Settings, mv: ModelVersion, role: str) -> dict[str, Any]:
    """version, role, run_id and the training table (rows/accounts/fingerprint) of ``mv``."""
    tags = dict(mv.tags or {})

    def _num(key: str, cast: type) -> Any:
        try:
            return cast(tags[key])
        except (KeyError, ValueError):
            return None

    return {
        "version": str(mv.version),
        "role": role,
        "run_id": mv.run_id,
        "uri": f"models:/{settings.model_name}/{mv.version}"
        if role != CHAMPION
        else f"models:/{settings.model_name}@{CHAMPION}",
        "rows": _num(TAG_ROWS, int),
        "accounts": _num(TAG_ACCOUNTS, int),
        "fingerprint": tags.get(TAG_TABLE),
        "split_fingerprint": tags.get(TAG_SPLIT),
        "test_pairwise_acc": _num(TAG_HEADLINE, float),
        "model": tags.get(TAG_MODEL),
        "loss": tags.get(TAG_LOSS),
    }


def require_registered(settings: Settings) -> None:
    """A one-line error when asking for the champion of an empty registry."""
    if champion_version(settings) is None:
        raise PicmeError(
            f"no champion for {settings.model_name!r} in {settings.tracking_uri}; "
            "run `picme train` first"
        )
