"""The scorer of a logged tabular ranker: image features computed from the photo, metadata
given by the caller or neutral (the ranker fills a missing column with its training mean).

A ranker trained with a frozen backbone's embedding columns comes with its ``embedder``
(:mod:`picme.models.embed`), which computes those columns from the photo as well. It is the
only part that needs torch, and this module imports none: curation loads it on its light path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from picme.models.percentiles import PercentileTable
from picme.models.ranker import TabularRanker
from picme.models.request import PHOTO, decode_side, ranker_frame
from picme.scoring.base import aligned, check_image
from picme.scoring.heuristic import sharpness_map

if TYPE_CHECKING:
    from picme.models.embed import Embedder


class RankerScorer:
    def __init__(
        self,
        ranker: TabularRanker,
        *,
        name: str,
        version: str | None = None,
        embedder: Embedder | None = None,
        percentiles: PercentileTable | None = None,
        request_format: str = PHOTO,
    ) -> None:
        self.ranker = ranker
        self.name = name
        self.version = version
        self.embedder = embedder
        self.max_side = decode_side(embedder.image_size if embedder is not None else 0)
        self.percentiles = percentiles
        # PHOTO (the photo request of picme.models.serving) or COLUMNS (logged before).
        self.request_format = request_format

    def frame(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> pd.DataFrame:
        n = len(images)
        md, ft = aligned(metadata, n, "metadata"), aligned(features, n, "features")
        for i, image in enumerate(images):
            if ft[i] is None or self.embedder is not None:
                check_image(image, i)
        return ranker_frame(self.ranker, self.embedder, images, md, ft)

    def percentile(self, scores: np.ndarray) -> np.ndarray | None:
        """Each score's percentile among the training photos; None for a model logged
        before models carried their training photos' scores."""
        return None if self.percentiles is None else self.percentiles.percentile(scores)

    def score_images(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> np.ndarray:
        if len(images) == 0:
            return np.zeros(0, np.float64)
        return self.ranker.predict(self.frame(images, metadata, features))

    def saliency(self, image: np.ndarray) -> np.ndarray | None:
        # A ranker over global image features has no spatial attention; the sharpness map
        # shows where the photo is in focus, which the features reward.
        return sharpness_map(image)
