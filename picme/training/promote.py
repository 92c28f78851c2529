"""The champion comparison of a newly registered version: the champion's score on the
current test split (from its tags, or re-evaluated here when it was measured on another
split), then the rule and its record in ``picme.registry.champion``.

Re-evaluating the champion scores a model, which the registry may not do (it sits below
``picme.scoring``), so that part lives in training.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from picme.errors import InputError
from picme.models.cache import DecodedCache
from picme.models.metrics import pairwise_accuracy
from picme.models.table import raw_meta_matrix
from picme.registry.champion import (
    Decision,
    decide,
    decide_against,
    record_decision,
    recorded_score,
)
from picme.scoring.model import load_model_scorer

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from picme.settings import Settings
    from picme.training.fit import Trained

log = logging.getLogger(__name__)


def champion_score_on(
    settings: Settings, version: str, trained: Trained
) -> tuple[float | None, str]:
    """The champion's headline metric on the current test split, re-evaluated."""
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


def promote(
    settings: Settings,
    version: str,
    before: ModelVersion | None,
    *,
    headline: float,
    split_fp: str,
    trained: Trained,
    tags: dict[str, str],
) -> Decision:
    """Compare registered ``version`` with ``before`` (the champion when the run started),
    move the alias when it wins, and record the decision and ``tags`` on the version."""
    if before is None:
        decision = decide(headline, None, None)
    else:
        champion = str(before.version)
        score, note = recorded_score(dict(before.tags or {}), split_fp), ""
        if score is None:
            score, note = champion_score_on(settings, champion, trained)
        decision = decide_against(headline, champion, score, note)
    record_decision(settings, version, decision, tags)
    log.info("version %s: %s", version, decision.reason)
    return decision
