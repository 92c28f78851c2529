"""Training a tabular ranker (``ranker``, ``linear-pairwise``): fit on the train split
(early stopping on val when there is one), score val and test, and log the same way as the
networks: params, metrics, plots, the feature importances, and the model as a pyfunc.

The tabular models read the training table's columns directly (image features and
metadata, see :mod:`picme.models.ranker`), so nothing is decoded here; a frozen backbone's
embedding columns, when asked for, were added to the frame before
(:mod:`picme.training.embeddings`), and its weights and projection are logged with the model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd

from picme.dataset.contract import METADATA_COLUMNS
from picme.features.extractors import FEATURE_COLUMNS
from picme.models.ranker import HEURISTIC, RANKERS, TabularRanker, embedding_columns_in
from picme.models.ranker_pyfunc import (
    EMBED_SPEC,
    EMBED_WEIGHTS,
    RANKER,
    PicmeRankerPyfunc,
)
from picme.models.serving import REFERENCE_SCORES
from picme.models.table import SPLITS, split_pairs
from picme.training import plots
from picme.training.evaluate import EvalSplit
from picme.training.mlflow_log import log_pyfunc, requirements

if TYPE_CHECKING:
    from picme.models.embed import Embedder
    from picme.settings import Settings

log = logging.getLogger(__name__)

#: What each tabular model optimises, logged where the networks log their loss.
OBJECTIVE = {"ranker": "lambdarank", "linear-pairwise": "pairwise-logistic"}


def tabular_columns(frame: pd.DataFrame) -> list[str]:
    """Metadata and image-feature columns the frame has, in the table's order, the
    heuristic score derived from the features, and the embedding columns it has."""
    table = [c for c in [*METADATA_COLUMNS, *FEATURE_COLUMNS] if c in frame.columns]
    return [*table, HEURISTIC, *embedding_columns_in(list(frame.columns))]


@dataclass
class TabularFit:
    model: str
    ranker: TabularRanker
    splits: dict[str, EvalSplit]
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    embedder: Embedder | None = None

    @property
    def loss(self) -> str:
        return OBJECTIVE[self.model]


def eval_splits(frame: pd.DataFrame, pairs: pd.DataFrame | None) -> dict[str, EvalSplit]:
    """Each split's rows and its same-account pairs (pairs.parquet's, as the networks use)."""
    out = {}
    for split in SPLITS:
        part = frame[frame["split"] == split].reset_index(drop=True)
        out[split] = EvalSplit(part, split_pairs(part, pairs, split))
    return out


def fit_tabular(
    model: str,
    frame: pd.DataFrame,
    pairs: pd.DataFrame | None,
    *,
    seed: int,
    embedder: Embedder | None = None,
) -> TabularFit:
    """Fit on the train split; ``embedder`` made the frame's embedding columns, if any."""
    splits = eval_splits(frame, pairs)
    train, val = splits["train"].frame, splits["val"].frame
    ranker = RANKERS[model](train, tabular_columns(frame), val=val if len(val) else None, seed=seed)
    fitted = TabularFit(model, ranker, splits, embedder=embedder)
    for name in ("val", "test"):
        if len(splits[name].frame):
            fitted.scores[name] = ranker.predict(splits[name].frame)
    return fitted


def write_plots(fitted: TabularFit, rate: float, out: Path) -> list[Path]:
    test = fitted.splits["test"]
    scores = fitted.scores.get("test", np.zeros(0))
    labels = test.column("label")
    files = [plots.feature_importances(fitted.ranker.importances(), out / "importances.png")]
    return files + plots.label_plots(scores, labels, rate, out)


RANKER_PACKAGES = (
    "lightgbm", "scikit-learn", "mlflow", "numpy", "pandas", "opencv-python-headless", "pillow",
    "picme",
)  # fmt: skip


def log_model(fitted: TabularFit, settings: Settings, workdir: Path, register: bool) -> str | None:
    """Log the ranker as a pyfunc (and its importances) in the active run."""
    spec = workdir / "ranker.json"
    spec.write_text(fitted.ranker.to_json())
    artifacts = {RANKER: str(spec)}
    if fitted.embedder is not None:
        weights, embed_spec = fitted.embedder.save(workdir / "embed")
        artifacts.update({EMBED_WEIGHTS: str(weights), EMBED_SPEC: str(embed_spec)})
    imp = fitted.ranker.importances()
    imp_path = workdir / "feature_importances.csv"
    imp.to_csv(imp_path, index=False)
    mlflow.log_artifact(str(imp_path))
    packages = RANKER_PACKAGES + (("torch",) if fitted.embedder is not None else ())
    registered, _uri = log_pyfunc(
        settings,
        register,
        {
            "python_model": PicmeRankerPyfunc(),
            "artifacts": artifacts,
            "pip_requirements": requirements(packages),
            REFERENCE_SCORES: fitted.ranker.predict(fitted.splits["train"].frame),
        },
    )
    return registered


def params(fitted: TabularFit) -> dict[str, str]:
    s = fitted.splits
    e = fitted.embedder
    embed = {} if e is None else {"embed_arch": e.arch, "embed_dim": str(e.dim)}
    return embed | {
        "rows_train": str(len(s["train"].frame)),
        "rows_val": str(len(s["val"].frame)),
        "rows_test": str(len(s["test"].frame)),
        "pairs_train": str(len(s["train"].pairs[0])),
        "pairs_test": str(len(s["test"].pairs[0])),
        "columns": json.dumps(fitted.ranker.columns)[:5000],
        "objective": fitted.loss,
    }
