"""What a training run logs to MLflow: its parameters (every TrainConfig field, the split
sizes, the training table's and the test split's identity), its test metrics, its plots,
and the model as a pyfunc (``picme.models.pyfunc``: weights, preprocessing and percentile
table as artifacts, with the photo request's signature and input example), registered as
``picme-scorer`` when asked.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import torch

from picme.dataset.fingerprint import table_fingerprint
from picme.models.pyfunc import PREPROCESSING, WEIGHTS, PicmePyfunc
from picme.models.serving import REFERENCE_SCORES, request_spec
from picme.training.evaluate import split_scores

if TYPE_CHECKING:
    import pandas as pd

    from picme.models.nets import PicmeNet
    from picme.models.preprocess import Preprocessing
    from picme.settings import Settings
    from picme.training.config import TrainConfig
    from picme.training.fit import Trained

log = logging.getLogger(__name__)


def table_identity(settings: Settings, frame: pd.DataFrame) -> dict[str, Any]:
    """rows, accounts and fingerprint of the training table (the frame's own, when the
    table's cannot be read)."""
    try:
        return dict(table_fingerprint(settings))
    except Exception as exc:  # the identity is informative; training need not stop for it
        log.warning("table fingerprint unavailable (%s); hashing the frame instead", exc)
        digest = hashlib.sha256(
            frame.sort_values("shortcode").to_csv(index=False).encode()
        ).hexdigest()[:16]
        return {
            "rows": len(frame),
            "accounts": int(frame["owner_username"].nunique()),
            "fingerprint": digest,
        }


def config_fields(cfg: TrainConfig) -> dict[str, Any]:
    return asdict(cfg)


def run_params(
    cfg: TrainConfig, trained: Trained, identity: dict[str, Any], split_fp: str
) -> dict[str, str]:
    dm = trained.dm
    params: dict[str, Any] = config_fields(cfg)
    params.update(
        {
            "rows_train": len(dm.splits["train"].frame),
            "rows_val": len(dm.splits["val"].frame),
            "rows_test": len(dm.splits["test"].frame),
            "pairs_train": len(dm.splits["train"].pairs[0]),
            "pairs_test": len(dm.splits["test"].pairs[0]),
            "rows_dropped_undecodable": len(dm.dropped),
            "table_rows": identity.get("rows"),
            "table_accounts": identity.get("accounts"),
            "table_fingerprint": identity.get("fingerprint"),
            "split_fingerprint": split_fp,
            "meta_columns": ",".join(trained.prep.meta_columns),
            "target": trained.prep.target,
            "precision": str(trained.trainer.precision),
            "accelerator": type(trained.trainer.accelerator).__name__,
            "epochs_run": trained.epochs_run,
        }
    )
    if cfg.weights:  # a local path says nothing secret, but only its name is useful
        params["weights"] = Path(cfg.weights).name
    return {k: ("" if v is None else str(v)[:5000]) for k, v in params.items()}


NETWORK_PACKAGES = ("torch", "mlflow", "numpy", "opencv-python-headless", "pillow", "picme")


def requirements(packages: tuple[str, ...] = NETWORK_PACKAGES) -> list[str]:
    """``packages`` pinned at the versions installed here (those not installed left out)."""
    reqs = []
    for pkg in packages:
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            continue
    return reqs


def pyfunc_model(
    net: PicmeNet, prep: Preprocessing, workdir: Path, reference_scores: np.ndarray
) -> dict[str, Any]:
    """The spec of this network for :func:`log_pyfunc` (or, through
    ``picme.models.serving.request_spec``, ``mlflow.pyfunc.save_model``): its weights and
    preprocessing written under ``workdir``, and its training photos' scores."""
    weights = workdir / "weights.pt"
    net.cpu()
    torch.save(net.state_dict(), weights)
    prep_path = prep.save(workdir / "preprocessing.json")
    return {
        "python_model": PicmePyfunc(),
        "artifacts": {WEIGHTS: str(weights), PREPROCESSING: str(prep_path)},
        "pip_requirements": requirements(),
        REFERENCE_SCORES: reference_scores,
    }


def log_model(
    trained: Trained, settings: Settings, workdir: Path, register: bool
) -> tuple[str | None, str]:
    """Log the pyfunc in the active run; returns (registered version or None, model URI)."""
    train_scores = split_scores(trained, "train")
    spec = pyfunc_model(trained.net, trained.prep, workdir, train_scores)
    return log_pyfunc(settings, register, spec)


def log_pyfunc(settings: Settings, register: bool, spec: dict[str, Any]) -> tuple[str | None, str]:
    """``mlflow.pyfunc.log_model`` as ``model`` in the active run, registered as the project's
    model when asked; returns (registered version or None, model URI). Every PicMe model is
    logged with the photo request (``picme.models.serving.request_spec``: signature, input
    example, percentile table from ``spec["reference_scores"]``, the training photos' scores)."""
    # mlflow warns that a python_model object is pickled; ours pickle by reference to the
    # installed picme package and hold no state (what they need is in their artifacts).
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    pyfunc_log.setLevel(logging.ERROR)
    try:
        info = mlflow.pyfunc.log_model(
            name="model",
            registered_model_name=settings.model_name if register else None,
            **request_spec(spec),
        )
    finally:
        pyfunc_log.setLevel(level)
    registered = info.registered_model_version if register else None
    return (None if registered is None else str(registered)), info.model_uri


def log_run(
    run_id: str,
    trained: Trained,
    settings: Settings,
    *,
    params: dict[str, str],
    metrics: dict[str, float],
    plots: list[Path],
    workdir: Path,
    register: bool,
) -> str | None:
    """Params, finite metrics, plots (under ``plots/``) and the model, in run ``run_id``;
    returns the registered version, or None when not registered."""
    with mlflow.start_run(run_id=run_id):
        mlflow.log_params(params)
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
        for f in plots:
            mlflow.log_artifact(str(f), artifact_path="plots")
        registered, _uri = log_model(trained, settings, workdir, register)
    return registered
