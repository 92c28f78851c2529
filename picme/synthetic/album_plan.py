"""The plan of a test album: which photos it holds, each one a job saying what to draw (the
scene's seeds, the framing, the defect) and how to save it (path, quality, EXIF).

Planning draws from one seeded generator in a fixed order, so an album is the same for the
same arguments; drawing the pixels (:mod:`picme.synthetic.album_draw`) needs only the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

_T0 = datetime(2024, 6, 1, 9, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class AlbumJob:
    """One photo to draw and save."""

    path: str
    group: str
    kind: str
    family_seed: int
    bg_seed: int
    fg_seed: int
    width: int
    height: int
    dx: float = 0.0  # framing shift as a fraction of the width / height
    dy: float = 0.0
    zoom: float = 1.0  # > 1: a tighter crop of the same scene
    tilt: float = 0.0  # degrees
    motion_seed: int = 0
    quality: int = 92
    when: str | None = None
    orientation: int = 1


# Burst shots after the original, in this order: small framing shifts, re-encodes at a lower
# quality, subject motion between frames, a tighter crop and a slightly tilted camera.
BURST_VARIANTS = ("shift", "reencode", "motion", "zoom", "tilt")


@dataclass(frozen=True)
class _Scene:
    """A place on the album's timeline: its number, family, seed, size and capture time."""

    number: int
    family_seed: int
    seed: int
    size: tuple[int, int]
    when: datetime | None


def _variant(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    if kind == "shift":
        return {"dx": float(rng.uniform(-0.025, 0.025)), "dy": float(rng.uniform(-0.025, 0.025))}
    if kind == "reencode":
        return {"quality": int(rng.integers(60, 80))}
    if kind == "motion":
        return {"motion_seed": int(rng.integers(1, 2**31))}
    if kind == "zoom":
        return {"zoom": float(rng.uniform(1.05, 1.1))}
    if kind == "tilt":
        return {"tilt": float(rng.choice([-1, 1]) * rng.uniform(1.0, 2.0))}
    return {}


def plan(
    n_bursts: int,
    burst_size: int,
    n_singles: int,
    size: tuple[int, int],
    seed: int,
    formats: Sequence[str],
    bad_copies_every: int,
    n_rotated: int,
    families: int,
    exif_every: int,
    n_lookalikes: int = 0,
) -> list[AlbumJob]:
    """The jobs of an album (see :func:`picme.synthetic.album.generate_album`)."""
    rng = np.random.default_rng(seed)
    jobs: list[AlbumJob] = []
    clock = _T0
    fam_seeds = [int(x) for x in rng.integers(0, 2**31, max(1, families))]
    # Bursts and singles interleave in time, as on a trip.
    order = ["burst"] * n_bursts + ["single"] * n_singles
    rng.shuffle(order)  # type: ignore[arg-type]
    b = s = 0
    places: list[_Scene] = []  # the bursts', where look-alikes are shot
    for scene_no, what in enumerate(order):
        fam = fam_seeds[scene_no % len(fam_seeds)]
        scene_seed = int(rng.integers(0, 2**31))
        clock += timedelta(seconds=int(rng.integers(180, 1500)))
        with_time = exif_every > 0 and scene_no % exif_every == 0
        scene = _Scene(scene_no, fam, scene_seed, size, clock if with_time else None)
        if what == "burst":
            with_bad_copies = bad_copies_every > 0 and b % bad_copies_every == 0
            jobs += _burst(b, scene, burst_size, with_bad_copies, rng)
            places.append(scene)
            b += 1
        else:
            jobs.append(_single(s, scene, formats, n_rotated))
            s += 1
    jobs += _lookalikes(places[: max(0, n_lookalikes)], rng)
    return jobs


def _burst(
    b: int, scene: _Scene, burst_size: int, with_bad_copies: bool, rng: np.random.Generator
) -> list[AlbumJob]:
    variants = ["original"] + [
        BURST_VARIANTS[i % len(BURST_VARIANTS)] for i in range(max(0, burst_size - 1))
    ]
    if with_bad_copies:
        variants += ["blur", "dark"]
    # Shuffle the shooting order so the original is not always the first file.
    perm = rng.permutation(len(variants))
    jobs: list[AlbumJob] = []
    for shot, vi in enumerate(perm):
        kind = variants[int(vi)]
        when = scene.when + timedelta(seconds=shot) if scene.when else None
        jobs.append(
            AlbumJob(
                path=f"burst{b:04d}/IMG_{scene.number:04d}_{shot}.jpg",
                group=f"burst-{b:04d}",
                kind=kind,
                family_seed=scene.family_seed,
                bg_seed=scene.seed,
                fg_seed=scene.seed,
                width=scene.size[0],
                height=scene.size[1],
                when=when.isoformat() if when else None,
                **_variant(kind, rng),
            )
        )
    return jobs


def _single(s: int, scene: _Scene, formats: Sequence[str], n_rotated: int) -> AlbumJob:
    # The first n_rotated singles are JPEGs stored sideways with an orientation tag (what
    # phones write); the rest cycle through the formats.
    rotated = s < n_rotated
    fmt = "jpg" if rotated else formats[(s - n_rotated) % len(formats)]
    # Mixed letter case, as cameras and phones write them.
    ext = fmt.upper() if s % 3 == 1 else fmt
    return AlbumJob(
        path=f"singles/DSC_{scene.number:04d}.{ext}",
        group=f"single-{s:04d}",
        kind="rotated" if rotated else "single",
        family_seed=scene.family_seed,
        bg_seed=scene.seed,
        fg_seed=scene.seed,
        width=scene.size[0],
        height=scene.size[1],
        quality=90,
        when=scene.when.isoformat() if scene.when else None,
        orientation=(6, 8, 3)[s % 3] if rotated else 1,
    )


def _lookalikes(places: Sequence[_Scene], rng: np.random.Generator) -> list[AlbumJob]:
    """Another shot at a burst's place a minute later, other things in frame and the camera
    panned: alike to the eye, yet not a near-duplicate."""
    jobs: list[AlbumJob] = []
    for k, place in enumerate(places):
        t = place.when
        when = t + timedelta(seconds=int(rng.integers(40, 120))) if t is not None else None
        jobs.append(
            AlbumJob(
                path=f"burst{k:04d}/IMG_{k:04d}_other.jpg",
                group=f"lookalike-{k:04d}",
                kind="lookalike",
                family_seed=place.family_seed,
                bg_seed=place.seed,
                fg_seed=int(rng.integers(0, 2**31)),
                width=place.size[0],
                height=place.size[1],
                dx=float(rng.choice([-1, 1]) * rng.uniform(0.015, 0.03)),
                when=when.isoformat() if when else None,
            )
        )
    return jobs
