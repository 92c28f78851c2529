"""``picme train --personal``: learn one person's taste from their keep/reject feedback.

The rows and the held-out split are :mod:`picme.training.personal_data`'s. The ranker is
one of the tabular rankers (:data:`picme.models.ranker.RANKERS`; ``auto`` is
``linear-pairwise``, right for a few hundred decisions) over the image features, the
heuristic and the score of the general scorer (the champion, pinned by version, or the
heuristic when there is none), fitted on the kept-over-rejected pairs of the training
albums (or blocks). It is logged through the champion's ranker pyfunc path
(:func:`picme.training.tabular.log_model`) and registered as its own model,
``picme-personal``, behind the champion's gate (:mod:`picme.registry.gate`): on the held-out
pairs it must beat the general scorer, the heuristic, chance and the current personal
champion, each by a paired two-level bootstrap interval (blocks of the held-out photos,
then their pairs) above 0, or it stays a challenger and the reason is printed.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from picme.errors import InputError
from picme.features.extractors import FEATURE_COLUMNS
from picme.models.ranker import HEURISTIC, RANKERS, TabularRanker, available_rankers
from picme.registry import tracking as registry
from picme.registry.champion import decide_and_record, mark_incomplete
from picme.registry.gate import GateDecision, PairOutcomes, decide
from picme.registry.recovery import TAG_HOST, TAG_PID
from picme.scoring.heuristic import HEURISTIC as HEURISTIC_SPEC
from picme.scoring.heuristic import HeuristicScorer
from picme.scoring.model import load_model_scorer
from picme.scoring.personal import (
    BASE_COLUMN,
    PERSONAL_MODEL,
    TAG_BASE,
    load_personal,
    personal_frame,
    personal_settings,
)
from picme.settings import get_settings
from picme.training.fit import run_seed
from picme.training.personal_data import FeedbackSet, feedback_set, pairs_of

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion

    from picme.scoring.base import Scorer
    from picme.settings import Settings
    from picme.training.config import TrainConfig

log = logging.getLogger(__name__)

#: What ``--model auto`` fits for the personal ranker: a few hundred decisions suit the
#: regularised linear model better than boosted trees.
PERSONAL_AUTO = "linear-pairwise"


@dataclass
class PersonalResult:
    run_id: str | None
    version: str | None
    promoted: bool
    reason: str
    base: str
    split: str
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    gate: GateDecision | None = field(default=None, repr=False)

    def summary(self) -> str:
        m = self.metrics
        lines = [
            f"personal ranker on top of {self.base}: "
            f"{m.get('feedback/kept', 0):.0f} kept and {m.get('feedback/rejected', 0):.0f} "
            "rejected photos",
            self.split,
            "held-out pairwise accuracy: "
            f"personal {m.get('personal/pairwise_acc', float('nan')):.3f}, "
            f"general scorer {m.get('personal/base_pairwise_acc', float('nan')):.3f}, "
            f"heuristic {m.get('personal/heuristic_pairwise_acc', float('nan')):.3f}",
            f"MLflow run: {self.run_id}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        if self.version is None:
            lines.append(self.reason)
        else:
            role = "champion" if self.promoted else "challenger"
            lines.append(f"registered {PERSONAL_MODEL} version {self.version} as {role}")
            gate = self.gate.summary() if self.gate is not None else self.reason
            # The gate's bootstrap units are blocks of photos here, not accounts.
            lines.append(gate.replace(" accounts)", " blocks)"))
        return "\n".join(lines)


def base_scorer(settings: Settings) -> tuple[Scorer, str]:
    """The general champion pinned by version, or the heuristic when there is none."""
    if not registry.store_missing(settings.tracking_uri):
        mv = registry.champion_version(settings)
        if mv is not None:
            spec = f"models:/{settings.model_name}/{mv.version}"
            return load_model_scorer(spec, settings), spec
    return HeuristicScorer(), HEURISTIC_SPEC


def personal_columns() -> list[str]:
    return [*FEATURE_COLUMNS, HEURISTIC, BASE_COLUMN]


def fit_personal(train: pd.DataFrame, model: str, seed: int) -> TabularRanker:
    """The personal ranker on the training rows' kept-over-rejected pairs."""
    columns = [c for c in personal_columns() if c in train.columns]
    if model == "linear-pairwise":
        return RANKERS[model](train, columns, target="grade", group="album", seed=seed, margin=0.5)
    return RANKERS[model](train, columns, target="grade", group="album", seed=seed)


def _model(cfg: TrainConfig) -> str:
    if cfg.model == "auto":
        return PERSONAL_AUTO
    if cfg.model not in RANKERS:
        raise InputError(
            f"--personal trains a tabular ranker: give --model {', '.join(available_rankers())} "
            f"or auto (got {cfg.model!r})"
        )
    return cfg.model


def _outcomes(scores: np.ndarray, test: pd.DataFrame) -> PairOutcomes:
    return PairOutcomes.from_scores(scores, pairs_of(test, "block"), test["block"].tolist())


def _previous(settings: Settings, before: ModelVersion, test: pd.DataFrame) -> np.ndarray:
    """The current personal champion's scores of the held-out photos (its own base)."""
    spec = str((before.tags or {}).get(TAG_BASE, HEURISTIC_SPEC))
    if spec == HEURISTIC_SPEC:
        scorer = load_personal(settings, str(before.version), spec, base=HeuristicScorer())
        base = test[HEURISTIC].to_numpy(np.float64)
    else:
        # Its base is another general version: that one's scores, from the same features
        # (loaded once, and handed to load_personal rather than loaded there again).
        base_model = load_model_scorer(spec, settings)
        scorer = load_personal(settings, str(before.version), spec, base=base_model)
        if not hasattr(base_model, "ranker"):
            raise InputError(f"its base {spec} needs the photos' pixels; retrain it")
        base = base_model.ranker.predict(test)
    return scorer.ranker.predict(
        personal_frame(test.to_dict("records"), base, scorer.ranker.columns)
    )


