"""Saliency maps: where in the photo the model looks when it scores it.

Grad-CAM (Selvaraju et al., 2017) on the network's last convolutional block when it has one
(``PicmeNet.cam_layer``); otherwise the magnitude of the score's gradient with respect to the
pixels, smoothed. The map is computed on the square the model sees (the centre crop, see
``picme.models.preprocess``) and placed back on the whole image, zero outside the crop, so it
always has the image's own height and width, float32 in [0, 1]. A metadata-only model has no
map (None).

torch is imported inside the functions: ``picme.scoring.api`` (curation's path) imports this
module through the model scorer, and only a trained model's map needs torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from picme.models.preprocess import crop_box, square_resize

if TYPE_CHECKING:
    import torch

    from picme.models.nets import PicmeNet
    from picme.models.preprocess import Preprocessing


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.nan_to_num(a.astype(np.float32))
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(a)


def _net_map(net: PicmeNet, square: np.ndarray, meta: torch.Tensor) -> np.ndarray:
    import torch

    device = next(net.parameters()).device
    layer = net.cam_layer
    was_training = net.training
    net.eval()
    x = torch.from_numpy(square[None].astype(np.float32) / 255.0).to(device)
    meta = meta.to(device)
    try:
        if layer is not None:
            store: dict[str, torch.Tensor] = {}

            def hook(_m: object, _i: object, out: torch.Tensor) -> None:
                out.retain_grad()
                store["act"] = out

            handle = layer.register_forward_hook(hook)
            try:
                with torch.enable_grad():
                    score = net(x, meta)
                    net.zero_grad(set_to_none=True)
                    score.sum().backward()
            finally:
                handle.remove()
            act = store["act"]
            grad = act.grad
            assert grad is not None
            weights = grad.mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((weights * act).sum(dim=1))[0].detach().float().cpu().numpy()
        else:
            with torch.enable_grad():
                x.requires_grad_(True)
                score = net(x, meta)
                net.zero_grad(set_to_none=True)
                score.sum().backward()
            assert x.grad is not None
            cam = x.grad[0].abs().amax(dim=-1).float().cpu().numpy()
            k = max(3, (square.shape[0] // 12) | 1)
            cam = cv2.GaussianBlur(cam, (k, k), 0)
    finally:
        net.zero_grad(set_to_none=True)
        net.train(was_training)
    s = square.shape[0]
    return _unit(cv2.resize(cam, (s, s), interpolation=cv2.INTER_LINEAR))


def saliency_map(
    net: PicmeNet,
    prep: Preprocessing,
    image: np.ndarray,
    meta_raw: np.ndarray | None = None,
) -> np.ndarray | None:
    """HxW float32 in [0, 1] for an RGB uint8 image of any size; None without an image path."""
    import torch

    if not net.uses_image:
        return None
    h, w = image.shape[:2]
    square = square_resize(image, prep.image_size)
    raw = (
        np.full((1, prep.n_meta), np.nan, np.float32)
        if meta_raw is None
        else np.asarray(meta_raw, np.float32).reshape(1, prep.n_meta)
    )
    meta = torch.from_numpy(prep.standardize(raw))
    cam = _net_map(net, square, meta)
    top, left, ch, cw = crop_box(h, w)
    out = np.zeros((h, w), np.float32)
    out[top : top + ch, left : left + cw] = cv2.resize(
        cam, (cw, ch), interpolation=cv2.INTER_LINEAR
    )
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def overlay(image: np.ndarray, sal: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The image with the map as a heat overlay (RGB uint8), for the saved PNGs."""
    heat = cv2.applyColorMap((sal * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    mixed = (1 - alpha) * image.astype(np.float32) + alpha * heat.astype(np.float32)
    return np.clip(mixed, 0, 255).astype(np.uint8)
