"""Rankers over tabular features, registered by name beside the networks.

``ranker``: LightGBM's lambdarank with each account as one query, so it learns only what
orders the posts *of one account* (the headline question), from the image features, the
metadata and, when given, a frozen CNN's embedding columns. ``linear-pairwise``: a logistic
regression on the feature differences of same-account pairs, the small-data fallback.

Relevance: within each account, posts are graded 0..4 by the quintile of their
``log_likes`` (ranks, so accounts of every size and audience weigh alike); the linear model
uses the pairs themselves. Scoring an album photo needs no metadata: each column the photo
cannot provide is set to its training mean (LightGBM would otherwise route a missing value
down its own branch), exactly as the networks do.

A fitted ranker is a JSON document (columns, means, scales, and the LightGBM model text or
the linear weights): no pickle, so a registered ranker loads with any later picme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from picme.features.extractors import FEATURE_COLUMNS
from picme.features.heuristic import heuristic_quality

LEVELS = 5
#: A column the ranker derives from the image features when a table lacks it: the
#: documented heuristic, so a learned model starts from it and needs only to improve on it.
HEURISTIC = "heuristic_quality"


#: The columns a frozen backbone's projected features take (:mod:`picme.models.embed`).
EMBEDDING_PREFIX = "emb_"
_EMBEDDING = re.compile(rf"{EMBEDDING_PREFIX}(\d+)")


def embedding_columns(k: int) -> list[str]:
    return [f"{EMBEDDING_PREFIX}{i}" for i in range(k)]


def embedding_columns_in(columns: Sequence[str]) -> list[str]:
    """The embedding columns among ``columns``, in component order."""
    found = [(int(m.group(1)), c) for c in columns if (m := _EMBEDDING.fullmatch(str(c)))]
    return [c for _, c in sorted(found)]


def derived(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A derived column of ``frame`` (see :data:`HEURISTIC`)."""
    if column != HEURISTIC:
        raise KeyError(column)
    cols = [c for c in FEATURE_COLUMNS if c in frame.columns]
    records = frame[cols].to_dict("records")
    return np.array([heuristic_quality(r) for r in records], np.float64)


@dataclass
class TabularRanker:
    """A fitted ranker: ``predict`` scores rows of a frame (higher: does better)."""

    kind: str
    columns: list[str]
    means: list[float]
    scales: list[float]
    model: str = ""  # LightGBM model text
    weights: list[float] = field(default_factory=list)  # linear-pairwise
    _booster: Any = field(default=None, repr=False, compare=False)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The frame's columns in model order; a missing column or value is its mean."""
        x = np.empty((len(frame), len(self.columns)), np.float64)
        for j, c in enumerate(self.columns):
            if c in frame.columns:
                col = pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
            elif c == HEURISTIC:
                col = derived(frame, c)
            else:
                col = np.full(len(frame), np.nan)
            x[:, j] = np.where(np.isfinite(col), col, self.means[j])
        return x

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.matrix(frame)
        if self.kind == "linear-pairwise":
            z = (x - np.asarray(self.means)) / np.asarray(self.scales)
            return z @ np.asarray(self.weights)
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self.model)
        return np.asarray(self._booster.predict(x), np.float64)

    def importances(self) -> pd.DataFrame:
        """Per column: LightGBM's total gain, or the linear model's |standardized weight|."""
        if self.kind == "linear-pairwise":
            values = np.abs(np.asarray(self.weights))
        else:
            if self._booster is None:
                self.predict(
                    pd.DataFrame({c: [m] for c, m in zip(self.columns, self.means, strict=True)})
                )
            values = self._booster.feature_importance(importance_type="gain")
        total = float(np.sum(values)) or 1.0
        out = pd.DataFrame({"column": self.columns, "importance": values / total})
        return out.sort_values("importance", ascending=False, ignore_index=True)

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in ("kind", "columns", "means", "scales", "model")}
        data["weights"] = list(self.weights)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TabularRanker:
        data = json.loads(text)
        return cls(**{k: data[k] for k in ("kind", "columns", "means", "scales", "model")},
                   weights=list(data.get("weights", [])))  # fmt: skip


