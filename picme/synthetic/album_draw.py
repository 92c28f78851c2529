"""The pixels of a test album's photos: procedural outdoor-looking scenes, the framing and
defects a job asks for, and the file in any of the album's formats with its EXIF.

Every photo is a scene (sky gradient, horizon, sun, shapes, low-frequency light and fine
grain, so JPEG sizes and decode costs are close to a camera's). Scenes come in *families*
sharing a palette and horizon, so unrelated photos can still look alike.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from picme.errors import InputError
from picme.synthetic.album_plan import AlbumJob

# EXIF tags (see the EXIF 2.3 specification).
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003

FORMATS = ("jpg", "png", "webp", "heic", "tiff", "bmp")


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


def scene(
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


def save_photo(
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


def render(job: AlbumJob) -> np.ndarray:
    """The upright pixels of one planned photo (before orientation and encoding)."""
    import cv2

    margin = 0.03
    cw, ch = int(job.width * (1 + 2 * margin)), int(job.height * (1 + 2 * margin))
    canvas = scene(cw, ch, job.family_seed, job.bg_seed, job.fg_seed, job.motion_seed)
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
