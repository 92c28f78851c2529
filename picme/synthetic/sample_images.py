"""The sample's images: an outdoor scene whose look follows the post's latent quality ``q``
(docs/data.md gives the generative model).

Better posts are sharper, better exposed, more contrasted and saturated, less noisy and
more likely to show a face-like subject; each knob has its own noise, so no single image
feature reveals ``q``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _render_face(img: np.ndarray, cx: int, cy: int, a: int, rng: np.random.Generator) -> None:
    """A frontal, face-like subject: skin oval, darker eye sockets and brows, mouth, body."""
    import cv2

    tone = rng.uniform(0.55, 1.0)
    skin = tuple(int(c * tone + 30 * (1 - tone)) for c in (236, 188, 160))
    hair = tuple(int(c) for c in rng.integers(20, 90, 3))
    shirt = tuple(int(c) for c in rng.integers(30, 230, 3))
    b = int(a * 1.3)
    cv2.ellipse(img, (cx, cy + int(2.6 * a)), (int(1.9 * a), int(1.5 * a)), 0, 0, 360, shirt, -1)
    cv2.rectangle(img, (cx - a // 3, cy + b - a // 3), (cx + a // 3, cy + b + a // 2), skin, -1)
    cv2.ellipse(img, (cx, cy - a // 5), (int(a * 1.1), int(b * 1.02)), 0, 180, 360, hair, -1)
    cv2.ellipse(img, (cx, cy), (a, b), 0, 0, 360, skin, -1)
    eye_y = cy - int(0.2 * b)
    for side in (-1, 1):
        ex = cx + side * int(0.42 * a)
        cv2.ellipse(
            img, (ex, eye_y), (int(0.24 * a), int(0.13 * a)), 0, 0, 360, (245, 245, 245), -1
        )
        cv2.circle(img, (ex, eye_y), max(1, int(0.1 * a)), (35, 25, 20), -1)
        cv2.line(
            img,
            (ex - int(0.25 * a), eye_y - int(0.24 * a)),
            (ex + int(0.25 * a), eye_y - int(0.27 * a)),
            hair,
            max(1, a // 10),
        )
    nose = tuple(int(c * 0.8) for c in skin)
    cv2.line(img, (cx, eye_y + a // 8), (cx - a // 10, cy + int(0.25 * b)), nose, max(1, a // 14))
    cv2.ellipse(
        img, (cx, cy + int(0.5 * b)), (int(0.3 * a), int(0.12 * a)), 0, 0, 180, (150, 50, 60), -1
    )


def render_image(
    width: int, height: int, q: float, theme: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, float]]:
    """A scene whose look is driven by q (see docs/data.md); returns RGB uint8 and knobs."""
    import cv2

    h, w = height, width
    sky0, sky1 = (np.array(c, np.float32) for c in theme["sky"])
    gr0, gr1 = (np.array(c, np.float32) for c in theme["ground"])
    jitter = rng.uniform(-25, 25, 3).astype(np.float32)
    horizon = int(h * rng.uniform(0.4, 0.7))
    rows = np.arange(h, dtype=np.float32)[:, None]
    t_sky = rows[:horizon] / max(horizon, 1)
    t_ground = (rows[horizon:] - horizon) / max(h - horizon, 1)
    img = np.empty((h, w, 3), np.float32)
    img[:horizon] = (sky0 + (sky1 - sky0) * t_sky)[:, None, :] + jitter
    img[horizon:] = (gr0 + (gr1 - gr0) * t_ground)[:, None, :] + jitter
    canvas = np.clip(img, 0, 255).astype(np.uint8)

    # Objects and fine texture give blur something to destroy.
    for _ in range(int(rng.integers(4, 9))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(h // 5, h))
        sw, sh = int(rng.integers(w // 16, w // 4)), int(rng.integers(h // 16, h // 3))
        if rng.random() < 0.5:
            cv2.rectangle(canvas, (x0, y0), (x0 + sw, y0 + sh), color, -1)
        else:
            cv2.ellipse(canvas, (x0, y0), (sw // 2, sh // 2), 0, 0, 360, color, -1)
    for _ in range(int(rng.integers(6, 14))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(canvas, p0, p1, color, int(rng.integers(1, 3)))
    stripe_y = int(rng.integers(horizon, h)) if horizon < h - 4 else h - 4
    canvas[stripe_y : stripe_y + 4, ::4] = 255 - canvas[stripe_y : stripe_y + 4, ::4]

    # A face-like subject near a third of the frame, more likely and larger for good posts.
    has_subject = rng.random() < _sigmoid(0.3 + 1.6 * q)
    if has_subject:
        a = int(min(w, h) * (0.09 + 0.07 * _sigmoid(q + rng.normal(0, 0.5))))
        cx = int(w * rng.choice([0.33, 0.5, 0.67]) + rng.normal(0, w * 0.03))
        cy = int(h * rng.uniform(0.35, 0.5))
        _render_face(canvas, cx, cy, max(a, 6), rng)

    # Photographic quality knobs; each has its own noise so no single one reveals q.
    sigma = 3.2 * _sigmoid(-1.7 * q + rng.normal(0, 0.5))
    ev = (1.0 - _sigmoid(1.4 * q + rng.normal(0, 0.5))) * float(rng.choice([-1.0, 1.0]))
    contrast = 0.5 + 0.6 * _sigmoid(1.2 * q + rng.normal(0, 0.5))
    saturation = 0.3 + 1.0 * _sigmoid(1.2 * q + rng.normal(0, 0.5))
    noise = 0.5 + 2.5 * _sigmoid(-1.5 * q + rng.normal(0, 0.5))

    out: np.ndarray = canvas.astype(np.float32)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=sigma)
    gray = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    out = cv2.addWeighted(out, saturation, gray, 1.0 - saturation, 0.0)
    # Contrast around the mean, then exposure, folded into one affine map.
    mean = float(np.mean(cv2.mean(out)[:3]))
    gain = 2.0**ev
    # Luminance noise only: one channel is a third of the cost and looks like sensor grain.
    grain = rng.standard_normal((h, w), dtype=np.float32) * np.float32(noise)
    out = cv2.addWeighted(
        out, contrast * gain, cv2.merge([grain, grain, grain]), 1.0, mean * (1 - contrast) * gain
    )
    rgb = np.clip(out, 0, 255).astype(np.uint8)
    knobs = {
        "blur_sigma": sigma,
        "exposure_ev": ev,
        "contrast": contrast,
        "saturation": saturation,
        "noise": noise,
        "has_subject": float(has_subject),
    }
    return rgb, knobs
