"""Train any registered model with any registered loss, evaluate it on the test split beside
the baselines, log everything to MLflow, register it and let the champion rule decide.

``picme train`` with no options trains the project's default: ``fusion`` with the
``pairwise`` loss (see docs/models.md for why). Accelerator: a GPU when present, with bf16
mixed precision, the CPU otherwise. Several GPUs: ``picme train --devices N`` runs
Lightning's DDP, which starts one process per GPU by re-running the same command; only rank
0 evaluates, logs the model and touches the registry.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from picme.errors import InputError

if TYPE_CHECKING:
    import lightning as L
    import pandas as pd

    from picme.models.data import PicmeDataModule
    from picme.models.module import ScoringModule
    from picme.models.nets import PicmeNet
    from picme.models.preprocess import Preprocessing
    from picme.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    model: str = "fusion"
    loss: str = "pairwise"
    epochs: int | None = None
    batch_size: int = 32
    lr: float = 1e-3
    image_size: int | None = None
    arch: str | None = None
    weights: str | None = None
    from_scratch: bool = False
    register: bool = True
    # Beyond the CLI contract: for tests, benchmarks and larger machines.
    devices: int | str = 1
    accelerator: str = "auto"
    seed: int | None = None
    num_workers: int = 0
    patience: int = 3
    meta_dropout: float = 0.3
    use_cache: bool = True
    fast_dev_run: bool = False
    saliency_examples: int = 3
    plots: bool = True
    pairs_per_epoch: int | None = None


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
        from picme.training.evaluate import format_table

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


@dataclass
class Trained:
    """What a fit leaves behind, before evaluation and logging."""

    net: PicmeNet
    prep: Preprocessing
    dm: PicmeDataModule
    module: ScoringModule
    trainer: L.Trainer
    history: list[dict[str, float]]
    epochs_run: int


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Defaults per model, and names checked before any data is read."""
    from picme.models import DEFAULT_EPOCHS, DEFAULT_IMAGE_SIZE, available_models
    from picme.models.losses import get_loss

    if cfg.model not in available_models():
        raise InputError(
            f"--model {cfg.model!r} is unknown; choose one of: {', '.join(available_models())}"
        )
    get_loss(cfg.loss)
    out = copy.copy(cfg)
    out.epochs = cfg.epochs if cfg.epochs is not None else DEFAULT_EPOCHS[cfg.model]
    out.image_size = cfg.image_size or DEFAULT_IMAGE_SIZE[cfg.model]
    if out.epochs < 1 or out.batch_size < 1 or out.lr <= 0 or out.image_size < 16:
        raise InputError(
            "--epochs and --batch-size must be >= 1, --lr > 0, --image-size >= 16 "
            f"(got {out.epochs}, {out.batch_size}, {out.lr}, {out.image_size})"
        )
    if cfg.model != "backbone" and (cfg.arch or cfg.weights):
        raise InputError("--arch and --weights apply to --model backbone only")
    return out


def _use_gpu(cfg: TrainConfig) -> bool:
    import torch

    return cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()


