"""The scorer of a logged tabular ranker: image features computed from the photo, metadata
given by the caller or neutral (the ranker fills a missing column with its training mean)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from picme.features.extractors import features_from_array
from picme.models.ranker import TabularRanker
from picme.scoring.base import aligned, check_image
from picme.scoring.heuristic import sharpness_map


class RankerScorer:
    # Image features in the training table are computed at 512 px (the features stage's
    # default): decoding album photos at that size keeps them comparable.
    max_side = 512

    def __init__(self, ranker: TabularRanker, *, name: str, version: str | None = None) -> None:
        self.ranker = ranker
        self.name = name
        self.version = version

    def frame(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> pd.DataFrame:
        n = len(images)
        md, ft = aligned(metadata, n, "metadata"), aligned(features, n, "features")
        rows = []
        for i, image in enumerate(images):
            f = ft[i]
            if f is None:
                check_image(image, i)
                f = features_from_array(image)
            row = {c: f[c] for c in self.ranker.columns if c in f}
            row.update({c: v for c, v in (md[i] or {}).items() if c in self.ranker.columns})
            rows.append(row)
        return pd.DataFrame(rows, columns=self.ranker.columns)

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
