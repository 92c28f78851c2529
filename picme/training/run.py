"""``picme train``: choose or fit the model, evaluate it on the test split beside the
baselines, log everything to MLflow, register it and let the champion gate decide.

With no model named (``auto``, the default) the candidates (:mod:`picme.training.candidates`)
are cross-validated on the training accounts and the best one is fitted on all of them. A
named model is fitted as asked; ``--cv K`` adds its cross-validated headline. Then every
model goes through the same steps: test metrics with the baselines
(:mod:`picme.training.evaluate`), plots, the MLflow run and pyfunc
(:mod:`picme.training.mlflow_log`, :mod:`picme.training.tabular`) and the champion gate
(:mod:`picme.training.promote`). Several GPUs: ``--devices N`` runs Lightning's DDP, which
re-runs the command once per GPU; only rank 0 evaluates, logs and touches the registry.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from picme.dataset.fingerprint import ROW_HASHES, table_row_hashes
from picme.errors import InputError, PicmeError
from picme.models import available_models
from picme.models.ranker import RANKERS, available_rankers
from picme.models.table import load_training_set
from picme.registry import tracking as registry
from picme.registry.champion import mark_incomplete
from picme.registry.describe import describe
from picme.registry.gate import GateDecision
from picme.registry.recovery import TAG_HOST, TAG_PID, recover
from picme.settings import get_settings
from picme.training import mlflow_log as ml
from picme.training import tabular
from picme.training.candidates import AUTO, select_model
from picme.training.config import TrainConfig
from picme.training.embeddings import embed_table
from picme.training.evaluate import (
    EvalSplit,
    evaluate,
    evaluate_trained,
    format_table,
    split_fingerprint,
)
from picme.training.fit import Trained, fit, resolve, run_seed
from picme.training.plots import write_plots
from picme.training.promote import gate
from picme.training.select import Selection

if TYPE_CHECKING:
    import pandas as pd

    from picme.models.embed import Embedder
    from picme.settings import Settings

__all__ = ["TrainConfig", "TrainResult", "train_and_register"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_id: str | None
    version: str | None
    promoted: bool
    reason: str
    metrics: dict[str, float] = field(default_factory=dict)
    model: str = ""
    loss: str = ""
    epochs_run: int = 0
    seconds: float = 0.0
    # For callers in the same process: the trained network and its preprocessing, or the
    # fitted ranker and its embedder (None without --embeddings).
    net: Any = field(default=None, repr=False, compare=False)
    prep: Any = field(default=None, repr=False, compare=False)
    gate: GateDecision | None = field(default=None, repr=False)
    selection: Selection | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        what = f"{self.epochs_run} epochs" if self.epochs_run else "tabular"
        lines = []
        if self.selection is not None:
            lines += [self.selection.summary(), ""]
        lines += [
            f"trained {self.model} with {self.loss} loss ({what}) in {self.seconds:.0f} s; "
            f"test split: {self.metrics.get('test/rows', 0):.0f} rows, "
            f"{self.metrics.get('test/n_pairs', 0):.0f} pairs, "
            f"{self.metrics.get('test/accounts', 0):.0f} accounts",
            format_table(self.metrics),
            f"MLflow run: {self.run_id}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        if self.version is None:
            lines.append(self.reason)
        else:
            role = "champion" if self.promoted else "challenger"
            lines.append(f"registered version {self.version} as {role}")
            lines.append(self.gate.summary() if self.gate is not None else self.reason)
        return "\n".join(lines)


def launched_rank() -> int:
    """This process's global rank when a DDP launcher started it (Lightning sets LOCAL_RANK
    in the processes it starts, torchrun sets RANK), else 0."""
    for key in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(key)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def check_model(cfg: TrainConfig) -> TrainConfig:
    """Names and numbers checked before any data is read."""
    if cfg.cv < 0 or cfg.cv == 1:
        raise InputError(f"--cv takes 0 (off) or at least 2 folds (got {cfg.cv})")
    if cfg.embeddings and cfg.model != AUTO and cfg.model not in RANKERS:
        raise InputError(
            f"--embeddings feeds the tabular rankers ({', '.join(available_rankers())}, "
            f"auto), not {cfg.model}; to fine-tune a backbone give --model backbone --weights"
        )
    if cfg.model == AUTO or cfg.model in RANKERS:
        return cfg
    if cfg.model not in available_models():
        known = [AUTO, *available_rankers(), *available_models()]
        raise InputError(f"--model {cfg.model!r} is unknown; choose one of: {', '.join(known)}")
    return resolve(cfg)


def _choose(
    cfg: TrainConfig, settings: Settings, frame: pd.DataFrame, notes: list[str]
) -> tuple[TrainConfig, Selection | None, pd.DataFrame]:
    """The model to fit and the frame to fit it on: with a selection (auto or --cv) the
    final fit uses every training account (val joins train); else the splits as built."""
    if cfg.model != AUTO and not cfg.cv:
        return cfg, None, frame
    selection = select_model(cfg, settings, frame, run_seed(cfg, settings))
    if selection is None:
        if cfg.model == AUTO:
            notes.append("too few training accounts to cross-validate: fitted the ranker")
            return replace(cfg, model="ranker"), None, frame
        notes.append("too few training accounts for --cv: fitted on the splits as built")
        return cfg, None, frame
    if cfg.model == AUTO:
        cfg = check_model(replace(cfg, model=selection.best))
    merged = frame.assign(split=frame["split"].replace({"val": "train"}))
    return cfg, selection, merged


def train_and_register(cfg: TrainConfig, settings: Settings | None = None) -> TrainResult:
    """Choose or fit, evaluate beside the baselines, log to MLflow, register, gate."""
    settings = settings or get_settings()
    cfg = check_model(cfg)
    started = time.perf_counter()
    frame, pairs = load_training_set(settings)
    settings.ensure_dirs()
    if launched_rank() != 0:
        # A DDP worker re-running the command: it trains its shard and leaves tracking,
        # evaluation and the registry to rank 0.
        fit(cfg, settings, frame, pairs)
        return TrainResult(None, None, False, "DDP worker rank", model=cfg.model, loss=cfg.loss)
    notes = recover(settings)
    frame, embedder = embed_table(cfg, settings, frame)
    cfg, selection, fit_frame = _choose(cfg, settings, frame, notes)
    exp_id = registry.ensure_experiment(settings)
    c = registry.client(settings)
    loss = tabular.OBJECTIVE.get(cfg.model, cfg.loss)
    run = c.create_run(
        exp_id,
        run_name=f"{cfg.model}-{loss}",
        tags={
            registry.TAG_MODEL: cfg.model,
            registry.TAG_LOSS: loss,
            TAG_PID: str(os.getpid()),
            TAG_HOST: socket.gethostname(),
            "mlflow.source.name": "picme train",  # the runs table's Source column
            "mlflow.source.type": "LOCAL",
        },
    )
    run_id = run.info.run_id
    _log_row_hashes(settings, run_id)
    result: TrainResult | None
    try:
        if cfg.model in RANKERS:
            result = _train_tabular(cfg, settings, (frame, fit_frame), pairs, run_id, embedder)
        else:
            result = _train_network(cfg, settings, frame, fit_frame, pairs, run_id)
        if result is None:
            return TrainResult(None, None, False, "DDP worker rank", model=cfg.model, loss=loss)
    except BaseException:
        c.set_terminated(run_id, status="FAILED")
        raise
    result.selection, result.notes = selection, notes + result.notes
    result.seconds = time.perf_counter() - started
    if selection is not None:
        _log_selection(settings, run_id, selection)
    return result


def _log_row_hashes(settings: Settings, run_id: str) -> None:
    """The table's row hashes with the run: what the retrain rule compares row by row."""
    import pyarrow.parquet as pq

    try:
        hashes = table_row_hashes(settings)
    except PicmeError as exc:  # informative only: training need not stop for it
        log.warning("row hashes not logged (%s); retraining will compare by size", exc)
        return
    with tempfile.TemporaryDirectory(prefix="picme-rows-") as tmp:
        path = Path(tmp) / ROW_HASHES
        pq.write_table(hashes, path)
        registry.client(settings).log_artifact(run_id, str(path))


