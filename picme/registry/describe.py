"""Descriptions MLflow shows: the run's (its ``mlflow.note.content`` tag), the registered
version's and the registered model's, each holding the evaluation table of
:mod:`picme.registry.report` (the model against the baselines and the champion, with the
gate's intervals, and the split sizes).

The registered model's description follows the champion: it is rewritten when a version is
promoted, and says "no champion yet" until one is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from picme.registry.report import NOTE_TAG, run_description
from picme.registry.tracking import client

if TYPE_CHECKING:
    from picme.registry.gate import GateDecision
    from picme.settings import Settings

log = logging.getLogger(__name__)

ABOUT = (
    "Scores a photo for how well it would do on Instagram relative to the same account's "
    "other posts (a within-account ranker), from its pixels and, when known, its metadata. "
    "The `champion` alias is the version `picme curate` uses; a version takes it only when "
    "the champion gate's 95% intervals show it beats the heuristic, the followers-only "
    "baseline, chance and the current champion on the same test split."
)


def describe(
    settings: Settings,
    run_id: str,
    version: str | None,
    *,
    metrics: Mapping[str, float],
    params: Mapping[str, Any],
    model: str,
    decision: GateDecision | None = None,
    reason: str | None = None,
    notes: Sequence[str] = (),
) -> None:
    """Write the run's description, and the version's and the model's when registered
    (``decision``: the champion gate's, None when not registered). Informative only: a
    store that refuses is a warning, never a failed training."""
    gate_tags = None if decision is None else decision.tags()
    promoted = decision is not None and decision.promoted
    title = f"{model}: evaluation on the test split"
    if version is not None:
        title = f"{settings.model_name} v{version} ({model}): evaluation on the test split"
    text = run_description(
        metrics, params, title=title, gate_tags=gate_tags, reason=reason, notes=notes
    )
    c = client(settings)
    try:
        c.set_tag(run_id, NOTE_TAG, text)
        if version is None:
            return
        name = settings.model_name
        c.update_model_version(name, version, description=text)
        current = c.get_registered_model(name).description or ""
        if promoted:
            head = f"**Champion: v{version}** ({model}), since its gate:"
            c.update_registered_model(name, description=f"{ABOUT}\n\n{head}\n\n{text}")
        elif not current:
            c.update_registered_model(
                name, description=f"{ABOUT}\n\n**No champion yet**: no version has passed "
                "the gate (each version's description says why)."
            )  # fmt: skip
    except Exception as exc:  # descriptions are a record; the model is already registered
        log.warning("MLflow descriptions not written (%s)", exc)