def fit(
    cfg: TrainConfig,
    settings: Settings,
    frame: pd.DataFrame,
    pairs: pd.DataFrame | None = None,
    logger: Any = None,
) -> Trained:
    """Build the data, the network and the Trainer; fit; keep the best validation weights."""
    import lightning as L
    from lightning.pytorch.callbacks import Callback, EarlyStopping

    from picme.models import build_model
    from picme.models.data import DecodedCache, PicmeDataModule, fit_preprocessing
    from picme.models.losses import get_loss
    from picme.models.module import ScoringModule

    cfg = resolve(cfg)
    assert cfg.epochs is not None and cfg.image_size is not None
    seed = settings.seed if cfg.seed is None else cfg.seed
    L.seed_everything(seed, workers=True, verbose=False)
    loss = get_loss(cfg.loss)
    model_kwargs: dict[str, Any] = {}
    if cfg.model == "backbone":
        from picme.models.backbones import DEFAULT_ARCH

        model_kwargs["arch"] = cfg.arch or DEFAULT_ARCH
    prep = fit_preprocessing(
        frame, model=cfg.model, loss=loss, image_size=cfg.image_size, model_kwargs=model_kwargs
    )
    net = build_model(
        cfg.model,
        image_size=cfg.image_size,
        n_meta=prep.n_meta,
        weights=cfg.weights,
        from_scratch=cfg.from_scratch,
        **model_kwargs,
    )
    cache = (
        DecodedCache(settings.cache_dir, cfg.image_size, workers=settings.n_workers())
        if cfg.use_cache
        else None
    )
    dm = PicmeDataModule(
        frame,
        prep,
        loss,
        batch_size=cfg.batch_size,
        cache=cache,
        pairs=pairs,
        num_workers=cfg.num_workers,
        seed=seed,
        uses_image=net.uses_image,
        pairs_per_epoch=cfg.pairs_per_epoch,
    )
    dm.setup("fit")
    val = dm.splits[dm.val_split]
    neutral = np.array([c not in prep.feature_columns for c in prep.meta_columns], bool)
    module = ScoringModule(
        net,
        loss,
        lr=cfg.lr,
        max_epochs=cfg.epochs,
        meta_dropout=cfg.meta_dropout,
        neutral_mask=neutral,
        val_pairs=val.pairs,
        val_target=val.target,
    )

    class KeepBest(Callback):
        """The weights of the best validation epoch, kept in memory (no checkpoint files)."""

        def __init__(self) -> None:
            self.best = float("inf")
            self.state: dict[str, Any] | None = None

        def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            if trainer.sanity_checking:
                return
            value = trainer.callback_metrics.get("val/loss")
            v = float(value) if value is not None else float("nan")
            if self.state is None or (np.isfinite(v) and v < self.best):
                self.best = v if np.isfinite(v) else self.best
                self.state = {k: t.detach().cpu().clone() for k, t in net.state_dict().items()}

    keep = KeepBest()
    callbacks: list[Callback] = [keep]
    if not cfg.fast_dev_run:
        callbacks.append(EarlyStopping("val/loss", patience=cfg.patience, mode="min", strict=False))
    trainer = L.Trainer(
        max_epochs=cfg.epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        precision="bf16-mixed" if _use_gpu(cfg) else "32-true",
        logger=logger if logger is not None else False,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        fast_dev_run=cfg.fast_dev_run,
        default_root_dir=str(settings.home),
    )
    trainer.fit(module, datamodule=dm)
    if keep.state is not None:
        net.load_state_dict(keep.state)
    net.eval()
    return Trained(
        net=net,
        prep=prep,
        dm=dm,
        module=module,
        trainer=trainer,
        history=list(module.history),
        epochs_run=int(trainer.current_epoch) if not cfg.fast_dev_run else 1,
    )


def split_scores(trained: Trained, split: str) -> np.ndarray:
    """Model scores for one split, through the same path as the logged model (on the GPU
    when there is one: Lightning hands the model back on the CPU after fit)."""
    import torch

    from picme.models.infer import predict_prepared

    d = trained.dm.splits[split]
    n, s = len(d.frame), trained.prep.image_size
    images = d.images if d.images is not None else np.zeros((n, s, s, 3), np.uint8)
    trained.net.to("cuda" if torch.cuda.is_available() else "cpu")
    return predict_prepared(trained.net, trained.prep, images, d.meta_raw)


def split_fingerprint(frame: pd.DataFrame, pairs: tuple[np.ndarray, ...]) -> str:
    """Identity of the test split: its posts and its pair targets."""
    h = hashlib.sha256()
    for code in sorted(frame["shortcode"].astype(str)):
        h.update(code.encode())
        h.update(b"\0")
    a, b, t = pairs
    codes = frame["shortcode"].astype(str).to_numpy()
    triples = sorted(zip(codes[a].tolist(), codes[b].tolist(), t.astype(int).tolist(), strict=True))
    h.update(repr(triples).encode())
    return h.hexdigest()[:16]


def _table_identity(settings: Settings, frame: pd.DataFrame) -> dict[str, Any]:
    try:
        from picme.dataset.fingerprint import table_fingerprint

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


