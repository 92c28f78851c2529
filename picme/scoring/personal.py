"""The personal ranker at scoring time: a person's own taste on top of the general scorer.

``picme train --personal`` (:mod:`picme.training.personal`) registers a tabular ranker as
its own model, :data:`PERSONAL_MODEL`, whose columns are the image features, the heuristic
and :data:`BASE_COLUMN`: the score that the general scorer it was trained on top of gives
the photo. That scorer is named in the version's :data:`TAG_BASE` tag (a pinned
``models:/picme-scorer/N`` URI, or ``heuristic``), so the personal ranker always composes
with the exact base it learned from, even after a newer general champion is promoted.

:class:`PersonalScorer` is a :class:`~picme.scoring.base.Scorer`: it scores with the base,
then orders with the personal ranker. Nothing here imports mlflow at import time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from picme.features.extractors import features_from_array
from picme.scoring.base import Scorer, aligned, check_image

if TYPE_CHECKING:
    from picme.models.ranker import TabularRanker
    from picme.settings import Settings

#: The registered model of the personal ranker.
PERSONAL_MODEL = "picme-personal"
#: The column holding the general scorer's score of the photo.
BASE_COLUMN = "base_score"
#: Version tag: the scorer the personal ranker was trained on top of.
TAG_BASE = "picme.personal.base"


def personal_settings(settings: Settings) -> Settings:
    """``settings`` with the registry's model name set to the personal model, so the
    registry functions (champion lookup, the gate's record, the lock) act on it."""
    return settings.model_copy(update={"model_name": PERSONAL_MODEL})


def base_scores(
    base: Scorer,
    images: Sequence[np.ndarray],
    features: Sequence[Mapping[str, Any]],
    metadata: Sequence[Mapping[str, Any] | None] | None = None,
) -> np.ndarray:
    """The base scorer's scores of the photos (their features given, not recomputed)."""
    if len(images) == 0:
        return np.zeros(0, np.float64)
    out = base.score_images(images, metadata=metadata, features=list(features))
    return np.asarray(out, np.float64).ravel()


def personal_frame(
    features: Sequence[Mapping[str, Any]], base: np.ndarray, columns: Sequence[str]
) -> pd.DataFrame:
    """The personal ranker's input: the features it uses and the base score."""
    rows = [{c: f[c] for c in columns if c in f} for f in features]
    frame = pd.DataFrame(rows, columns=list(columns))
    frame[BASE_COLUMN] = np.asarray(base, np.float64)
    return frame


class PersonalScorer:
    """The general scorer's score, re-ordered by the person's own ranker."""

    def __init__(
        self, ranker: TabularRanker, base: Scorer, *, version: str | None, base_spec: str
    ) -> None:
        self.ranker = ranker
        self.base = base
        self.base_spec = base_spec
        self.version = version
        self.name = f"{PERSONAL_MODEL}:{ranker.kind}"
        self.max_side = int(getattr(base, "max_side", 512) or 512)

    def describe(self) -> str:
        """One line for the command's output: which models score the photos."""
        return (
            f"using your personal ranker {PERSONAL_MODEL} version {self.version} "
            f"(learned from your keep/reject feedback) on top of {self.base_spec}"
        )

    def score_images(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> np.ndarray:
        if len(images) == 0:
            return np.zeros(0, np.float64)
        ft = aligned(features, len(images), "features")
        full: list[Mapping[str, Any]] = []
        for i, image in enumerate(images):
            f = ft[i]
            if f is None:
                check_image(image, i)
                f = features_from_array(image)
            full.append(f)
        base = base_scores(self.base, images, full, metadata)
        return self.ranker.predict(personal_frame(full, base, self.ranker.columns))

    def saliency(self, image: np.ndarray) -> np.ndarray | None:
        return self.base.saliency(image)


def personal_champion(settings: Settings) -> tuple[str, str] | None:
    """(version, base spec) of the personal champion, or None when there is none."""
    from picme.registry.tracking import champion_version, store_missing

    if store_missing(settings.tracking_uri):
        return None
    mv = champion_version(personal_settings(settings))
    if mv is None:
        return None
    return str(mv.version), str((mv.tags or {}).get(TAG_BASE, "heuristic"))


def load_personal(
    settings: Settings, version: str, base_spec: str, base: Scorer | None = None
) -> PersonalScorer:
    """The personal ranker ``version`` composed with its base (loaded unless given)."""
    import mlflow.pyfunc

    from picme.models.ranker_pyfunc import PicmeRankerPyfunc
    from picme.registry.tracking import use_tracking
    from picme.scoring.heuristic import HEURISTIC, HeuristicScorer
    from picme.scoring.model import load_model_scorer

    use_tracking(settings)
    inner = mlflow.pyfunc.load_model(f"models:/{PERSONAL_MODEL}/{version}").unwrap_python_model()
    if not isinstance(inner, PicmeRankerPyfunc):
        raise TypeError(f"{PERSONAL_MODEL} version {version} is not a PicMe ranker")
    if base is None:
        base = (
            HeuristicScorer() if base_spec == HEURISTIC else load_model_scorer(base_spec, settings)
        )
    return PersonalScorer(inner.ranker, base, version=version, base_spec=base_spec)
