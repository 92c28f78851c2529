"""The champion gate for a newly registered version: its test pairs against the heuristic,
the followers-only baseline, chance and the current champion re-evaluated on the same test
split (see :mod:`picme.registry.gate` for the rule and :mod:`picme.registry.champion` for
its record under the registry lock).

Re-evaluating the champion scores a model, which the registry may not do (it sits below
``picme.scoring``), so that part lives in training. A champion that cannot be re-evaluated
blocks the promotion, with the reason: a failed comparison never promotes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from picme.errors import InputError
from picme.models.cache import DecodedCache
from picme.models.table import raw_meta_matrix
from picme.registry.champion import decide_and_record
from picme.registry.gate import GateDecision, PairOutcomes, decide
from picme.scoring.model import load_model_scorer
from picme.scoring.ranker import RankerScorer
from picme.training.evaluate import EvalSplit, baseline_scores

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from picme.settings import Settings

log = logging.getLogger(__name__)


def champion_scores(settings: Settings, version: str, test: EvalSplit) -> np.ndarray:
    """The champion's scores of the current test rows, through its logged model."""
    scorer = load_model_scorer(f"models:/{settings.model_name}/{version}", settings)
    if isinstance(scorer, RankerScorer):
        return scorer.ranker.predict(test.frame)
    cache = DecodedCache(settings.cache_dir, scorer.prep.image_size, settings.n_workers())
    images, reasons = cache.load(
        test.frame["image_path"].astype(str).tolist(),
        test.frame["sha256"].tolist() if "sha256" in test.frame.columns else None,
    )
    if any(r is not None for r in reasons):
        raise InputError("some test images could not be decoded")
    return scorer.score_prepared(images, raw_meta_matrix(test.frame, scorer.prep.meta_columns))


def references(test: EvalSplit, seed: int) -> dict[str, PairOutcomes | str]:
    """The baselines' outcomes on the test pairs (random: chance, one half a pair)."""
    accounts = test.frame["owner_username"].tolist()
    base = baseline_scores(test.frame, seed)
    out: dict[str, PairOutcomes | str] = {}
    for name in ("heuristic", "followers"):
        s = base[name]
        out[name] = (
            PairOutcomes.from_scores(s, test.pairs, accounts)
            if np.isfinite(s).any()
            else f"no {name} scores on this table"
        )
    return out


def gate(
    settings: Settings,
    version: str,
    test: EvalSplit,
    scores: np.ndarray,
    *,
    seed: int,
    tags: dict[str, str],
) -> GateDecision:
    """Decide and record whether ``version`` (its ``scores`` of ``test``) is champion."""
    accounts = test.frame["owner_username"].tolist()
    candidate = PairOutcomes.from_scores(scores, test.pairs, accounts)
    refs = references(test, seed)
    refs["random"] = PairOutcomes.chance(candidate)

    def judge(before: ModelVersion | None) -> GateDecision:
        all_refs = dict(refs)
        if before is not None and str(before.version) != str(version):
            name = f"champion v{before.version}"
            try:
                champ = champion_scores(settings, str(before.version), test)
                all_refs[name] = PairOutcomes.from_scores(champ, test.pairs, accounts)
            except Exception as exc:  # any failure to re-evaluate blocks, with its reason
                first = str(exc).splitlines()[0] if str(exc) else ""
                all_refs[name] = f"could not be re-evaluated: {type(exc).__name__}: {first}"
        return decide(candidate, all_refs, seed=seed)

    decision = decide_and_record(settings, version, judge, tags)
    log.info("version %s: %s", version, decision.reason)
    return decision
