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

from picme.features.extractors import features_from_array
from picme.models.preprocess import square_resize
from picme.models.ranker import TabularRanker
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
    ) -> None:
        self.ranker = ranker
        self.name = name
        self.version = version
        self.embedder = embedder
        # Image features in the training table are computed at 512 px (the features stage's
        # default): decoding album photos at that size keeps them comparable.
        self.max_side = max(512, embedder.image_size if embedder is not None else 0)

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
        frame = pd.DataFrame(rows, columns=self.ranker.columns)
        if self.embedder is not None:
            self._embed_missing(frame, images)
        return frame

    def _embed_missing(self, frame: pd.DataFrame, images: Sequence[np.ndarray]) -> None:
        """Fill the embedding columns the caller did not give, from the photos."""
        assert self.embedder is not None
        cols = self.embedder.columns
        numeric = frame[cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
        todo = [int(i) for i in np.flatnonzero(numeric.isna().any(axis=1).to_numpy())]
        if todo:
            for i in todo:
                check_image(images[i], i)
            s = self.embedder.image_size
            batch = np.stack([square_resize(images[i], s) for i in todo])
            numeric.iloc[todo] = self.embedder.transform(batch)
        frame[cols] = numeric

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
