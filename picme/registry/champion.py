"""The champion rule and the record of each decision.

A newly registered version of ``picme-scorer`` takes the alias ``champion`` only if it beats
the current champion on the headline metric (test within-account pairwise accuracy) on the
same test split. The champion's own score counts when its split fingerprint tag matches the
current test split; otherwise the caller re-evaluates it on the current split first (see
``picme.training.promote``: scoring a model is not the registry's business). A champion that
cannot be re-evaluated is replaced, with the reason. A version that does not win is tagged
``challenger``. Either way the reason is recorded as the version tag ``picme.reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from picme.registry.tracking import (
    CHALLENGER,
    CHAMPION,
    HEADLINE,
    TAG_HEADLINE,
    TAG_REASON,
    TAG_ROLE,
    TAG_SPLIT,
    client,
)

if TYPE_CHECKING:
    from picme.settings import Settings


@dataclass
class Decision:
    promoted: bool
    reason: str
    champion_before: str | None


def decide(
    new_score: float,
    champion_score: float | None,
    champion_version_id: str | None,
    *,
    min_gain: float = 0.0,
) -> Decision:
    """The champion rule, as a pure function so it is tested without MLflow."""
    if champion_version_id is None or champion_score is None:
        return Decision(True, f"first champion ({HEADLINE}={new_score:.4f})", None)
    if new_score > champion_score + min_gain:
        return Decision(
            True,
            f"beats champion v{champion_version_id} on {HEADLINE}: "
            f"{new_score:.4f} > {champion_score:.4f}",
            champion_version_id,
        )
    return Decision(
        False,
        f"does not beat champion v{champion_version_id} on {HEADLINE}: "
        f"{new_score:.4f} <= {champion_score:.4f}",
        champion_version_id,
    )


def decide_against(
    new_score: float, champion_version_id: str, champion_score: float | None, note: str = ""
) -> Decision:
    """:func:`decide` against an existing champion whose score on the current split may be
    unknown: then ``note`` says why, and the new version replaces it."""
    if champion_score is None:
        return Decision(True, note, champion_version_id)
    decision = decide(new_score, champion_score, champion_version_id)
    if note:
        decision.reason += f" (champion {note})"
    return decision


def recorded_score(tags: Mapping[str, str], split_fingerprint: str) -> float | None:
    """The champion's headline from its version tags, when it was measured on this split."""
    if tags.get(TAG_SPLIT) != split_fingerprint or TAG_HEADLINE not in tags:
        return None
    return float(tags[TAG_HEADLINE])


def record_decision(
    settings: Settings, version: str, decision: Decision, tags: dict[str, str]
) -> None:
    """Tag the new version, and move the alias when it won."""
    c = client(settings)
    name = settings.model_name
    for key, value in tags.items():
        c.set_model_version_tag(name, version, key, value)
    c.set_model_version_tag(name, version, TAG_REASON, decision.reason)
    if decision.promoted:
        c.set_registered_model_alias(name, CHAMPION, version)
        c.set_model_version_tag(name, version, TAG_ROLE, CHAMPION)
        if decision.champion_before is not None:
            c.set_model_version_tag(name, decision.champion_before, TAG_ROLE, "retired")
    else:
        c.set_model_version_tag(name, version, TAG_ROLE, CHALLENGER)
