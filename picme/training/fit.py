"""Fitting: the run's options resolved to per-model defaults, the data, the network and the
Lightning Trainer, and the weights of the best validation epoch kept in memory.

Accelerator ``auto``: a GPU when present, with bf16 mixed precision (fp16 on GPUs without
bf16), the CPU (fp32) otherwise; ``devices > 1`` is DDP, one process per GPU. AdamW with
cosine decay (``picme.models.module``); early stopping on ``val/loss``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping

from picme.errors import InputError
from picme.models import DEFAULT_EPOCHS, DEFAULT_IMAGE_SIZE, available_models, build_model
from picme.models.backbones import DEFAULT_ARCH
from picme.models.cache import DecodedCache
from picme.models.data import PicmeDataModule
from picme.models.losses import LossSpec, get_loss
from picme.models.module import ScoringModule
from picme.models.table import fit_preprocessing
from picme.training.config import TrainConfig, check_devices, choose_precision
from picme.training.epochs import EpochProgress

if TYPE_CHECKING:
    import pandas as pd

    from picme.models.nets import PicmeNet
    from picme.models.preprocess import Preprocessing
    from picme.settings import Settings


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
    check_devices(cfg, torch.cuda.device_count())
    choose_precision(cfg.precision, False, False)
    return out


def run_seed(cfg: TrainConfig, settings: Settings) -> int:
    return settings.seed if cfg.seed is None else cfg.seed


def use_gpu(cfg: TrainConfig) -> bool:
    return cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()


def run_precision(cfg: TrainConfig) -> str:
    gpu = use_gpu(cfg)
    return choose_precision(cfg.precision, gpu, gpu and torch.cuda.is_bf16_supported())


class KeepBest(Callback):
    """The weights of the best validation epoch, kept in memory (no checkpoint files)."""

    def __init__(self, net: PicmeNet) -> None:
        self.net = net
        self.best = float("inf")
        self.state: dict[str, Any] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get("val/loss")
        v = float(value) if value is not None else float("nan")
        if self.state is None or (np.isfinite(v) and v < self.best):
            self.best = v if np.isfinite(v) else self.best
            self.state = {k: t.detach().cpu().clone() for k, t in self.net.state_dict().items()}


def _data(
    cfg: TrainConfig,
    settings: Settings,
    frame: pd.DataFrame,
    pairs: pd.DataFrame | None,
    loss: LossSpec,
    seed: int,
) -> tuple[PicmeNet, Preprocessing, PicmeDataModule]:
    """The preprocessing fitted on the training split, the network, the set-up datamodule."""
    assert cfg.image_size is not None
    model_kwargs: dict[str, Any] = {}
    if cfg.model == "backbone":
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
    return net, prep, dm


def _trainer(
    cfg: TrainConfig, settings: Settings, keep: KeepBest, logger: Any, has_val: bool
) -> L.Trainer:
    # Without a validation split there is nothing honest to stop early on or to pick the
    # best epoch by: no validation loop at all, and the last epoch's weights are kept.
    callbacks: list[Callback] = [keep] if has_val else []
    callbacks.append(EpochProgress(f"training {cfg.model}", int(cfg.epochs or 1)))
    if has_val and not cfg.fast_dev_run:
        callbacks.append(EarlyStopping("val/loss", patience=cfg.patience, mode="min", strict=False))
    return L.Trainer(
        max_epochs=cfg.epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        precision=run_precision(cfg),  # type: ignore[arg-type]
        logger=logger if logger is not None else False,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        fast_dev_run=cfg.fast_dev_run,
        limit_val_batches=None if has_val else 0,
        default_root_dir=str(settings.home),
    )


def fit(
    cfg: TrainConfig,
    settings: Settings,
    frame: pd.DataFrame,
    pairs: pd.DataFrame | None = None,
    logger: Any = None,
) -> Trained:
    """Build the data, the network and the Trainer; fit; keep the best validation weights."""
    cfg = resolve(cfg)
    assert cfg.epochs is not None
    seed = run_seed(cfg, settings)
    L.seed_everything(seed, workers=True, verbose=False)
    loss = get_loss(cfg.loss)
    net, prep, dm = _data(cfg, settings, frame, pairs, loss, seed)
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
    keep = KeepBest(net)
    has_val = len(dm.splits["val"].frame) > 0
    trainer = _trainer(cfg, settings, keep, logger, has_val)
    try:
        trainer.fit(module, datamodule=dm)
    except SystemExit:
        # Lightning answers Ctrl-C with its own message and sys.exit(1); picme's CLI says
        # it once and exits 130, and the caller marks the MLflow run failed.
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
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
