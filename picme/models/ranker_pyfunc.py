"""The logged form of a tabular ranker: an MLflow pyfunc holding the ranker's JSON and the
percentile table of its training photos.

Input: a table with one row per photo, ``image`` (the encoded file) and optional metadata by
name (:mod:`picme.models.request`); the image features are computed from the photo, a
metadata column the row lacks is its training mean. Output: per row ``score`` (higher is
better), ``percentile`` among the training photos and ``status`` (``ok`` or why the row has no
score). Versions logged before this took the ranker's columns by name and returned the
scores; a table without ``image`` is still read that way. MLflow pickles this class by its
import path (``picme.models.ranker_pyfunc.PicmeRankerPyfunc``): keep it here.

A ranker trained with a frozen backbone's embedding columns (:mod:`picme.models.embed`) also
carries the backbone's weights and its projection as the artifacts ``embed_weights`` and
``embed_spec``; loading it rebuilds ``embedder``, which computes those columns from the photo
(a table of columns without them reads them as neutral, like metadata). A ranker without
them loads with ``embedder`` None and no torch imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from picme.dataset.contract import METADATA_COLUMNS
from picme.models.percentiles import PERCENTILES, PercentileTable
from picme.models.ranker import TabularRanker
from picme.models.request import IMAGE, decode_side, ranker_frame, score_table

if TYPE_CHECKING:
    from picme.models.embed import Embedder

RANKER = "ranker"
EMBED_WEIGHTS = "embed_weights"
EMBED_SPEC = "embed_spec"


class PicmeRankerPyfunc(PythonModel):
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        artifacts = context.artifacts
        self.ranker = TabularRanker.from_json(Path(artifacts[RANKER]).read_text())
        self.embedder: Embedder | None = None
        if EMBED_WEIGHTS in artifacts:
            from picme.models.embed import Embedder

            self.embedder = Embedder.load(artifacts[EMBED_WEIGHTS], artifacts[EMBED_SPEC])
        self.percentiles = (
            PercentileTable.load(artifacts[PERCENTILES]) if PERCENTILES in artifacts else None
        )

    @staticmethod
    def metadata_columns(artifacts: dict[str, str]) -> list[str]:
        """The metadata columns the ranker reads, from its artifacts."""
        columns = TabularRanker.from_json(Path(artifacts[RANKER]).read_text()).columns
        return [c for c in columns if c in METADATA_COLUMNS]

    def score(self, images: list[np.ndarray], metadata: list[dict[str, float]]) -> np.ndarray:
        none = [None] * len(images)
        frame = ranker_frame(self.ranker, self.embedder, images, metadata, none)
        return np.asarray(self.ranker.predict(frame), np.float64)

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if IMAGE in frame.columns:
            side = decode_side(self.embedder.image_size if self.embedder is not None else 0)
            return score_table(frame, self.score, max_side=side, table=self.percentiles)
        return np.asarray(self.ranker.predict(frame), np.float64)