def _log_selection(settings: Settings, run_id: str, selection: Selection) -> None:
    import mlflow

    best = next(r for r in selection.results if r.name == selection.best)
    lo, hi = best.interval()
    with mlflow.start_run(run_id=run_id):
        metrics = {"cv/pairwise_acc": best.mean, "cv/pairwise_acc_low": lo}
        metrics.update({"cv/pairwise_acc_high": hi, "cv/folds": float(selection.k)})
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        mlflow.log_text(selection.table().to_csv(index=False), "candidates.csv")
        mlflow.set_tag("picme.selection", selection.reason[:5000])


def _test_size(metrics: dict[str, float], test: EvalSplit) -> None:
    metrics["test/rows"] = float(len(test.frame))
    metrics["test/accounts"] = float(test.frame["owner_username"].nunique())


def _register(
    cfg: TrainConfig,
    settings: Settings,
    version: str | None,
    test: EvalSplit,
    scores: np.ndarray,
    tags: dict[str, str],
) -> tuple[bool, str, GateDecision | None]:
    if version is None:
        return False, "not registered (--no-register)", None
    mark_incomplete(settings, version)
    decision = gate(settings, version, test, scores, seed=run_seed(cfg, settings), tags=tags)
    return decision.promoted, decision.reason, decision


def _tags(cfg: TrainConfig, loss: str, identity: dict[str, Any], split_fp: str, headline: float):  # type: ignore[no-untyped-def]
    return {
        registry.TAG_HEADLINE: f"{headline:.6f}",
        registry.TAG_SPLIT: split_fp,
        registry.TAG_TABLE: str(identity.get("fingerprint")),
        registry.TAG_ROWS: str(identity.get("rows")),
        registry.TAG_ACCOUNTS: str(identity.get("accounts")),
        registry.TAG_MODEL: cfg.model,
        registry.TAG_LOSS: loss,
    }


