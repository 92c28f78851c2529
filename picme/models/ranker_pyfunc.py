"""The logged form of a tabular ranker: an MLflow pyfunc holding the ranker's JSON.

Input: a table with one row per photo and the ranker's columns by name (the image features
of ``picme.features``; metadata columns optional, a missing one is its training mean).
Output: float scores, higher is better. MLflow pickles this class by its import path
(``picme.models.ranker_pyfunc.PicmeRankerPyfunc``): keep it here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from picme.models.ranker import TabularRanker

RANKER = "ranker"


class PicmeRankerPyfunc(PythonModel):
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        self.ranker = TabularRanker.from_json(Path(context.artifacts[RANKER]).read_text())

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return np.asarray(self.ranker.predict(frame), np.float64)


def input_example(ranker: TabularRanker, n: int = 2) -> pd.DataFrame:
    """Rows at the training means: what an album photo with no metadata looks like."""
    return pd.DataFrame([dict(zip(ranker.columns, ranker.means, strict=True))] * n)