def evaluate_trained(trained: Trained, seed: int = 0) -> tuple[dict[str, float], np.ndarray]:
    from picme.training.evaluate import EvalSplit, evaluate

    dm = trained.dm
    test = dm.splits["test"]
    val_name = "val" if len(dm.splits["val"].frame) else None
    test_scores = split_scores(trained, "test")
    val_scores = split_scores(trained, val_name) if val_name else None
    train_labels = dm.splits["train"].frame.get("label")
    rate = 0.5
    if train_labels is not None and train_labels.notna().any():
        rate = float(np.nanmean(train_labels.astype(float)))
    result = evaluate(
        EvalSplit(test.frame, test.pairs),
        test_scores,
        val=EvalSplit(dm.splits["val"].frame, dm.splits["val"].pairs) if val_name else None,
        val_scores=val_scores,
        positive_rate=rate,
        seed=seed,
    )
    result.metrics["test/positive_rate"] = rate
    return result.metrics, test_scores


def write_plots(
    trained: Trained, test_scores: np.ndarray, rate: float, out: Path, k: int = 3
) -> list[Path]:
    """Learning curves, calibration, confusion matrix, score distributions, and saliency
    maps of the best and worst scored test images."""
    from picme.training import plots
    from picme.training.evaluate import confusion_matrix

    test = trained.dm.splits["test"].frame
    labels = (
        test["label"].astype(float).to_numpy() if "label" in test.columns else np.zeros(len(test))
    )
    files = [
        plots.learning_curves(trained.history, out / "learning_curves.png"),
        plots.calibration(test_scores, labels, out / "calibration.png"),
        plots.confusion(confusion_matrix(test_scores, labels, rate), out / "confusion_matrix.png"),
        plots.score_distributions(test_scores, labels, out / "score_distributions.png"),
    ]
    files += write_saliency(trained, test, test_scores, out, k)
    return files


def write_saliency(
    trained: Trained, frame: pd.DataFrame, scores: np.ndarray, out: Path, k: int
) -> list[Path]:
    from picme.features.decode import decode_image
    from picme.scoring.saliency import overlay, saliency_map
    from picme.training import plots

    if not trained.net.uses_image or len(frame) == 0:
        return []
    order = np.argsort(-scores)
    meta_raw = trained.dm.splits["test"].meta_raw
    files = []
    for label, picks in (("best", order[:k]), ("worst", order[::-1][:k])):
        shown, titles = [], []
        for i in picks:
            path = str(frame["image_path"].iloc[i])
            try:
                img = decode_image(path, max_side=384)
            except Exception as exc:
                log.warning("saliency: %s: %s", path, exc)
                continue
            sal = saliency_map(trained.net, trained.prep, img, meta_raw[i])
            if sal is None:
                continue
            shown.append(overlay(img, sal))
            titles.append(f"{frame['shortcode'].iloc[i]}  score {scores[i]:.2f}")
        if shown:
            files.append(
                plots.image_grid(
                    shown, titles, out / f"saliency_{label}.png", f"{label} scored test images"
                )
            )
    return files


def _params(cfg: TrainConfig, trained: Trained, identity: dict[str, Any], split_fp: str) -> dict:
    dm = trained.dm
    params: dict[str, Any] = {k: v for k, v in asdict(cfg).items()}
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


def _log_model(
    trained: Trained, settings: Settings, workdir: Path, register: bool
) -> tuple[str | None, str]:
    """Log the pyfunc (weights + preprocessing, signature, input example); returns
    (registered version or None, model URI)."""
    import mlflow
    import torch
    from mlflow.models import infer_signature

    from picme.models.pyfunc import PREPROCESSING, WEIGHTS, PicmePyfunc, input_example

    weights = workdir / "weights.pt"
    trained.net.cpu()
    torch.save(trained.net.state_dict(), weights)
    prep_path = trained.prep.save(workdir / "preprocessing.json")
    example = input_example(trained.prep, n=2)
    from picme.models.infer import predict_prepared

    out = predict_prepared(trained.net, trained.prep, example["images"], example["meta"])
    signature = infer_signature(example, out)
    # mlflow warns that a python_model object is pickled; ours pickles by reference to the
    # installed picme package and holds no state (weights and preprocessing are artifacts).
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    pyfunc_log.setLevel(logging.ERROR)
    try:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=PicmePyfunc(),
            artifacts={WEIGHTS: str(weights), PREPROCESSING: str(prep_path)},
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
            registered_model_name=settings.model_name if register else None,
        )
    finally:
        pyfunc_log.setLevel(level)
    version = info.registered_model_version if register else None
    return (None if version is None else str(version)), info.model_uri


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for pkg in ("torch", "mlflow", "numpy", "opencv-python-headless", "pillow", "picme"):
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            continue
    return reqs