def _train_tabular(
    cfg: TrainConfig,
    settings: Settings,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    pairs: pd.DataFrame | None,
    run_id: str,
    embedder: Embedder | None,
) -> TrainResult:
    """``frames``: the table as read (its identity is logged) and the one to fit on."""
    import mlflow

    frame, fit_frame = frames
    seed = run_seed(cfg, settings)
    fitted = tabular.fit_tabular(cfg.model, fit_frame, pairs, seed=seed, embedder=embedder)
    test, val = fitted.splits["test"], fitted.splits["val"]
    rate = _positive_rate(fitted.splits["train"].frame)
    evaluation = evaluate(
        test,
        fitted.scores.get("test", np.zeros(0)),
        val=val if len(val.frame) else None,
        val_scores=fitted.scores.get("val"),
        positive_rate=rate,
        seed=seed,
    )
    metrics = evaluation.metrics
    metrics["test/positive_rate"] = rate
    _test_size(metrics, test)
    identity = ml.table_identity(settings, frame)
    split_fp = split_fingerprint(test.frame, test.pairs)
    params = {k: str(v)[:5000] for k, v in ml.config_fields(cfg).items()}
    params.update(tabular.params(fitted) | ml.split_sizes(fitted.splits))
    params.update(table_rows=str(identity.get("rows")), split_fingerprint=split_fp)
    params["table_fingerprint"] = str(identity.get("fingerprint"))
    with tempfile.TemporaryDirectory(prefix="picme-train-") as tmp, mlflow.start_run(run_id=run_id):
        work = Path(tmp)
        mlflow.log_params(params)
        ml.log_metrics(metrics)
        ml.log_datasets(settings, fitted.splits, identity)
        if cfg.plots:
            for f in tabular.write_plots(fitted, rate, work / "plots"):
                mlflow.log_artifact(str(f), artifact_path="plots")
        version = tabular.log_model(fitted, settings, work, cfg.register)
    headline = metrics.get(registry.HEADLINE, float("nan"))
    tags = _tags(cfg, fitted.loss, identity, split_fp, headline)
    scores = fitted.scores.get("test", np.zeros(0))
    promoted, reason, decision = _register(cfg, settings, version, test, scores, tags)
    registry.client(settings).set_tag(run_id, registry.TAG_REASON, reason)
    describe(settings, run_id, version, metrics=metrics, params=params, model=cfg.model,
             decision=decision, reason=reason)  # fmt: skip
    return TrainResult(
        run_id, version, promoted, reason, metrics, cfg.model, fitted.loss,
        net=fitted.ranker, prep=embedder, gate=decision,
    )  # fmt: skip


