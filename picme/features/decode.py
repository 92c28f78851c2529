"""The one image decoder of the project: every stage (features, curation, the training cache)
reads pixels through :func:`decode_image`, so they all see the same upright RGB image.

Decoding is the dominant cost of every image stage, so a JPEG asked for at a bounded size is
decoded at 1/2, 1/4 or 1/8 scale inside libjpeg, then shrunk. Ordinary complete JPEGs go
through ``cv2.IMREAD_REDUCED_*`` (measured a little faster than Pillow's ``draft``); every
other file, and any JPEG OpenCV would get wrong (truncated: OpenCV returns a half-grey picture;
CMYK), goes through Pillow, which also reads HEIC via pillow-heif.
"""

from __future__ import annotations

import io
import logging
import math
import os
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from picme.errors import InputError

log = logging.getLogger(__name__)

try:  # pillow-heif is a declared dependency; a broken wheel should cost HEIC only.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = True
except Exception:  # pragma: no cover - depends on the platform's wheel
    _HEIF = False

_HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".avif"}
    | (_HEIF_EXTENSIONS if _HEIF else set())
)

_EXIF_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_SUBSEC_ORIGINAL = 0x9291
_SUBSEC_DIGITIZED = 0x9292

WHITE = (255, 255, 255)


class ImageDecodeError(InputError):
    """A file that cannot be turned into pixels; ``reason`` says why in a few words."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"cannot decode image {self.path}: {reason} (replace or remove the file to go on)"
        )


@dataclass(frozen=True)
class DecodedImage:
    """Pixels plus what the file said about itself before any downscaling."""

    rgb: np.ndarray
    width: int  # upright (EXIF-applied) size of the full-resolution image
    height: int
    format: str | None


def is_supported_image(path: str | os.PathLike[str]) -> bool:
    """True for a file name with an image extension (any case), skipping macOS ``._`` forks."""
    name = os.path.basename(os.fspath(path))
    if name.startswith("._"):
        return False
    return os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS


def read_image_bytes(path: str | os.PathLike[str]) -> bytes:
    """File contents, with ImageDecodeError instead of an OSError traceback."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageDecodeError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageDecodeError(path, "is a folder, not a file") from None
    except PermissionError:
        raise ImageDecodeError(path, "permission denied") from None
    except OSError as exc:
        raise ImageDecodeError(path, f"cannot read file ({exc.strerror or exc})") from None
    return data


def decode_image(path: str | os.PathLike[str], max_side: int | None = None) -> np.ndarray:
    """Decode ``path`` to an upright RGB uint8 array (H, W, 3).

    The format is recognised from the content, not the extension. EXIF orientation is
    applied; grayscale, palette, CMYK and 16-bit images are converted; transparency is
    composited on white. With ``max_side`` the longer side of the result is at most
    ``max_side`` (never upscaled), and a JPEG is decoded at reduced scale to get there.
    Raises :class:`ImageDecodeError` with the reason when the file cannot be decoded.
    """
    return decode_bytes(read_image_bytes(path), max_side=max_side, name=path).rgb


def decode_bytes(
    data: bytes, max_side: int | None = None, name: str | os.PathLike[str] = "<bytes>"
) -> DecodedImage:
    """:func:`decode_image` on bytes already read (callers that also hash the file)."""
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    if not data:
        raise ImageDecodeError(name, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Oversized images are handled by reduced decoding; Pillow's own hard limit
            # (DecompressionBombError, ~179 Mpx) still applies and is reported below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fast = _decode_jpeg_opencv(data, im, max_side)
                if fast is not None:
                    return fast
                return _decode_opened(im, max_side, name)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise ImageDecodeError(name, _unidentified_reason(data)) from None
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(name, f"image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(name, _describe_load_error(exc)) from None
    except MemoryError:
        raise ImageDecodeError(name, "not enough memory to decode") from None


_REDUCED = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)


def _decode_jpeg_opencv(data: bytes, im: Image.Image, max_side: int | None) -> DecodedImage | None:
    """The fast path for ordinary JPEGs, or None to let Pillow decode the file.

    OpenCV's reduced decoding measured 8-25% faster than Pillow's draft here (best of 3-5
    runs per file, 1080 px and 12 Mpx files; bench/results/features.md). It is only taken
    when the file ends with its EOI marker, because OpenCV fills a truncated JPEG with grey
    instead of failing, and for YCbCr/grey files (Pillow handles Adobe CMYK correctly).
    """
    if im.format != "JPEG" or im.mode not in ("RGB", "L"):
        return None
    if data.rstrip(b"\x00\r\n ")[-2:] != b"\xff\xd9":
        return None
    orientation = _orientation(im)
    w, h = im.size
    flag = cv2.IMREAD_COLOR
    if max_side is not None:
        factor = max(w, h) / max_side
        flag = next((f for k, f in _REDUCED if factor >= k), cv2.IMREAD_COLOR)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.ndim != 3:
        return None
    rgb = _orient(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), orientation)
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    if max_side is not None:
        rgb = resize_max_side(rgb, max_side)
    return DecodedImage(rgb=np.ascontiguousarray(rgb), width=w, height=h, format="JPEG")


def _orient(img: np.ndarray, orientation: int | None) -> np.ndarray:
    """Apply an EXIF orientation as Pillow's ImageOps.exif_transpose does."""
    if orientation == 2:
        return img[:, ::-1]
    if orientation == 3:
        return img[::-1, ::-1]
    if orientation == 4:
        return img[::-1]
    if orientation == 5:
        return img.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(img, -1)
    if orientation == 7:
        return img.transpose(1, 0, 2)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(img, 1)
    return img


