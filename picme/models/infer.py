"""Inference helpers shared by training, evaluation, the logged model and the scorer
(torch only; mlflow is not imported here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from picme.models import build_model
from picme.models.nets import PicmeNet
from picme.models.preprocess import Preprocessing


def rebuild(prep: Preprocessing, weights_path: str | Path | None = None) -> PicmeNet:
    """The network described by ``prep``; its own weights come from the saved state dict,
    so no ImageNet checkpoint is needed to load a trained backbone."""
    kwargs = dict(prep.model_kwargs)
    kwargs.pop("weights", None)
    kwargs["from_scratch"] = True
    net = build_model(prep.model, image_size=prep.image_size, n_meta=prep.n_meta, **kwargs)
    if weights_path is not None:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    net.eval()
    return net


@torch.no_grad()
def predict_prepared(
    net: PicmeNet, prep: Preprocessing, images: np.ndarray, meta_raw: np.ndarray, chunk: int = 64
) -> np.ndarray:
    """Scores for square-resized uint8 images and raw metadata (NaN = neutral)."""
    n = int(images.shape[0])
    if n == 0:
        return np.zeros(0, np.float64)
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    meta = prep.standardize(np.asarray(meta_raw, np.float32).reshape(n, prep.n_meta))
    out = []
    for start in range(0, n, chunk):
        imgs = torch.from_numpy(np.ascontiguousarray(images[start : start + chunk])).to(device)
        m = torch.from_numpy(meta[start : start + chunk]).to(device)
        out.append(net(imgs, m).float().cpu().numpy())
    net.train(was_training)
    return np.concatenate(out).astype(np.float64)