def relevance(groups: Sequence[object], value: np.ndarray) -> np.ndarray:
    """Within-group quintile (0..4) of ``value`` by rank; NaN values get grade 0."""
    g = pd.Series(np.asarray(groups, dtype=object))
    v = pd.Series(np.asarray(value, np.float64))
    pct = v.groupby(g).rank(pct=True, method="average").fillna(0.0).to_numpy()
    return np.minimum((pct * LEVELS).astype(np.int64), LEVELS - 1)


def _stats(frame: pd.DataFrame, columns: list[str]) -> tuple[list[float], list[float]]:
    means, scales = [], []
    for c in columns:
        col = (
            pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
            if c in frame.columns
            else derived(frame, c)
        )
        ok = col[np.isfinite(col)]
        means.append(float(ok.mean()) if ok.size else 0.0)
        sd = float(ok.std()) if ok.size > 1 else 0.0
        scales.append(sd if sd > 1e-12 else 1.0)
    return means, scales


def _query_order(groups: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Row order that makes each group contiguous, and the group sizes in that order."""
    g = pd.Series(np.asarray(groups, dtype=object))
    order = np.argsort(g.to_numpy().astype(str), kind="stable")
    sizes = g.iloc[order].groupby(g.iloc[order], sort=False).size().to_numpy()
    return order, sizes


def fit_lambdarank(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    target: str = "log_likes",
    group: str = "owner_username",
    val: pd.DataFrame | None = None,
    seed: int = 0,
    n_estimators: int = 300,
) -> TabularRanker:
    """LightGBM lambdarank, one query per account; early stopping on ``val`` when given."""
    import lightgbm as lgb

    means, scales = _stats(frame, columns)
    spec = TabularRanker("ranker", list(columns), means, scales)
    order, sizes = _query_order(frame[group])
    x = spec.matrix(frame)[order]
    y = relevance(frame[group], frame[target].to_numpy(np.float64))[order]
    model = lgb.LGBMRanker(
        objective="lambdarank",
        n_estimators=n_estimators,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=5,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        verbose=-1,
    )
    fit_args: dict[str, Any] = {"group": sizes}
    if val is not None and len(val) and val[group].nunique() > 0:
        v_order, v_sizes = _query_order(val[group])
        v_rel = relevance(val[group], val[target].to_numpy(np.float64))
        fit_args.update(
            eval_X=(spec.matrix(val)[v_order],),
            eval_y=(v_rel[v_order],),
            eval_group=[v_sizes],
            eval_at=[5],
            callbacks=[lgb.early_stopping(30, verbose=False)],
        )
    model.fit(x, y, **fit_args)
    spec.model = model.booster_.model_to_string()
    return spec


def fit_linear_pairwise(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    target: str = "log_likes",
    group: str = "owner_username",
    val: pd.DataFrame | None = None,
    seed: int = 0,
    margin: float = 0.0,
) -> TabularRanker:
    """Logistic regression on standardized feature differences of same-account pairs."""
    from sklearn.linear_model import LogisticRegression

    from picme.models.metrics import pairs_from_rows

    means, scales = _stats(frame, columns)
    spec = TabularRanker("linear-pairwise", list(columns), means, scales)
    z = (spec.matrix(frame) - np.asarray(means)) / np.asarray(scales)
    a, b, t = pairs_from_rows(frame[group].tolist(), frame[target].to_numpy(np.float64), margin)
    if len(a) == 0:
        spec.weights = [0.0] * len(columns)
        return spec
    # Both orders of every pair: the model is antisymmetric by construction, no intercept.
    diff = np.vstack([z[a] - z[b], z[b] - z[a]])
    y = np.concatenate([t, 1 - t]).astype(int)
    clf = LogisticRegression(C=1.0, fit_intercept=False, max_iter=1000, random_state=seed)
    clf.fit(diff, y)
    spec.weights = clf.coef_[0].astype(float).tolist()
    return spec


Fitter = Callable[..., TabularRanker]
RANKERS: dict[str, Fitter] = {"ranker": fit_lambdarank, "linear-pairwise": fit_linear_pairwise}


def available_rankers() -> list[str]:
    return sorted(RANKERS)
