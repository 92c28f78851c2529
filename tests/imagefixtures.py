"""Tiny real image files for tests, made with Pillow at test time (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def _scene(w: int = 96, h: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    img[..., 1] = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    img[..., 2] = 128
    noisy = img.astype(np.int16) + rng.integers(0, 8, img.shape, dtype=np.int16)
    img = np.clip(noisy, 0, 255).astype(np.uint8)
    # A bright block in the top-left corner makes orientation checkable (set after the noise
    # so it stays saturated white).
    img[: h // 4, : w // 4] = 255
    return img


def make_image_fixtures(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    base = _scene()
    files: dict[str, Path] = {}

    def save(name: str, im: Image.Image, **kw: object) -> None:
        p = root / name
        im.save(p, **kw)
        stem, ext = name.rsplit(".", 1)
        # "ok" is the first (JPEG) file of a stem; every file is also "stem_ext" ("ok_png").
        files.setdefault(stem, p)
        files[f"{stem}_{ext}"] = p

    save("ok.jpg", Image.fromarray(base), quality=92)
    save("ok.png", Image.fromarray(base))
    save("gray.jpg", Image.fromarray(base).convert("L"), quality=92)
    save("gray.png", Image.fromarray(base).convert("L"))
    rgba = Image.fromarray(base).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.full(base.shape[:2], 128, np.uint8)))
    save("alpha.png", rgba)
    save("cmyk.jpg", Image.fromarray(base).convert("CMYK"), quality=92)
    save("ok.webp", Image.fromarray(base))
    save("ok.bmp", Image.fromarray(base))
    save("ok.tiff", Image.fromarray(base))

    # Stored rotated by 90 degrees with EXIF orientation 6 ("rotate 90 CW to view"): a
    # viewer that applies EXIF shows the upright 96x64 scene.
    stored = Image.fromarray(base).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif_rotated.jpg", stored, exif=exif.tobytes(), quality=92)

    ok_bytes = files["ok"].read_bytes()
    (root / "truncated.jpg").write_bytes(ok_bytes[: len(ok_bytes) // 3])
    files["truncated"] = root / "truncated.jpg"
    (root / "text.jpg").write_text("this is not an image\n")
    files["text"] = root / "text.jpg"
    (root / "empty.jpg").write_bytes(b"")
    files["empty"] = root / "empty.jpg"
    return files
