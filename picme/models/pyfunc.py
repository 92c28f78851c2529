"""The logged form of a PicMe model: an MLflow pyfunc holding the weights and the
preprocessing, so ``mlflow.pyfunc.load_model(uri)`` (and ``picme.scoring.api.load_scorer``)
rebuild exactly the model that was trained.

Input: ``{"images": uint8 (N, S, S, 3) already square-resized, "meta": float32 (N, M) raw
metadata in ``Preprocessing.meta_columns`` order, NaN = unknown}``. Output: float scores (N,),
higher is better.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from mlflow.pyfunc import PythonModel

from picme.models.infer import predict_prepared, rebuild
from picme.models.preprocess import Preprocessing

WEIGHTS = "weights"
PREPROCESSING = "preprocessing"


class PicmePyfunc(PythonModel):
    # The input is a dict of tensors that mlflow's type-hint validation cannot describe; the
    # logged signature describes it instead, so skip the type-hint wrapper (and its warning).
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        self.prep = Preprocessing.load(Path(context.artifacts[PREPROCESSING]))
        self.net = rebuild(self.prep, context.artifacts[WEIGHTS])

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        images = np.asarray(model_input["images"], np.uint8)
        meta = np.asarray(model_input["meta"], np.float32)
        return predict_prepared(self.net, self.prep, images, meta)


def input_example(prep: Preprocessing, n: int = 1) -> dict[str, np.ndarray]:
    s = prep.image_size
    rng = np.random.default_rng(0)
    return {
        "images": rng.integers(0, 256, (n, s, s, 3), dtype=np.uint8),
        "meta": np.asarray(prep.meta_mean or [], np.float32).reshape(1, -1).repeat(n, 0)
        if prep.n_meta
        else np.zeros((n, 0), np.float32),
    }