def judge_factory(
    settings: Settings,
    version: str,
    data: FeedbackSet,
    scores: np.ndarray,
    base_name: str,
    seed: int,
) -> Callable[[ModelVersion | None], GateDecision]:
    """The gate's judgement of ``version`` against every reference on the held-out pairs."""
    test = data.part("test")
    candidate = _outcomes(scores, test)
    refs: dict[str, PairOutcomes | str] = {"heuristic": _outcomes(test[HEURISTIC].to_numpy(), test)}
    if base_name != HEURISTIC_SPEC:
        refs[f"general {base_name}"] = _outcomes(test[BASE_COLUMN].to_numpy(), test)
    refs["random"] = PairOutcomes.chance(candidate)

    def judge(before: ModelVersion | None) -> GateDecision:
        all_refs = dict(refs)
        if before is not None and str(before.version) != str(version):
            name = f"personal champion v{before.version}"
            try:
                all_refs[name] = _outcomes(_previous(settings, before, test), test)
            except Exception as exc:  # a failed comparison blocks, with its reason
                first = str(exc).splitlines()[0] if str(exc) else ""
                all_refs[name] = f"could not be re-evaluated: {type(exc).__name__}: {first}"
        return decide(candidate, all_refs, seed=seed)

    return judge


def _metrics(data: FeedbackSet, scores: np.ndarray) -> dict[str, float]:
    test = data.part("test")
    out = {f"feedback/{k}": float(v) for k, v in data.sizes().items()}
    out["feedback/kept"] = float((data.frame["grade"] > 0).sum())
    out["feedback/rejected"] = float((data.frame["grade"] == 0).sum())
    for name, s in (
        ("personal/pairwise_acc", scores),
        ("personal/base_pairwise_acc", test[BASE_COLUMN].to_numpy()),
        ("personal/heuristic_pairwise_acc", test[HEURISTIC].to_numpy()),
    ):
        right = _outcomes(np.asarray(s, np.float64), test).right
        out[name] = float(np.nanmean(right)) if np.isfinite(right).any() else float("nan")
    return out


def _log(
    settings: Settings,
    run_id: str,
    ranker: TabularRanker,
    train: pd.DataFrame,
    metrics: dict[str, float],
    params: dict[str, str],
    register: bool,
) -> str | None:
    """Params, metrics and the ranker pyfunc (registered as picme-personal when asked)."""
    import mlflow

    from picme.training.evaluate import EvalSplit
    from picme.training.tabular import TabularFit, log_model

    with (
        tempfile.TemporaryDirectory(prefix="picme-personal-") as tmp,
        mlflow.start_run(run_id=run_id),
    ):
        mlflow.log_params(params)
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        # The training rows go with it as the champion's do (the pyfunc path may derive
        # reference scores from them).
        splits = {"train": EvalSplit(train, pairs_of(train, "album"))}
        fitted = TabularFit(ranker.kind, ranker, splits)
        return log_model(fitted, personal_settings(settings), Path(tmp), register)


def train_personal(cfg: TrainConfig, settings: Settings | None = None) -> PersonalResult:
    """Fit the personal ranker on the current feedback, log it, register it, gate it."""
    settings = settings or get_settings()
    model = _model(cfg)
    seed = run_seed(cfg, settings)
    base, base_name = base_scorer(settings)
    data = feedback_set(settings, base, seed)
    train, test = data.part("train"), data.part("test")
    ranker = fit_personal(train, model, seed)
    scores = ranker.predict(test)
    metrics = _metrics(data, scores)
    settings.ensure_dirs()
    c = registry.client(settings)
    run = c.create_run(
        registry.ensure_experiment(settings),
        run_name=f"personal-{model}",
        tags={registry.TAG_MODEL: f"personal-{model}", TAG_PID: str(os.getpid()),
              TAG_HOST: socket.gethostname()},
    )  # fmt: skip
    run_id = run.info.run_id
    params = {"personal": "true", "model": model, "base": base_name, "split_by": data.split_by,
              "seed": str(seed), "columns": ",".join(ranker.columns)[:5000]}  # fmt: skip
    try:
        version = _log(settings, run_id, ranker, train, metrics, params, cfg.register)
    except BaseException:
        c.set_terminated(run_id, status="FAILED")
        raise
    result = PersonalResult(
        run_id, version, False, "not registered (--no-register)", base_name, data.describe(),
        metrics, data.notes,
    )  # fmt: skip
    if version is None:
        return result
    psettings = personal_settings(settings)
    mark_incomplete(psettings, version)
    tags = {TAG_BASE: base_name, registry.TAG_MODEL: model,
            registry.TAG_HEADLINE: f"{metrics['personal/pairwise_acc']:.6f}"}  # fmt: skip
    judge = judge_factory(settings, version, data, scores, base_name, seed)
    decision = decide_and_record(psettings, version, judge, tags)
    c.set_tag(run_id, registry.TAG_REASON, decision.reason)
    log.info("%s version %s: %s", PERSONAL_MODEL, version, decision.reason)
    result.promoted, result.reason, result.gate = decision.promoted, decision.reason, decision
    return result
