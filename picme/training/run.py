"""Train any registered model with any registered loss, evaluate it on the test split beside
the baselines, log everything to MLflow, register it and let the champion rule decide.

``picme train`` with no options trains the project's default: ``fusion`` with the
``pairwise`` loss (see docs/models.md for why). Several GPUs: ``picme train --devices N``
runs Lightning's DDP, which starts one process per GPU by re-running the same command; only
rank 0 evaluates, logs the model and touches the registry.

The steps: ``picme.training.fit`` (the Trainer), ``picme.training.evaluate`` (metrics and
baselines), ``picme.training.plots``, ``picme.training.mlflow_log`` (params, metrics, plots,
the pyfunc) and ``picme.training.promote`` (the champion comparison).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers import MLFlowLogger

from picme.models.table import load_pairs_frame, load_training_frame
from picme.registry import tracking as registry
from picme.settings import get_settings
from picme.training.config import TrainConfig
from picme.training.evaluate import evaluate_trained, format_table, split_fingerprint
from picme.training.fit import Trained, fit, resolve, run_seed
from picme.training.mlflow_log import log_run, run_params, table_identity
from picme.training.plots import write_plots
from picme.training.promote import promote

if TYPE_CHECKING:
    import pandas as pd

    from picme.settings import Settings

__all__ = ["TrainConfig", "TrainResult", "train_and_register"]


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
    # The trained network and its preprocessing, for callers in the same process.
    net: Any = field(default=None, repr=False, compare=False)
    prep: Any = field(default=None, repr=False, compare=False)

    def summary(self) -> str:
        lines = [
            f"trained {self.model} with {self.loss} loss: {self.epochs_run} epochs "
            f"in {self.seconds:.0f} s",
            format_table(self.metrics),
            f"MLflow run: {self.run_id}",
        ]
        if self.version is not None:
            role = "champion" if self.promoted else "challenger"
            lines.append(f"registered version {self.version} as {role}: {self.reason}")
        else:
            lines.append(self.reason)
        return "\n".join(lines)


def launched_rank() -> int:
    """This process's global rank when a DDP launcher started it (Lightning sets LOCAL_RANK
    in the processes it starts, torchrun sets RANK), else 0."""
    for key in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(key)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def train_and_register(cfg: TrainConfig, settings: Settings | None = None) -> TrainResult:
    """Fit, evaluate beside the baselines, log to MLflow, register, apply the champion rule."""
    settings = settings or get_settings()
    cfg = resolve(cfg)
    started = time.perf_counter()
    frame = load_training_frame(settings)
    pairs = load_pairs_frame(settings)
    settings.ensure_dirs()
    if launched_rank() != 0:
        # A DDP worker re-running the command: it trains its shard and leaves tracking,
        # evaluation and the registry to rank 0.
        fit(cfg, settings, frame, pairs)
        return TrainResult(None, None, False, "DDP worker rank", model=cfg.model, loss=cfg.loss)
    exp_id = registry.ensure_experiment(settings)
    c = registry.client(settings)
    run = c.create_run(
        exp_id,
        run_name=f"{cfg.model}-{cfg.loss}",
        tags={registry.TAG_MODEL: cfg.model, registry.TAG_LOSS: cfg.loss},
    )
    run_id = run.info.run_id
    logger = MLFlowLogger(
        experiment_name=settings.experiment, tracking_uri=settings.tracking_uri, run_id=run_id
    )
    try:
        trained = fit(cfg, settings, frame, pairs, logger=logger)
        if not trained.trainer.is_global_zero:
            return TrainResult(None, None, False, "DDP worker rank", model=cfg.model, loss=cfg.loss)
        result = _finish(cfg, settings, frame, trained, run_id, started)
    except BaseException:
        c.set_terminated(run_id, status="FAILED")
        raise
    return result


def _finish(
    cfg: TrainConfig,
    settings: Settings,
    frame: pd.DataFrame,
    trained: Trained,
    run_id: str,
    started: float,
) -> TrainResult:
    metrics, test_scores = evaluate_trained(trained, seed=run_seed(cfg, settings))
    identity = table_identity(settings, frame)
    test = trained.dm.splits["test"]
    split_fp = split_fingerprint(test.frame, test.pairs)
    champion_before = registry.champion_version(settings) if cfg.register else None
    with tempfile.TemporaryDirectory(prefix="picme-train-") as tmp:
        work = Path(tmp)
        files = (
            write_plots(
                trained,
                test_scores,
                metrics["test/positive_rate"],
                work / "plots",
                cfg.saliency_examples,
            )
            if cfg.plots
            else []
        )
        version = log_run(
            run_id,
            trained,
            settings,
            params=run_params(cfg, trained, identity, split_fp),
            metrics=metrics,
            plots=files,
            workdir=work,
            register=cfg.register,
        )

    def result(version: str | None, promoted: bool, reason: str) -> TrainResult:
        return TrainResult(
            run_id,
            version,
            promoted,
            reason,
            metrics,
            cfg.model,
            cfg.loss,
            trained.epochs_run,
            time.perf_counter() - started,
            trained.net,
            trained.prep,
        )

    if version is None:
        return result(None, False, "not registered (--no-register)")
    headline = metrics.get(registry.HEADLINE, float("nan"))
    decision = promote(
        settings,
        version,
        champion_before,
        headline=headline,
        split_fp=split_fp,
        trained=trained,
        tags={
            registry.TAG_HEADLINE: f"{headline:.6f}",
            registry.TAG_SPLIT: split_fp,
            registry.TAG_TABLE: str(identity.get("fingerprint")),
            registry.TAG_ROWS: str(identity.get("rows")),
            registry.TAG_ACCOUNTS: str(identity.get("accounts")),
            registry.TAG_MODEL: cfg.model,
            registry.TAG_LOSS: cfg.loss,
        },
    )
    registry.client(settings).set_tag(run_id, registry.TAG_REASON, decision.reason)
    return result(version, decision.promoted, decision.reason)
