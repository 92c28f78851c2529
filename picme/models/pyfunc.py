"""The logged form of a PicMe network: an MLflow pyfunc holding the weights, the
preprocessing and the percentile table of its training photos, so ``mlflow.pyfunc.load_model
(uri)``, ``mlflow models serve`` and ``picme.scoring.api.load_scorer`` rebuild exactly the model
that was trained. MLflow pickles this class by its import path
(``picme.models.pyfunc.PicmePyfunc``): keep it here.

Input: a table with one row per photo, ``image`` (the encoded file) and optional metadata by
name (:mod:`picme.models.request`). Output: per row ``score`` (higher is better),
``percentile`` among the training photos and ``status`` (``ok`` or why the row has no score).
Versions logged before this took ``{"images": uint8 (N, S, S, 3) already square-resized,
"meta": float32 (N, M) raw metadata in ``Preprocessing.meta_columns`` order, NaN = unknown}``
and returned the scores (N,): they still do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from picme.models.infer import predict_prepared, rebuild
from picme.models.percentiles import PERCENTILES, PercentileTable
from picme.models.preprocess import Preprocessing
from picme.models.request import IMAGE, decode_side, network_inputs, score_table

WEIGHTS = "weights"
PREPROCESSING = "preprocessing"


class PicmePyfunc(PythonModel):
    # The legacy input is a dict of tensors that mlflow's type-hint validation cannot
    # describe; the logged signature describes the input instead, so skip the type-hint
    # wrapper (and its warning).
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        artifacts = context.artifacts
        self.prep = Preprocessing.load(Path(artifacts[PREPROCESSING]))
        self.net = rebuild(self.prep, artifacts[WEIGHTS])
        self.percentiles = (
            PercentileTable.load(artifacts[PERCENTILES]) if PERCENTILES in artifacts else None
        )

    @staticmethod
    def metadata_columns(artifacts: dict[str, str]) -> list[str]:
        """The metadata (and feature) columns the network reads, from its artifacts."""
        return list(Preprocessing.load(Path(artifacts[PREPROCESSING])).meta_columns)

    def score(self, images: list[np.ndarray], metadata: list[dict[str, float]]) -> np.ndarray:
        batch, meta = network_inputs(self.prep, images, metadata, [None] * len(images))
        return predict_prepared(self.net, self.prep, batch, meta)

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        if isinstance(model_input, pd.DataFrame) and IMAGE in model_input.columns:
            side = decode_side(self.prep.image_size)
            return score_table(model_input, self.score, max_side=side, table=self.percentiles)
        images = np.asarray(model_input["images"], np.uint8)
        meta = np.asarray(model_input["meta"], np.float32)
        return predict_prepared(self.net, self.prep, images, meta)
