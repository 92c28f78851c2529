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

This module imports neither torch nor mlflow at the top: curation imports it, and the
heuristic scorer must stay cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from picme.errors import InputError, PicmeError
from picme.registry.tracking import champion_version, store_missing
from picme.scoring.base import Scorer, aligned, check_image

if TYPE_CHECKING:
    from picme.settings import Settings

log = logging.getLogger(__name__)

HEURISTIC = "heuristic"
CHAMPION_ALIAS = "champion"


class HeuristicScorer:
    """``picme.features.extract.heuristic_quality`` over the image's OpenCV features.

    When the caller already has the features (curation computes them for near-duplicate
    grouping and explanations) it passes them and nothing is recomputed. Saliency is the
    smoothed local sharpness (Laplacian energy): where the eye is drawn in a photo that is
    in focus, which is what the heuristic rewards.
    """

    name = HEURISTIC
    version: str | None = None
    # The features in the training table are computed at this size (imagefeat's default),
    # so decoding album photos at the same size keeps the heuristic comparable.
    max_side = 512

    def score_images(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> np.ndarray:
        from picme.features.extractors import features_from_array
        from picme.features.heuristic import heuristic_quality

        feats = aligned(features, len(images), "features")
        out = np.empty(len(images), dtype=np.float64)
        for i, image in enumerate(images):
            f = feats[i]
            if f is None:
                check_image(image, i)
                f = features_from_array(image)
            out[i] = float(heuristic_quality(f))
        return out

    def saliency(self, image: np.ndarray) -> np.ndarray | None:
        return sharpness_map(image)


def sharpness_map(image: np.ndarray) -> np.ndarray:
    """Local Laplacian energy, blurred and scaled to [0, 1]; float32 with the image's size."""
    import cv2

    check_image(image, 0)
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))
    k = max(3, (min(gray.shape) // 16) | 1)
    energy = cv2.GaussianBlur(lap, (k, k), 0)
    return _unit(energy)


def _unit(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32, copy=False)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12:
        return np.zeros_like(a, dtype=np.float32)
    return ((a - lo) / (hi - lo)).astype(np.float32)


def champion_uri(settings: Settings | None = None) -> str | None:
    """``models:/<model_name>@champion`` when that alias exists in the registry, else None."""
    from picme.settings import get_settings

    settings = settings or get_settings()
    if store_missing(settings.tracking_uri):
        return None
    mv = champion_version(settings)
    if mv is None:
        return None
    return f"models:/{settings.model_name}@{CHAMPION_ALIAS}"


def load_scorer(spec: str | None = None, settings: Settings | None = None) -> Scorer:
    """``"heuristic"``, any MLflow model URI (``models:/name@alias``, ``runs:/id/model``,
    a local model folder), or None for the champion if one exists, else the heuristic."""
    from picme.settings import get_settings

    settings = settings or get_settings()
    if spec is not None and spec.strip().lower() == HEURISTIC:
        return HeuristicScorer()
    if spec is None or not spec.strip():
        uri = champion_uri(settings)
        if uri is None:
            log.info("no champion model registered yet; using the heuristic scorer")
            return HeuristicScorer()
        spec = uri
    from picme.scoring.model import load_model_scorer

    try:
        return load_model_scorer(spec.strip(), settings)
    except PicmeError:
        raise
    except Exception as exc:  # mlflow raises many types; the user needs one line
        raise InputError(
            f"cannot load model {spec!r}: {type(exc).__name__}: {str(exc).splitlines()[0]} "
            f"(give 'heuristic', a models:/ or runs:/ URI, or train one with `picme train`)"
        ) from exc
