"""Which models compete when ``picme train`` names none, and how each one is cross-validated.

Candidates: the tabular rankers always; the image network ``fusion`` once the training
table has at least :data:`CNN_MIN_ROWS` rows (below it a network costs minutes per fold on
a CPU and, on the generated data measured so far, loses to the rankers; the learning-curve
benchmark in bench/ is where this bound is to be checked as data grows). Each
candidate is a function that fits on one frame and scores another, run over the same folds
of the training accounts by :func:`picme.training.select.cross_validate`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from picme.models.ranker import RANKERS, available_rankers
from picme.settings import Settings
from picme.training.config import TrainConfig
from picme.training.evaluate import split_scores
from picme.training.fit import fit
from picme.training.select import FitScore, Selection, cross_validate
from picme.training.tabular import tabular_columns

log = logging.getLogger(__name__)

AUTO = "auto"
CNN_MIN_ROWS = 5000
DEFAULT_FOLDS = 5
NETWORK_CANDIDATES = ("fusion",)


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The training accounts: every row outside the test split (train and val)."""
    return frame[frame["split"] != "test"].reset_index(drop=True)


def ranker_fit_score(model: str, seed: int) -> FitScore:
    def run(train: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
        return RANKERS[model](train, tabular_columns(train), seed=seed).predict(held)

    return run


def network_fit_score(cfg: TrainConfig, settings: Settings) -> FitScore:
    """Fit the network on ``train`` (no validation: fixed epochs), score ``held``."""
    quiet = replace(cfg, plots=False, register=False)

    def run(train: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
        both = pd.concat([train.assign(split="train"), held.assign(split="test")])
        trained = fit(quiet, settings, both.reset_index(drop=True), None)
        scores = split_scores(trained, "test")
        kept = trained.dm.splits["test"].frame["shortcode"].tolist()
        by_code = dict(zip(kept, scores.tolist(), strict=True))
        return np.array([by_code.get(c, np.nan) for c in held["shortcode"]], np.float64)

    return run


def candidates(cfg: TrainConfig, settings: Settings, rows: int, seed: int) -> dict[str, FitScore]:
    """The competing models for ``picme train`` with no model named, or the one named."""
    if cfg.model in RANKERS:
        return {cfg.model: ranker_fit_score(cfg.model, seed)}
    if cfg.model != AUTO:
        return {cfg.model: network_fit_score(cfg, settings)}
    out = {name: ranker_fit_score(name, seed) for name in available_rankers()}
    if rows >= CNN_MIN_ROWS:
        for name in NETWORK_CANDIDATES:
            out[name] = network_fit_score(replace(cfg, model=name), settings)
    return out


def folds_for(frame: pd.DataFrame, wanted: int) -> int:
    """``wanted`` folds, fewer when the training accounts are fewer (0: cannot CV)."""
    accounts = frame["owner_username"].nunique()
    k = min(wanted, accounts)
    return k if k >= 2 else 0


def select_model(
    cfg: TrainConfig, settings: Settings, frame: pd.DataFrame, seed: int
) -> Selection | None:
    """Cross-validate the candidates on the training accounts; None when they are too few
    to fold (then the caller falls back to the default ranker and says so)."""
    rows = training_rows(frame)
    k = folds_for(rows, cfg.cv or DEFAULT_FOLDS)
    if k == 0:
        return None
    cands = candidates(cfg, settings, len(rows), seed)
    log.info("cross-validating %s over %d folds of the training accounts", ", ".join(cands), k)
    return cross_validate(rows, cands, k=k, margin=settings.pair_margin)
