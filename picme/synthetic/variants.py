"""Unseen variants of one photo, ordered by their planted quality.

Each scene is drawn once (the same random draws for its layout, subject and the noise of
every quality knob) and rendered at several latent qualities ``q``: the variants differ
only in how ``q`` moves the knobs of :func:`picme.synthetic.sample_images.render_image`
(sharper, better exposed, more contrast and colour, less grain, a larger or present
subject as ``q`` grows). So within a scene, a higher ``q`` is a better photo by
construction: what a model that learnt the planted relation must rank first.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

from picme.synthetic.sample_accounts import THEMES
from picme.synthetic.sample_images import render_image

DEFAULT_QS = (-1.5, -0.5, 0.5, 1.5)


@dataclass(frozen=True)
class Variant:
    path: Path
    scene: int
    q: float


def quality_variants(
    out_dir: Path,
    *,
    scenes: int = 12,
    qs: tuple[float, ...] = DEFAULT_QS,
    size: tuple[int, int] = (256, 192),
    seed: int = 0,
) -> list[Variant]:
    """Write ``scenes`` x ``len(qs)`` JPEGs under ``out_dir``; the variants, in order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for s in range(scenes):
        theme = THEMES[s % len(THEMES)]
        for k, q in enumerate(qs):
            rng = np.random.default_rng([seed, s])  # the same draws for every q of a scene
            rgb, _ = render_image(size[0], size[1], float(q), theme, rng)
            path = out_dir / f"scene{s:03d}_v{k}.jpg"
            Image.fromarray(rgb).save(path, format="JPEG", quality=90)
            made.append(Variant(path, s, float(q)))
    return made


def ranking_accuracy(variants: list[Variant], scores: dict[Path, float]) -> float:
    """Share of same-scene pairs whose order by score matches their order by ``q`` (a tie
    counts one half)."""
    right, total = 0.0, 0
    by_scene: dict[int, list[Variant]] = {}
    for v in variants:
        by_scene.setdefault(v.scene, []).append(v)
    for group in by_scene.values():
        for a, b in combinations(group, 2):
            da, db = scores[a.path], scores[b.path]
            if a.q == b.q:
                continue
            total += 1
            right += 0.5 if da == db else float((da > db) == (a.q > b.q))
    return right / total if total else float("nan")
