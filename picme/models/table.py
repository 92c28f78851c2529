"""The training table as the models read it: loading and checking ``training.parquet`` and
``pairs.parquet``, the metadata columns in model order, each split's same-account pairs, and
the preprocessing statistics fitted on the training split.

Plain pandas and pyarrow: reading the table imports no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from picme.dataset.contract import METADATA_COLUMNS
from picme.errors import InputError
from picme.features.extractors import FEATURE_COLUMNS
from picme.lake.paths import lake_paths
from picme.lake.store import pull
from picme.models.metrics import pairs_from_rows
from picme.models.preprocess import Preprocessing, fit_stats
from picme.util.generations import consistent_read

if TYPE_CHECKING:
    from picme.models.losses import LossSpec
    from picme.settings import Settings

REQUIRED_COLUMNS = ["shortcode", "owner_username", "image_path", "split"]
SPLITS = ("train", "val", "test")


def training_dir(settings: Settings) -> Path:
    return lake_paths(settings).training_dir


def load_training_frame(settings: Settings) -> pd.DataFrame:
    """The training table as a DataFrame, with a clear message when it is missing or bad."""
    path = lake_paths(settings).training
    if not path.exists():
        raise InputError(f"{path}: no training table yet; run `picme features` first")
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:
        raise InputError(f"{path}: cannot read ({exc}); rebuild it with `picme features`") from exc
    return validate_frame(frame, str(path))


def validate_frame(frame: pd.DataFrame, where: str = "training table") -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing columns {missing}; rebuild it with `picme features`")
    counts = frame["split"].value_counts()
    empty = [s for s in ("train", "test") if counts.get(s, 0) == 0]
    if empty:
        raise InputError(
            f"{where}: no rows in split(s) {empty} ({len(frame)} rows in all); "
            "add data (more accounts or posts) and run `picme features` again"
        )
    return frame.reset_index(drop=True)


def load_pairs_frame(settings: Settings) -> pd.DataFrame | None:
    path = lake_paths(settings).pairs
    if not path.exists():
        return None
    return pq.read_table(path).to_pandas()


def load_training_set(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The training table and its pairs from one generation of the training set: a build
    that publishes in between is seen whole or not at all (picme.util.generations)."""
    pull(settings, ("training",))  # an object-store lake: into this worker's mirror
    return consistent_read(
        lake_paths(settings).training_dir,
        lambda _folder: (load_training_frame(settings), load_pairs_frame(settings)),
    )


def meta_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(all metadata columns in model order, the image-feature subset), those in ``frame``."""
    meta = [c for c in METADATA_COLUMNS if c in frame.columns]
    feats = [c for c in FEATURE_COLUMNS if c in frame.columns]
    return meta + feats, feats


def raw_meta_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    out = np.full((len(frame), len(columns)), np.nan, np.float32)
    for j, c in enumerate(columns):
        if c in frame.columns:
            out[:, j] = pd.to_numeric(frame[c], errors="coerce").astype("float64").to_numpy()
    return out


def fit_preprocessing(
    frame: pd.DataFrame,
    *,
    model: str,
    loss: LossSpec,
    image_size: int,
    model_kwargs: dict[str, Any] | None = None,
) -> Preprocessing:
    """Metadata and target statistics from the training split only."""
    columns, feats = meta_columns(frame)
    train = frame[frame["split"] == "train"]
    mean, std = fit_stats(raw_meta_matrix(train, columns))
    t_mean, t_std = 0.0, 1.0
    if loss.standardize:
        if loss.target not in frame.columns:
            raise InputError(f"training table: column {loss.target!r} needed by loss {loss.name}")
        t = pd.to_numeric(train[loss.target], errors="coerce").to_numpy(np.float64)
        t = t[np.isfinite(t)]
        if t.size:
            t_mean = float(t.mean())
            t_std = float(t.std()) if t.size > 1 and t.std() > 1e-8 else 1.0
    return Preprocessing(
        model=model,
        loss=loss.name,
        image_size=image_size,
        meta_columns=columns,
        feature_columns=feats,
        meta_mean=mean,
        meta_std=std,
        model_kwargs=dict(model_kwargs or {}),
        target=loss.target,
        target_mean=t_mean,
        target_std=t_std,
    )


def split_pairs(
    split_frame: pd.DataFrame,
    pairs: pd.DataFrame | None,
    split: str,
    order_column: str = "rel_log_likes",
    margin: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same-account pairs as row indices of ``split_frame``: pairs.parquet's when it has
    any for this split, else all pairs of the split's rows ordered by ``order_column``."""
    if pairs is not None and len(pairs):
        p = pairs[pairs["split"] == split] if "split" in pairs.columns else pairs
        pos = {s: i for i, s in enumerate(split_frame["shortcode"].tolist())}
        a = p["shortcode_a"].map(pos)
        b = p["shortcode_b"].map(pos)
        ok = a.notna() & b.notna()
        if ok.any():
            return (
                a[ok].to_numpy(np.int64),
                b[ok].to_numpy(np.int64),
                p.loc[ok, "target"].to_numpy(np.float32),
            )
    col = order_column if order_column in split_frame.columns else "log_likes"
    if col not in split_frame.columns:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    values = pd.to_numeric(split_frame[col], errors="coerce").to_numpy(np.float64)
    return pairs_from_rows(split_frame["owner_username"].tolist(), values, margin)
