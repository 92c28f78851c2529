"""Recording the champion gate's decision in the registry, safely under concurrency.

The rule itself is :mod:`picme.registry.gate` (pure). Here: the decision is taken and
recorded while holding the registry lock, with the champion re-read inside the lock
(compare-and-set), so two trainings that finish together end with exactly one champion,
the one that beat the other. A version carries ``picme.state=incomplete`` until every tag
of its decision is written; only then can it take the alias, so a version left half-way by
a crash never becomes champion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from picme.registry.gate import GateDecision
from picme.registry.tracking import (
    CHALLENGER,
    CHAMPION,
    TAG_REASON,
    TAG_ROLE,
    champion_version,
    client,
)
from picme.util.locks import exclusive

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from picme.settings import Settings

TAG_STATE = "picme.state"
COMPLETE = "complete"
INCOMPLETE = "incomplete"
RETIRED = "retired"
#: Seconds a training waits for another one's champion decision before giving up.
LOCK_WAIT = 600.0


@contextmanager
def registry_lock(settings: Settings) -> Iterator[None]:
    """One champion decision at a time for this PICME_HOME's registry."""
    with exclusive(
        settings.home / "locks" / "registry.lock",
        "another `picme train` is deciding the champion and did not finish in "
        f"{LOCK_WAIT:.0f} s; run again when it is done",
        wait=LOCK_WAIT,
    ):
        yield


def mark_incomplete(settings: Settings, version: str) -> None:
    client(settings).set_model_version_tag(settings.model_name, version, TAG_STATE, INCOMPLETE)


def decide_and_record(
    settings: Settings,
    version: str,
    judge: Callable[[ModelVersion | None], GateDecision],
    tags: dict[str, str],
) -> GateDecision:
    """Under the registry lock: read the champion, let ``judge`` decide against it, record
    the evidence and the role, then move the alias when the version won."""
    with registry_lock(settings):
        before = champion_version(settings)
        decision = judge(before)
        record(settings, version, decision, before, tags)
    return decision


def record(
    settings: Settings,
    version: str,
    decision: GateDecision,
    before: ModelVersion | None,
    tags: dict[str, str],
) -> None:
    c = client(settings)
    name = settings.model_name
    for key, value in {**tags, **decision.tags()}.items():
        c.set_model_version_tag(name, version, key, value)
    c.set_model_version_tag(name, version, TAG_REASON, decision.reason)
    c.set_model_version_tag(name, version, TAG_STATE, COMPLETE)
    if not decision.promoted:
        c.set_model_version_tag(name, version, TAG_ROLE, CHALLENGER)
        return
    c.set_registered_model_alias(name, CHAMPION, version)
    c.set_model_version_tag(name, version, TAG_ROLE, CHAMPION)
    if before is not None and str(before.version) != str(version):
        c.set_model_version_tag(name, str(before.version), TAG_ROLE, RETIRED)
