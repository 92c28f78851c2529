"""Labelled test albums: bursts of near-duplicates, blurred and dark copies, singles.

Curation has no public labelled data set for near-duplicate grouping, and tests and the
benchmark must not download anything, so this module draws its own photos. Every photo is a
procedural outdoor-looking scene (sky gradient, horizon, sun, shapes, low-frequency light and
fine grain, so JPEG sizes and decode costs are close to a camera's). A *burst* is one scene
shot several times: small shifts of the framing, re-encodes at another quality, and (the
hard cases the quality gate must catch) a blurred and an underexposed copy. *Singles* are
scenes of their own. Scenes come in *families* sharing a palette and horizon, so unrelated
photos can still look alike: that is what keeps the precision figure honest.

The ground truth (which files belong together, which is the sharp, well exposed original)
is returned as an :class:`AlbumSpec` and can be saved as JSON outside the album.
``cached_album`` keeps a generated album on disk keyed by its parameters, because a thousand
12-megapixel JPEGs take minutes to draw.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from picme.errors import InputError

# EXIF tags (see the EXIF 2.3 specification).
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003

FORMATS = ("jpg", "png", "webp", "heic", "tiff", "bmp")
# Part of the cache key of cached_album: bump when the drawing changes.
GENERATOR_VERSION = 2
_T0 = datetime(2024, 6, 1, 9, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class AlbumItem:
    """One generated file and its truth."""

    path: str  # relative to the album root, POSIX separators
    group: str  # near-duplicate group: every file of one burst shares it
    kind: (
        str  # original, shift, reencode, motion, zoom, tilt, blur, dark, lookalike, single, rotated
    )
    captured_at: str | None = None  # the EXIF DateTimeOriginal written, ISO 8601 (UTC)
    orientation: int = 1  # EXIF orientation written; the pixels are stored accordingly


@dataclass
class AlbumSpec:
    root: Path
    items: list[AlbumItem] = field(default_factory=list)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for it in self.items:
            out.setdefault(it.group, []).append(it.path)
        return out

    def label_of(self) -> dict[str, str]:
        return {it.path: it.group for it in self.items}

    def summary(self) -> str:
        groups = self.groups()
        bursts = sum(1 for g in groups.values() if len(g) > 1)
        return (
            f"album {self.root}: {len(self.items)} photos, {bursts} bursts, "
            f"{len(groups) - bursts} singles"
        )

    def to_json(self) -> dict[str, Any]:
        return {"root": str(self.root), "items": [asdict(it) for it in self.items]}

    def save_labels(self, path: Path) -> Path:
        """Write the truth as JSON; refuses a path inside the album (it would be curated)."""
        from picme.util.atomic import atomic_open

        path = Path(path)
        if path.resolve().is_relative_to(self.root.resolve()):
            raise InputError(f"labels file {path} is inside the album {self.root}; put it beside")
        with atomic_open(path) as fh:
            json.dump(self.to_json(), fh, indent=1)
        return path

    @classmethod
    def load_labels(cls, path: Path) -> AlbumSpec:
        data = json.loads(Path(path).read_text())
        return cls(Path(data["root"]), [AlbumItem(**it) for it in data["items"]])


# ----------------------------------------------------------------------------- drawing


def _palette(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A family's colours: sky top, sky horizon, ground, accent."""
    base = rng.uniform(0, 1)
    warm = rng.uniform() < 0.4

    def hsv(h: float, s: float, v: float) -> np.ndarray:
        import colorsys

        return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32) * 255

    if warm:  # sunset light
        return {
            "top": hsv(0.62 + 0.1 * base, 0.5, 0.55),
            "horizon": hsv(0.05 + 0.05 * base, 0.7, 0.98),
            "ground": hsv(0.08 + 0.1 * base, 0.6, 0.35),
            "accent": hsv(0.12, 0.8, 1.0),
        }
    return {
        "top": hsv(0.55 + 0.08 * base, 0.65, 0.8),
        "horizon": hsv(0.55 + 0.05 * base, 0.2, 0.95),
        "ground": hsv(0.2 + 0.25 * base, 0.55, 0.5),
        "accent": hsv(base + 0.5, 0.7, 0.9),
    }