def _decode_opened(
    im: Image.Image, max_side: int | None, name: str | os.PathLike[str]
) -> DecodedImage:
    fmt = im.format
    if fmt != "JPEG":
        # PNG and others read EXIF only after the pixel data; loading first makes a broken
        # stream raise here instead of being swallowed by the EXIF lookup.
        im.load()
    orientation = _orientation(im)
    w, h = im.size
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    if max_side is not None and fmt == "JPEG" and max(w, h) > max_side:
        scale = max_side / max(im.size)
        # Ask for the final size: draft picks the largest 1/2^k scale that stays at least
        # as big, so the later area resize only ever shrinks.
        im.draft(None, (max(1, math.ceil(im.width * scale)), max(1, math.ceil(im.height * scale))))
    im.load()
    if orientation not in (None, 1):
        try:
            im = ImageOps.exif_transpose(im)
        except Exception as exc:  # a damaged EXIF block should not cost the pixels
            log.debug("%s: EXIF orientation not applied: %s", name, exc)
    rgb = _to_rgb_array(im, name)
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        rgb = resize_max_side(rgb, max_side)
    rgb = np.ascontiguousarray(rgb)
    if not rgb.flags.writeable:
        # Pillow hands out read-only views of its buffer; callers draw on the result and
        # torch.from_numpy warns on read-only arrays.
        rgb = rgb.copy()
    return DecodedImage(rgb=rgb, width=w, height=h, format=fmt)


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION)
    except Exception:
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _to_rgb_array(im: Image.Image, name: str | os.PathLike[str]) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_gray(im)
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*WHITE, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    try:
        return np.asarray(im.convert("RGB"))
    except (ValueError, OSError) as exc:
        raise ImageDecodeError(name, f"unsupported pixel mode {mode!r} ({exc})") from None


def _high_depth_gray(im: Image.Image) -> np.ndarray:
    arr = np.asarray(im).astype(np.float32)
    if im.mode == "F" and float(np.nanmax(arr, initial=0.0)) <= 1.0:
        arr = arr * 255.0
    elif float(np.nanmax(arr, initial=0.0)) > 255.0:
        arr = arr / 257.0  # 16-bit range onto 8 bits: 65535 -> 255
    gray = np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def resize_max_side(img: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink ``img`` (never enlarge) so its longer side is ``max_side``, aspect kept.

    An exact integer area reduction first, then bilinear for the remaining < 2x: OpenCV's
    INTER_AREA is 3-7x slower at non-integer ratios, and below 2x bilinear does not alias.
    """
    h, w = img.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return img
    scale = max_side / longest
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    k = longest // max_side
    # The integer step drops up to k-1 edge pixels; only take it when that is under 1%.
    if k >= 2 and (k - 1) * 100 <= min(h, w):
        img = img[: h - h % k, : w - w % k]
        img = cv2.resize(img, (img.shape[1] // k, img.shape[0] // k), interpolation=cv2.INTER_AREA)
        if (img.shape[1], img.shape[0]) == size:
            return img
        return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    interpolation = cv2.INTER_LINEAR if k < 2 else cv2.INTER_AREA
    return cv2.resize(img, size, interpolation=interpolation)


def _unidentified_reason(data: bytes) -> str:
    head = data[:64]
    if head[:3] == b"\xff\xd8\xff":
        return "damaged JPEG header"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftyphevc"):
        return "HEIC/HEIF file but no HEIF decoder could read it (is pillow-heif installed?)"
    if head[4:8] == b"ftyp":
        return "a video or unsupported ISO media file, not an image"
    try:
        head.decode("utf-8")
        return "not an image (the file contains text)"
    except UnicodeDecodeError:
        return "not a recognised image format (JPEG, PNG, WEBP, HEIC, TIFF, BMP)"


def _describe_load_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "truncated" in low or "premature" in low or isinstance(exc, EOFError):
        return f"file is truncated ({text})"
    return f"corrupt image data ({text})"


def read_capture_time(path: str | os.PathLike[str]) -> datetime | None:
    """EXIF DateTimeOriginal (else DateTimeDigitized) as a naive camera-local datetime.

    Naive on purpose: most cameras write no offset, so mixing aware and naive values would
    make sorting an album raise. None when absent, malformed or the file is unreadable.
    """
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            ifd = exif.get_ifd(_EXIF_IFD)
    except Exception:
        return None
    for tag, subsec_tag in (
        (_DATETIME_ORIGINAL, _SUBSEC_ORIGINAL),
        (_DATETIME_DIGITIZED, _SUBSEC_DIGITIZED),
    ):
        parsed = _parse_exif_datetime(ifd.get(tag), ifd.get(subsec_tag))
        if parsed is not None:
            return parsed
    return None


def _parse_exif_datetime(value: object, subsec: object = None) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip("\x00").strip()
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M"):
        try:
            parsed = datetime.strptime(text[:19] if fmt.endswith("%S") else text[:16], fmt)
            break
        except ValueError:
            continue
    else:
        return None
    if isinstance(subsec, bytes):
        subsec = subsec.decode("ascii", "ignore")
    if isinstance(subsec, str):
        digits = subsec.strip().rstrip("\x00").strip()
        if digits.isdigit():
            parsed = parsed.replace(microsecond=int((digits + "000000")[:6]))
    return parsed
