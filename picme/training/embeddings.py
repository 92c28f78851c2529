"""Frozen-backbone embedding columns for the tabular rankers (``picme train --embeddings``).

Every row's image is decoded through the decoded-image cache at the embedding size and run
through the frozen backbone (:class:`picme.models.embed.Embedder`); the projection is fitted
on the train split's rows only, then applied to every row, and its columns ``emb_*`` join the
frame before anything is fitted. Cross-validation folds the same frame: the projection, fitted
without labels, is then shared by the folds, while each fold's ranker sees only its labels.
A row whose image cannot be decoded keeps NaN there, which the ranker reads as the column's
training mean.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from picme.errors import InputError
from picme.models.cache import DecodedCache
from picme.models.embed import Embedder

if TYPE_CHECKING:
    from picme.settings import Settings
    from picme.training.config import TrainConfig

log = logging.getLogger(__name__)

# Images decoded and held in memory at once: 256 at 224 px is about 40 MB.
CHUNK = 256


def raw_embeddings(embedder: Embedder, cache: DecodedCache, frame: pd.DataFrame) -> np.ndarray:
    """(N, D) float32 backbone features of the frame's images; NaN rows where undecodable."""
    paths = frame["image_path"].astype(str).tolist()
    shas = frame["sha256"].tolist() if "sha256" in frame.columns else None
    out = np.full((len(frame), embedder.dim), np.nan, np.float32)
    failed = 0
    for start in range(0, len(paths), CHUNK):
        stop = start + CHUNK
        images, reasons = cache.load(
            paths[start:stop], shas[start:stop] if shas is not None else None
        )
        ok = np.array([r is None for r in reasons])
        failed += int((~ok).sum())
        if ok.any():
            out[start:stop][ok] = embedder.embed(images[ok])
    if failed:
        log.warning("%d of %d images could not be decoded: their embeddings are neutral",
                    failed, len(paths))  # fmt: skip
    return out


def embed_table(
    cfg: TrainConfig, settings: Settings, frame: pd.DataFrame
) -> tuple[pd.DataFrame, Embedder | None]:
    """The frame with the embedding columns and the fitted embedder (unchanged and None
    when ``cfg.embeddings`` is not set)."""
    if not cfg.embeddings:
        return frame, None
    if cfg.embed_components < 1:
        raise InputError(f"embed_components must be at least 1 (got {cfg.embed_components})")
    embedder = Embedder.from_checkpoint(cfg.embeddings, image_size=cfg.embed_size)
    log.info("embedding %d images with a frozen %s at %d px", len(frame), embedder.arch,
             embedder.image_size)  # fmt: skip
    cache = DecodedCache(settings.cache_dir, embedder.image_size, workers=settings.n_workers())
    raw = raw_embeddings(embedder, cache, frame)
    embedder.fit_projection(raw[(frame["split"] == "train").to_numpy()], cfg.embed_components)
    columns = embedder.project(raw)
    added = pd.DataFrame(columns, columns=embedder.columns, index=frame.index)
    kept = frame.drop(columns=embedder.columns, errors="ignore")
    return pd.concat([kept, added], axis=1), embedder