def _positive_rate(train: pd.DataFrame) -> float:
    labels = train.get("label")
    if labels is not None and labels.notna().any():
        return float(np.nanmean(labels.astype(float)))
    return 0.5


def _train_network(
    cfg: TrainConfig,
    settings: Settings,
    frame: pd.DataFrame,
    fit_frame: pd.DataFrame,
    pairs: pd.DataFrame | None,
    run_id: str,
) -> TrainResult | None:
    from lightning.pytorch.loggers import MLFlowLogger

    logger = MLFlowLogger(
        experiment_name=settings.experiment, tracking_uri=settings.tracking_uri, run_id=run_id
    )
    trained = fit(cfg, settings, fit_frame, pairs, logger=logger)
    if not trained.trainer.is_global_zero:
        return None
    return _finish_network(cfg, settings, frame, trained, run_id)


def _finish_network(
    cfg: TrainConfig, settings: Settings, frame: pd.DataFrame, trained: Trained, run_id: str
) -> TrainResult:
    metrics, test_scores = evaluate_trained(trained, seed=run_seed(cfg, settings))
    identity = ml.table_identity(settings, frame)
    d = trained.dm.splits["test"]
    test = EvalSplit(d.frame, d.pairs)
    _test_size(metrics, test)
    split_fp = split_fingerprint(test.frame, test.pairs)
    params = ml.run_params(cfg, trained, identity, split_fp)
    with tempfile.TemporaryDirectory(prefix="picme-train-") as tmp:
        work = Path(tmp)
        # The curves as MLflow holds them (Lightning logged them during fit), so the plot
        # and MLflow's charts show the same numbers.
        history = ml.logged_history(settings, run_id) or trained.history
        files = (
            write_plots(
                trained, test_scores, metrics["test/positive_rate"], work / "plots",
                cfg.saliency_examples, history=history,
            )
            if cfg.plots
            else []
        )  # fmt: skip
        version = ml.log_run(
            run_id,
            trained,
            settings,
            params=params,
            metrics=metrics,
            plots=files,
            workdir=work,
            register=cfg.register,
        )
    headline = metrics.get(registry.HEADLINE, float("nan"))
    tags = _tags(cfg, cfg.loss, identity, split_fp, headline)
    promoted, reason, decision = _register(cfg, settings, version, test, test_scores, tags)
    registry.client(settings).set_tag(run_id, registry.TAG_REASON, reason)
    notes = [] if len(trained.dm.splits["val"].frame) else [NO_VAL_NOTE]
    describe(settings, run_id, version, metrics=metrics, params=params, model=cfg.model,
             decision=decision, reason=reason, notes=notes)  # fmt: skip
    return TrainResult(
        run_id, version, promoted, reason, metrics, cfg.model, cfg.loss,
        trained.epochs_run, 0.0, trained.net, trained.prep, gate=decision, notes=notes,
    )  # fmt: skip


NO_VAL_NOTE = (
    "no validation split: trained for every epoch, without early stopping or best-epoch "
    "selection (these would otherwise have read the training split)"
)
