"""Why there is no champion, in one line, for the commands that fall back to the heuristic."""

from __future__ import annotations

from picme.registry.tracking import TAG_REASON, client, store_missing
from picme.settings import Settings


def no_champion_reason(settings: Settings) -> str:
    """A sentence for a user whose photos were scored by the heuristic instead of a model."""
    tail = "scored with the heuristic"
    if store_missing(settings.tracking_uri):
        return f"no model has been trained yet: {tail} (train one with `picme train`)"
    try:
        versions = client(settings).search_model_versions(f"name='{settings.model_name}'")
    except Exception as exc:  # the registry is down or empty: the fallback still holds
        return f"the model registry could not be read ({type(exc).__name__}): {tail}"
    if not versions:
        return f"no model has been registered yet: {tail} (train one with `picme train`)"
    latest = max(versions, key=lambda v: int(v.version))
    why = (latest.tags or {}).get(TAG_REASON, "no recorded reason")
    return (
        f"no model has earned champion ({len(versions)} registered; latest v{latest.version}: "
        f"{why}): {tail}"
    )
