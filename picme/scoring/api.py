"""One loader for every way PicMe scores photos.

``load_scorer("heuristic")`` gives the documented image-quality heuristic (no model, no
torch); ``load_scorer("models:/picme-scorer@champion")`` or any other MLflow model URI gives
the trained model with the preprocessing it was trained with; ``load_scorer(None)`` gives the
champion when one is registered, else the heuristic.

Album photos have no caption, likes or posting time, so every scorer works on images alone.
A model that was trained with metadata scores such images with *neutral metadata*: each
metadata column is set to its training-set mean (zero after standardisation), while the image
feature columns are computed from the image itself. When the caller has metadata (a post that
is about to be published, for instance) it passes it and the model uses it.

Neither this module nor what it imports loads torch or mlflow at import time: curation
imports it, and the heuristic scorer must stay cheap. A model scorer loads them when built.
"""

from __future__ import annotations

import logging

from picme.errors import InputError, PicmeError
from picme.registry.tracking import champion_version, store_missing
from picme.scoring.base import Scorer
from picme.scoring.heuristic import HEURISTIC, HeuristicScorer
from picme.scoring.model import load_model_scorer
from picme.scoring.personal import load_personal, personal_champion
from picme.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"


def champion_uri(settings: Settings | None = None) -> str | None:
    """``models:/<model_name>@champion`` when that alias exists in the registry, else None."""
    settings = settings or get_settings()
    if store_missing(settings.tracking_uri):
        return None
    mv = champion_version(settings)
    if mv is None:
        return None
    return f"models:/{settings.model_name}@{CHAMPION_ALIAS}"


def load_scorer(
    spec: str | None = None, settings: Settings | None = None, *, personal: bool = True
) -> Scorer:
    """``"heuristic"``, any MLflow model URI (``models:/name@alias``, ``runs:/id/model``,
    a local model folder), or None for the champion if one exists, else the heuristic.

    With None and ``personal``, the personal ranker (``picme-personal@champion``) comes
    first when one exists, composed with the general scorer it was trained on top of
    (:mod:`picme.scoring.personal`); its ``describe()`` says so in one line."""
    settings = settings or get_settings()
    if spec is not None and spec.strip().lower() == HEURISTIC:
        return HeuristicScorer()
    if (spec is None or not spec.strip()) and personal:
        found = personal_champion(settings)
        if found is not None:
            return _load_personal(settings, *found)
    if spec is None or not spec.strip():
        uri = champion_uri(settings)
        if uri is None:
            log.info("no champion model registered yet; using the heuristic scorer")
            return HeuristicScorer()
        spec = uri
    try:
        return load_model_scorer(spec.strip(), settings)
    except PicmeError:
        raise
    except Exception as exc:  # mlflow raises many types; the user needs one line
        raise InputError(
            f"cannot load model {spec!r}: {type(exc).__name__}: {str(exc).splitlines()[0]} "
            f"(give 'heuristic', a models:/ or runs:/ URI, or train one with `picme train`)"
        ) from exc


def _load_personal(settings: Settings, version: str, base_spec: str) -> Scorer:
    try:
        return load_personal(settings, version, base_spec)
    except PicmeError:
        raise
    except Exception as exc:  # mlflow raises many types; the user needs one line
        raise InputError(
            f"cannot load the personal ranker picme-personal version {version} (on top of "
            f"{base_spec}): {type(exc).__name__}: {str(exc).splitlines()[0]}; give --model "
            "to score with another model"
        ) from exc