def champion_score_on(
    settings: Settings, version: str, trained: Trained
) -> tuple[float | None, str]:
    """The champion's headline metric on the current test split, re-evaluated."""
    from picme.models.data import DecodedCache, raw_meta_matrix
    from picme.models.metrics import pairwise_accuracy
    from picme.scoring.model import load_model_scorer

    try:
        scorer = load_model_scorer(f"models:/{settings.model_name}/{version}", settings)
        test = trained.dm.splits["test"]
        cache = DecodedCache(settings.cache_dir, scorer.prep.image_size, settings.n_workers())
        images, reasons = cache.load(
            test.frame["image_path"].astype(str).tolist(),
            test.frame["sha256"].tolist() if "sha256" in test.frame.columns else None,
        )
        if any(r is not None for r in reasons):
            raise InputError("some test images could not be decoded")
        scores = scorer.score_prepared(
            images, raw_meta_matrix(test.frame, scorer.prep.meta_columns)
        )
        a, b, t = test.pairs
        return pairwise_accuracy(scores, a, b, t), "re-evaluated on the current test split"
    except Exception as exc:
        return None, f"champion v{version} could not be re-evaluated ({type(exc).__name__}: {exc})"


def _launched_rank() -> int:
    """This process's global rank when a DDP launcher started it (Lightning sets LOCAL_RANK
    in the processes it starts, torchrun sets RANK), else 0."""
    import os

    for key in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(key)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def train_and_register(cfg: TrainConfig, settings: Settings | None = None) -> TrainResult:
    """Fit, evaluate beside the baselines, log to MLflow, register, apply the champion rule."""
    from picme.settings import get_settings

    settings = settings or get_settings()
    cfg = resolve(cfg)
    started = time.perf_counter()
    from picme.models.data import load_pairs_frame, load_training_frame

    frame = load_training_frame(settings)
    pairs = load_pairs_frame(settings)
    settings.ensure_dirs()

    from lightning.pytorch.loggers import MLFlowLogger

    from picme.registry import tracking as registry

    if _launched_rank() != 0:
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
    import mlflow

    from picme.registry import tracking as registry

    seed = settings.seed if cfg.seed is None else cfg.seed
    metrics, test_scores = evaluate_trained(trained, seed=seed)
    identity = _table_identity(settings, frame)
    test = trained.dm.splits["test"]
    split_fp = split_fingerprint(test.frame, test.pairs)
    c = registry.client(settings)
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
        with mlflow.start_run(run_id=run_id):
            mlflow.log_params(_params(cfg, trained, identity, split_fp))
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
            for f in files:
                mlflow.log_artifact(str(f), artifact_path="plots")
            version, _uri = _log_model(trained, settings, work, cfg.register)
    headline = metrics.get(registry.HEADLINE, float("nan"))

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
    champ_score: float | None = None
    note = ""
    if champion_before is not None:
        tags = dict(champion_before.tags or {})
        if tags.get(registry.TAG_SPLIT) == split_fp and registry.TAG_HEADLINE in tags:
            champ_score = float(tags[registry.TAG_HEADLINE])
        else:
            champ_score, note = champion_score_on(settings, str(champion_before.version), trained)
    if champion_before is not None and champ_score is None:
        decision = registry.Decision(True, note, str(champion_before.version))
    else:
        decision = registry.decide(
            headline, champ_score, None if champion_before is None else str(champion_before.version)
        )
        if note:
            decision.reason += f" (champion {note})"
    registry.record_decision(
        settings,
        version,
        decision,
        {
            registry.TAG_HEADLINE: f"{headline:.6f}",
            registry.TAG_SPLIT: split_fp,
            registry.TAG_TABLE: str(identity.get("fingerprint")),
            registry.TAG_ROWS: str(identity.get("rows")),
            registry.TAG_ACCOUNTS: str(identity.get("accounts")),
            registry.TAG_MODEL: cfg.model,
            registry.TAG_LOSS: cfg.loss,
        },
    )
    c.set_tag(run_id, registry.TAG_REASON, decision.reason)
    log.info("version %s: %s", version, decision.reason)
    return result(version, decision.promoted, decision.reason)
