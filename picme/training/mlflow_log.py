"""What a training run logs to MLflow: its parameters (every TrainConfig field, the split
sizes, the training table's and the test split's identity), the training table as an MLflow
dataset per split (:func:`log_datasets`), its test metrics (with ``headline/*`` copies that
sort first), its plots, and the model as a pyfunc (``picme.models.pyfunc``: weights,
preprocessing and percentile table as artifacts, with the photo request's signature and
input example), registered as ``picme-scorer`` when asked. :func:`logged_history` reads the
per-epoch curves back, so the plots draw the numbers MLflow shows.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import torch

from picme.dataset.fingerprint import table_fingerprint
from picme.dataset.outputs import output_paths
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


#: Split name in picme, and the context MLflow's runs table shows for its dataset.
CONTEXTS = {"train": "train", "val": "validation", "test": "test"}


def split_sizes(splits: Mapping[str, Any]) -> dict[str, str]:
    """rows, same-account pairs and accounts of each split (objects with ``frame`` and
    ``pairs``), as run params."""
    out = {}
    for name in CONTEXTS:
        split = splits.get(name)
        if split is None:
            continue
        frame = split.frame
        out[f"rows_{name}"] = str(len(frame))
        out[f"pairs_{name}"] = str(len(split.pairs[0]))
        accounts = frame["owner_username"].nunique() if "owner_username" in frame else 0
        out[f"accounts_{name}"] = str(int(accounts))
    return out


def table_source(settings: Settings) -> str:
    """Where the training table is, as a URI (the dataset's source)."""
    path = output_paths(settings)["training"]
    text = str(path)
    return text if "://" in text else Path(text).resolve().as_uri()


def log_datasets(
    settings: Settings, splits: Mapping[str, Any], identity: Mapping[str, Any]
) -> None:
    """The training table as one MLflow dataset per split (contexts train, validation,
    test) in the active run: source the table's URI, digest its fingerprint, the split's
    schema and row count. Informative only: a failure is a warning, not a failed run."""
    from mlflow.data.pandas_dataset import from_pandas

    source = table_source(settings)
    digest = str(identity.get("fingerprint") or "")[:32] or None
    for name, context in CONTEXTS.items():
        split = splits.get(name)
        if split is None or len(split.frame) == 0:
            continue
        try:
            with warnings.catch_warnings():
                # A local path reads as more than one kind of source (any is right), and
                # the schema's integer-column hint is about model inputs, not a record.
                warnings.simplefilter("ignore", UserWarning)
                ds = from_pandas(
                    split.frame, source=source, name=f"training-{context}", digest=digest
                )
                mlflow.log_input(ds, context=context)
        except Exception as exc:  # the dataset is a record, training need not stop for it
            log.warning("dataset %s not logged (%s)", context, exc)


def headline_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Copies of the numbers that matter under ``headline/``, which sorts before ``test/``,
    ``train/`` and ``val/`` in MLflow's runs table."""
    out = {}
    acc = metrics.get("test/pairwise_acc")
    if acc is not None:
        out["headline/pairwise_acc"] = float(acc)
        base = metrics.get("test/heuristic/pairwise_acc")
        if base is not None:
            out["headline/gain_over_heuristic"] = float(acc) - float(base)
    for key in ("ndcg_at_5", "roc_auc"):
        if f"test/{key}" in metrics:
            out[f"headline/{key}"] = float(metrics[f"test/{key}"])
    return {k: v for k, v in out.items() if np.isfinite(v)}


def log_metrics(metrics: Mapping[str, float]) -> None:
    """The finite test metrics and their ``headline/`` copies in the active run, in one
    call (one request to a tracking server)."""
    finite = {k: float(v) for k, v in metrics.items() if np.isfinite(v)}
    mlflow.log_metrics(finite | headline_metrics(metrics))


#: The per-epoch curves Lightning logs (at the epoch's last global step) and plots draw.
CURVES = ("train/loss", "val/loss", "val/pairwise_acc")


def logged_history(settings: Settings, run_id: str) -> list[dict[str, float]]:
    """One row per epoch of the curves as MLflow holds them, ``epoch`` counted from 1:
    Lightning logs each value at a global step beside an ``epoch`` metric, which maps the
    step back to its epoch."""
    from picme.registry.tracking import client

    c = client(settings)
    epoch_of = {m.step: int(m.value) + 1 for m in c.get_metric_history(run_id, "epoch")}
    rows: dict[int, dict[str, float]] = {}
    for key in CURVES:
        for m in c.get_metric_history(run_id, key):
            epoch = epoch_of.get(m.step)
            if epoch is not None:
                rows.setdefault(epoch, {"epoch": float(epoch)})[key] = float(m.value)
    return [rows[e] for e in sorted(rows)]


def run_params(
    cfg: TrainConfig, trained: Trained, identity: dict[str, Any], split_fp: str
) -> dict[str, str]:
    dm = trained.dm
    params: dict[str, Any] = config_fields(cfg)
    params.update(
        {
            **split_sizes(dm.splits),
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
        log_metrics(metrics)
        log_datasets(settings, trained.dm.splits, {"fingerprint": params.get("table_fingerprint")})
        for f in plots:
            mlflow.log_artifact(str(f), artifact_path="plots")
        registered, _uri = log_model(trained, settings, workdir, register)
    return registered
