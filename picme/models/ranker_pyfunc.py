"""The logged form of a tabular ranker: an MLflow pyfunc holding the ranker's JSON.

Input: a table with one row per photo and the ranker's columns by name (the image features
of ``picme.features``; metadata columns optional, a missing one is its training mean).
Output: float scores, higher is better. MLflow pickles this class by its import path
(``picme.models.ranker_pyfunc.PicmeRankerPyfunc``): keep it here.

A ranker trained with a frozen backbone's embedding columns (:mod:`picme.models.embed`) also
carries the backbone's weights and its projection as the artifacts ``embed_weights`` and
``embed_spec``; loading it rebuilds ``embedder``, which the scorer
(:class:`picme.scoring.ranker.RankerScorer`) uses to compute those columns from the photo
(``predict`` reads a table: embedding columns it lacks are neutral, like metadata). A ranker
without them loads as before, with ``embedder`` None and no torch imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from picme.models.ranker import TabularRanker

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

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return np.asarray(self.ranker.predict(frame), np.float64)


def input_example(ranker: TabularRanker, n: int = 2) -> pd.DataFrame:
    """Rows at the training means: what an album photo with no metadata looks like."""
    return pd.DataFrame([dict(zip(ranker.columns, ranker.means, strict=True))] * n)