def _scene(
    width: int,
    height: int,
    family_seed: int,
    bg_seed: int,
    fg_seed: int,
    motion_seed: int = 0,
    grain: float = 5.0,
) -> np.ndarray:
    """An RGB uint8 photo-like scene; the same seeds always give the same pixels.

    ``bg_seed`` draws the place (horizon, sky light, sun, grain), ``fg_seed`` what stands in
    it (shapes), and a non-zero ``motion_seed`` moves every shape a little, as between two
    frames of a burst.
    """
    import cv2

    fam = np.random.default_rng(family_seed)
    pal = _palette(fam)
    horizon = fam.uniform(0.45, 0.7)
    bg = np.random.default_rng(bg_seed)
    fg = np.random.default_rng(fg_seed)
    mo = np.random.default_rng(motion_seed) if motion_seed else None
    h, w = height, width
    hz = int(h * (horizon + bg.uniform(-0.08, 0.08)))

    # Sky: vertical gradient; ground: flat colour. Drawn in uint8 with OpenCV so that a
    # 12-megapixel photo takes a fraction of a second.
    t = np.linspace(0.0, 1.0, max(hz, 1), dtype=np.float32)[:, None]
    sky = pal["top"][None, :] * (1 - t) + pal["horizon"][None, :] * t  # (hz, 3)
    img: np.ndarray = np.empty((h, w, 3), np.uint8)
    img[:hz] = np.round(sky).astype(np.uint8)[:, None, :]
    img[hz:] = np.round(pal["ground"]).astype(np.uint8)
    sun_r = int(min(w, h) * bg.uniform(0.04, 0.09))
    cv2.circle(
        img,
        (int(w * bg.uniform(0.1, 0.9)), int(hz * bg.uniform(0.2, 0.8))),
        sun_r,
        tuple(float(c) for c in pal["accent"]),
        -1,
        lineType=cv2.LINE_AA,
    )

    # What stands there: shapes whose positions and colours depend on the foreground seed.
    thick = max(1, w // 640)  # texture lines stay visible when a big photo is shown small
    for _ in range(int(fg.integers(6, 14))):
        color = tuple(float(c) for c in fg.uniform(20, 235, 3))
        cx, cy = int(fg.uniform(0, w)), int(fg.uniform(hz * 0.6, h))
        size = int(min(w, h) * fg.uniform(0.05, 0.3))
        kind = fg.integers(0, 3)
        lines = fg.uniform() < 0.6
        step = max(2, size // int(fg.integers(4, 10)))
        if mo is not None:
            cx += int(mo.normal(0, 0.012) * w)
            cy += int(mo.normal(0, 0.012) * h)
        if kind == 0:
            cv2.circle(img, (cx, cy), size // 2, color, -1, lineType=cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, (cx - size // 2, cy - size), (cx + size // 2, cy), color, -1)
        else:
            pts = np.array([[cx, cy - size], [cx - size // 2, cy], [cx + size // 2, cy]], np.int32)
            cv2.fillPoly(img, [pts], color, lineType=cv2.LINE_AA)
        # Edges and texture inside the shape so there is detail to be sharp or blurred.
        if lines:
            for yy in range(cy - size, cy, step):
                cv2.line(img, (cx - size // 2, yy), (cx + size // 2, yy), (20, 20, 20), thick)

    # Light: a smooth multiplicative field (clouds, vignetting), 128 = unchanged.
    small = bg.uniform(0.75, 1.15, (6, 8)).astype(np.float32)
    light = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    light_u8 = np.clip(light * 128.0, 0, 255).astype(np.uint8)
    img = cv2.multiply(img, cv2.merge([light_u8, light_u8, light_u8]), scale=1.0 / 128.0)
    # Grain: a tiled noise pattern is as costly to encode/decode as fresh noise and much
    # cheaper to draw at 12 megapixels; added and subtracted with uint8 saturation.
    if grain > 0:
        tile = bg.normal(0.0, grain, (256, 256))
        reps = (-(-h // 256), -(-w // 256))
        pos = np.tile(np.clip(tile, 0, 255).astype(np.uint8), reps)[:h, :w]
        neg = np.tile(np.clip(-tile, 0, 255).astype(np.uint8), reps)[:h, :w]
        img = cv2.subtract(cv2.add(img, cv2.merge([pos] * 3)), cv2.merge([neg] * 3))
    return np.ascontiguousarray(img)


def _exif_bytes(when: datetime | None, orientation: int = 1) -> bytes | None:
    from PIL import Image

    if when is None and orientation == 1:
        return None
    exif = Image.Exif()
    if orientation != 1:
        exif[_ORIENTATION] = orientation
    if when is not None:
        exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = when.strftime("%Y:%m:%d %H:%M:%S")
    return exif.tobytes()


def _stored_for_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels to store so that a viewer applying ``orientation`` shows ``rgb`` upright."""
    if orientation == 6:  # viewer rotates 90 degrees clockwise
        return np.ascontiguousarray(np.rot90(rgb, 1))
    if orientation == 8:  # viewer rotates 90 degrees counter-clockwise
        return np.ascontiguousarray(np.rot90(rgb, -1))
    if orientation == 3:
        return np.ascontiguousarray(rgb[::-1, ::-1])
    return rgb


def _save(
    rgb: np.ndarray, path: Path, quality: int, when: datetime | None, orientation: int = 1
) -> None:
    from PIL import Image

    fmt = path.suffix.lower().lstrip(".")
    im = Image.fromarray(_stored_for_orientation(rgb, orientation))
    exif = (
        _exif_bytes(when, orientation) if fmt in ("jpg", "jpeg", "webp", "tiff", "heic") else None
    )
    kw: dict[str, Any] = {}
    if exif:
        kw["exif"] = exif
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("jpg", "jpeg"):
        im.save(path, "JPEG", quality=quality, **kw)
    elif fmt == "webp":
        im.save(path, "WEBP", quality=quality, **kw)
    elif fmt == "heic":
        from pillow_heif import register_heif_opener

        register_heif_opener()
        im.save(path, "HEIF", quality=quality, **kw)
    elif fmt in ("tif", "tiff"):
        im.save(path, "TIFF", **kw)
    elif fmt == "png":
        im.save(path, "PNG")
    elif fmt == "bmp":
        im.save(path, "BMP")
    else:
        raise InputError(f"album generator: unknown format {fmt!r}; use one of {FORMATS}")


# ----------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Job:
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


def _plan(
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
) -> list[_Job]:
    rng = np.random.default_rng(seed)
    w, h = size
    jobs: list[_Job] = []
    clock = _T0
    fam_seeds = [int(x) for x in rng.integers(0, 2**31, max(1, families))]
    # Bursts and singles interleave in time, as on a trip.
    order = ["burst"] * n_bursts + ["single"] * n_singles
    rng.shuffle(order)  # type: ignore[arg-type]
    b = s = 0
    places: list[tuple[int, int, datetime | None]] = []  # (family, background, time) of bursts
    for scene_no, what in enumerate(order):
        fam = fam_seeds[scene_no % len(fam_seeds)]
        scene_seed = int(rng.integers(0, 2**31))
        clock += timedelta(seconds=int(rng.integers(180, 1500)))
        with_time = exif_every > 0 and scene_no % exif_every == 0
        if what == "burst":
            group = f"burst-{b:04d}"
            variants = ["original"] + [
                BURST_VARIANTS[i % len(BURST_VARIANTS)] for i in range(max(0, burst_size - 1))
            ]
            if bad_copies_every > 0 and b % bad_copies_every == 0:
                variants += ["blur", "dark"]
            # Shuffle the shooting order so the original is not always the first file.
            perm = rng.permutation(len(variants))
            for shot, vi in enumerate(perm):
                kind = variants[int(vi)]
                when = clock + timedelta(seconds=shot) if with_time else None
                jobs.append(
                    _Job(
                        path=f"burst{b:04d}/IMG_{scene_no:04d}_{shot}.jpg",
                        group=group,
                        kind=kind,
                        family_seed=fam,
                        bg_seed=scene_seed,
                        fg_seed=scene_seed,
                        width=w,
                        height=h,
                        when=when.isoformat() if when else None,
                        **_variant(kind, rng),
                    )
                )
            places.append((fam, scene_seed, clock if with_time else None))
            b += 1
        else:
            # The first n_rotated singles are JPEGs stored sideways with an orientation tag
            # (what phones write); the rest cycle through the formats.
            rotated = s < n_rotated
            fmt = "jpg" if rotated else formats[(s - n_rotated) % len(formats)]
            # Mixed letter case, as cameras and phones write them.
            ext = fmt.upper() if s % 3 == 1 else fmt
            orientation = (6, 8, 3)[s % 3] if rotated else 1
            when = clock if with_time else None
            jobs.append(
                _Job(
                    path=f"singles/DSC_{scene_no:04d}.{ext}",
                    group=f"single-{s:04d}",
                    kind="rotated" if rotated else "single",
                    family_seed=fam,
                    bg_seed=scene_seed,
                    fg_seed=scene_seed,
                    width=w,
                    height=h,
                    quality=90,
                    when=when.isoformat() if when else None,
                    orientation=orientation,
                )
            )
            s += 1
    # Look-alikes: another shot at a burst's place a minute later, other things in frame and
    # the camera panned; alike to the eye, yet not a near-duplicate.
    for k in range(min(n_lookalikes, len(places))):
        fam, bg_seed, t = places[k]
        when = t + timedelta(seconds=int(rng.integers(40, 120))) if t is not None else None
        jobs.append(
            _Job(
                path=f"burst{k:04d}/IMG_{k:04d}_other.jpg",
                group=f"lookalike-{k:04d}",
                kind="lookalike",
                family_seed=fam,
                bg_seed=bg_seed,
                fg_seed=int(rng.integers(0, 2**31)),
                width=w,
                height=h,
                dx=float(rng.choice([-1, 1]) * rng.uniform(0.015, 0.03)),
                when=when.isoformat() if when else None,
            )
        )
    return jobs


def render(job: _Job) -> np.ndarray:
    """The upright pixels of one planned photo (before orientation and encoding)."""
    import cv2

    margin = 0.03
    cw, ch = int(job.width * (1 + 2 * margin)), int(job.height * (1 + 2 * margin))
    canvas = _scene(cw, ch, job.family_seed, job.bg_seed, job.fg_seed, job.motion_seed)
    if job.tilt:
        center = (cw / 2.0, ch / 2.0)
        rot = cv2.getRotationMatrix2D(center, job.tilt, 1.0)
        canvas = cv2.warpAffine(canvas, rot, (cw, ch), borderMode=cv2.BORDER_REFLECT)
    cx = cw / 2.0 + job.dx * job.width
    cy = ch / 2.0 + job.dy * job.height
    vw, vh = job.width / job.zoom, job.height / job.zoom
    x0 = int(round(min(max(cx - vw / 2, 0), cw - vw)))
    y0 = int(round(min(max(cy - vh / 2, 0), ch - vh)))
    img = canvas[y0 : y0 + int(round(vh)), x0 : x0 + int(round(vw))]
    if img.shape[:2] != (job.height, job.width):
        img = cv2.resize(img, (job.width, job.height), interpolation=cv2.INTER_AREA)
    if job.kind == "blur":
        sigma = 0.006 * max(job.width, job.height)
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    elif job.kind == "dark":
        img = (img.astype(np.float32) * 0.22).astype(np.uint8)
    return np.ascontiguousarray(img)


def _make(job_and_root: tuple[_Job, str]) -> AlbumItem:
    job, root = job_and_root
    when = datetime.fromisoformat(job.when) if job.when else None
    _save(render(job), Path(root) / job.path, job.quality, when, job.orientation)
    return AlbumItem(job.path, job.group, job.kind, job.when, job.orientation)


def generate_album(
    out_dir: Path,
    n_bursts: int = 6,
    burst_size: int = 3,
    n_singles: int = 6,
    size: tuple[int, int] = (480, 360),
    seed: int = 0,
    formats: Sequence[str] = ("jpg",),
    bad_copies_every: int = 2,
    n_rotated: int = 0,
    families: int = 4,
    exif_every: int = 1,
    n_lookalikes: int = 0,
    workers: int = 1,
) -> AlbumSpec:
    """Draw a labelled album under ``out_dir`` (created; must be empty or absent).

    Bursts get ``burst_size`` shots (the original, then BURST_VARIANTS in turn: shift,
    re-encode, subject motion, zoom, tilt) and every ``bad_copies_every``-th burst also a
    blurred and a dark copy (0: none). ``n_lookalikes`` extra photos are taken at the place
    of a burst with other content and a panned camera: hard negatives for grouping.
    Singles cycle through ``formats`` with mixed-case extensions; the first ``n_rotated``
    are stored rotated with an EXIF orientation tag. Every ``exif_every``-th scene carries
    an EXIF capture time (0: none). Deterministic for a given set of arguments.
    """
    out_dir = Path(out_dir)
    for fmt in formats:
        if fmt.lower() not in FORMATS:
            raise InputError(f"album generator: unknown format {fmt!r}; use one of {FORMATS}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"album folder {out_dir} is not empty; give a new folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = _plan(
        n_bursts,
        burst_size,
        n_singles,
        size,
        seed,
        [f.lower() for f in formats],
        bad_copies_every,
        n_rotated,
        families,
        exif_every,
        n_lookalikes,
    )
    args = [(j, str(out_dir)) for j in jobs]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            items = list(pool.map(_make, args, chunksize=4))
    else:
        items = [_make(a) for a in args]
    return AlbumSpec(out_dir, items)


def cached_album(cache_root: Path, workers: int = 1, **params: Any) -> AlbumSpec:
    """``generate_album(**params)`` kept under ``cache_root/<hash of params>/album``.

    A finished album is marked by its labels file, written last: an interrupted run is
    redrawn from scratch rather than reused half-made.
    """
    keyed = {"generator": GENERATOR_VERSION, **params}
    key = hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()
    base = Path(cache_root) / key[:16]
    labels = base / "labels.json"
    if labels.exists():
        spec = AlbumSpec.load_labels(labels)
        spec.root = base / "album"  # where it is now, should the cache have been moved
        return spec
    if base.exists():
        shutil.rmtree(base)
    spec = generate_album(base / "album", workers=workers, **params)
    spec.save_labels(labels)
    return spec
