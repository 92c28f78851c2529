"""picme.features.decode: one decoder for every format, orientation, pixel mode and failure."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from picme.errors import InputError
from picme.features.decode import (
    SUPPORTED_EXTENSIONS,
    ImageDecodeError,
    decode_bytes,
    decode_image,
    is_supported_image,
    read_capture_time,
)

RED = (220, 30, 30)


def marked_scene(w: int = 120, h: int = 80) -> np.ndarray:
    """A smooth gradient with a saturated red block in the top-left corner."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = 40 + x * 120 // w
    img[..., 1] = 60 + y * 120 // h
    img[..., 2] = 150
    img[: h // 4, : w // 4] = RED
    return img


def corner(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return rgb[2 : h // 5, 2 : w // 5].reshape(-1, 3).mean(axis=0)


def assert_red_top_left(rgb: np.ndarray) -> None:
    r, g, b = corner(rgb)
    assert r > 170 and g < 90 and b < 90, (r, g, b)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("a.jpg", {"quality": 95}),
        ("b.JPEG", {"quality": 95}),
        ("c.png", {}),
        ("d.PNG", {}),
        ("e.webp", {"lossless": True}),
        ("f.tif", {}),
        ("g.TIFF", {}),
        ("h.bmp", {}),
        ("i.heic", {"quality": 95}),
        ("j.avif", {"quality": 95}),
    ],
)
def test_every_supported_format_decodes_to_rgb_uint8(tmp_path: Path, name: str, kw: dict) -> None:
    scene = marked_scene()
    path = tmp_path / name
    Image.fromarray(scene).save(path, **kw)
    assert is_supported_image(path)
    rgb = decode_image(path)
    assert rgb.dtype == np.uint8 and rgb.shape == scene.shape
    assert rgb.flags["C_CONTIGUOUS"] and rgb.flags["WRITEABLE"]
    assert np.abs(rgb.astype(int) - scene.astype(int)).mean() < 6
    assert_red_top_left(rgb)


def test_format_comes_from_content_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    Image.fromarray(marked_scene()).save(path, format="PNG")
    assert decode_bytes(path.read_bytes(), name=path).format == "PNG"
    assert_red_top_left(decode_image(path))


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    for name in ("g.jpg", "g.png"):
        path = tmp_path / name
        Image.fromarray(marked_scene()).convert("L").save(path)
        rgb = decode_image(path)
        assert rgb.shape == (80, 120, 3)
        assert np.array_equal(rgb[..., 0], rgb[..., 1])
        assert np.array_equal(rgb[..., 1], rgb[..., 2])


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.dstack([marked_scene(), np.full((80, 120), 255, np.uint8)])
    rgba[40:, 60:, 3] = 0  # bottom-right quarter fully transparent
    rgba[40:, :30, 3] = 128  # half transparent strip
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = decode_image(path)
    assert rgb.shape == (80, 120, 3)
    assert (rgb[40:, 60:] == 255).all()
    assert_red_top_left(rgb)
    # Half transparent: halfway between the colour and white.
    expected = (rgba[40:, :30, :3].astype(int) + 255) / 2
    assert np.abs(rgb[40:, :30].astype(int) - expected).max() <= 2

    la = tmp_path / "la.png"
    Image.fromarray(rgba, "RGBA").convert("LA").save(la)
    assert (decode_image(la)[40:, 60:] == 255).all()


def test_palette_with_transparency(tmp_path: Path) -> None:
    pal = Image.fromarray(marked_scene()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    arr = np.asarray(pal).copy()
    arr[:10, -10:] = 15
    pal = Image.fromarray(arr, "P")
    pal.putpalette(Image.fromarray(marked_scene()).convert("P", colors=16).getpalette())
    path = tmp_path / "pal.png"
    pal.save(path, transparency=15)
    rgb = decode_image(path)
    assert rgb.shape == (80, 120, 3)
    assert (rgb[:10, -10:] == 255).all()


def test_cmyk_jpeg_keeps_its_colours(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(marked_scene()).convert("CMYK").save(path, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    rgb = decode_image(path)
    assert rgb.shape == (80, 120, 3)
    assert np.abs(rgb.astype(int) - marked_scene().astype(int)).mean() < 10
    assert_red_top_left(rgb)


def test_sixteen_bit_images_scale_to_eight_bits(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    for name in ("gray16.png", "gray16.tif"):
        path = tmp_path / name
        Image.fromarray(ramp).save(path)
        rgb = decode_image(path)
        assert rgb.dtype == np.uint8 and rgb.shape == (32, 64, 3)
        assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
        assert abs(int(rgb[16, 0, 0]) - round(ramp[16, 0] / 257)) <= 1


def save_with_orientation(path: Path, upright: np.ndarray, orientation: int, **kw: object) -> None:
    """Store ``upright`` the way a camera would with this EXIF orientation."""
    t = Image.Transpose
    stored_as = {
        1: None,
        2: t.FLIP_LEFT_RIGHT,
        3: t.ROTATE_180,
        4: t.FLIP_TOP_BOTTOM,
        5: t.TRANSPOSE,
        6: t.ROTATE_90,
        7: t.TRANSVERSE,
        8: t.ROTATE_270,
    }[orientation]
    im = Image.fromarray(upright)
    stored = im if stored_as is None else im.transpose(stored_as)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, exif=exif.tobytes(), **kw)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("max_side", [None, 100])
@pytest.mark.parametrize("trailer", [b"", b"APPENDED-DATA"])
def test_exif_orientation_is_applied(
    tmp_path: Path, orientation: int, max_side: int | None, trailer: bytes
) -> None:
    # Bytes after the JPEG end marker (as phones append) send the file to the Pillow path;
    # without them it takes the OpenCV path: both must give the same upright picture.
    upright = marked_scene(480, 320)
    path = tmp_path / f"o{orientation}.jpg"
    save_with_orientation(path, upright, orientation, quality=95)
    decoded = decode_bytes(path.read_bytes() + trailer, max_side=max_side, name=path)
    assert (decoded.width, decoded.height) == (480, 320)
    expected = (320, 480, 3) if max_side is None else (67, 100, 3)
    assert decoded.rgb.shape == expected
    reference = cv2.resize(upright, expected[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(decoded.rgb.astype(int) - reference.astype(int)).mean() < 6
    assert_red_top_left(decoded.rgb)


def test_truncated_jpeg_is_an_error_not_a_grey_picture(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(marked_scene(640, 480)).save(path, quality=95)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 3):
        with pytest.raises(ImageDecodeError, match="truncated"):
            decode_bytes(data[:cut], max_side=100, name=path)


def test_exif_orientation_on_png_and_the_fixture(tmp_path: Path, image_fixtures: dict) -> None:
    path = tmp_path / "o6.png"
    save_with_orientation(path, marked_scene(), 6)
    assert_red_top_left(decode_image(path))
    # The shared fixture is stored 64x96 with orientation 6: upright it is 96 wide.
    assert decode_image(image_fixtures["exif_rotated"]).shape == (64, 96, 3)


def test_max_side_reduces_large_jpeg_and_matches_full_decode(tmp_path: Path) -> None:
    big = np.asarray(Image.fromarray(marked_scene(120, 90)).resize((2400, 1800), Image.BILINEAR))
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=92)
    small = decode_image(path, max_side=300)
    assert small.shape == (225, 300, 3)
    reference = np.asarray(Image.fromarray(decode_image(path)).resize((300, 225), Image.BOX))
    assert np.abs(small.astype(int) - reference.astype(int)).mean() < 3
    # Never upscaled; other formats are resized too.
    assert decode_image(path, max_side=5000).shape == (1800, 2400, 3)
    png = tmp_path / "big.png"
    Image.fromarray(big).save(png)
    assert decode_image(png, max_side=300).shape == (225, 300, 3)
    with pytest.raises(ValueError):
        decode_image(path, max_side=0)


@pytest.mark.parametrize(
    ("mode", "kw"), [("CMYK", {}), ("L", {}), ("RGB", {"progressive": True}), ("RGB", {})]
)
def test_reduced_jpeg_decode_of_every_kind(tmp_path: Path, mode: str, kw: dict) -> None:
    big = Image.fromarray(marked_scene(120, 90)).resize((1600, 1200), Image.BILINEAR)
    path = tmp_path / "big.jpg"
    big.convert(mode).save(path, quality=90, **kw)
    decoded = decode_bytes(path.read_bytes(), max_side=300, name=path)
    assert decoded.rgb.shape == (225, 300, 3)
    assert (decoded.width, decoded.height) == (1600, 1200)
    if mode != "L":
        assert_red_top_left(decoded.rgb)


def test_decode_bytes_reports_full_size(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    Image.fromarray(marked_scene(400, 200)).save(path)
    decoded = decode_bytes(path.read_bytes(), max_side=50, name=path)
    assert decoded.rgb.shape == (25, 50, 3)
    assert (decoded.width, decoded.height, decoded.format) == (400, 200, "JPEG")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("truncated", "truncated"),
        ("text", "not an image"),
        ("empty", "empty file"),
    ],
)
def test_bad_fixture_files_raise_a_clear_error(image_fixtures: dict, key: str, reason: str) -> None:
    path = image_fixtures[key]
    with pytest.raises(ImageDecodeError) as info:
        decode_image(path)
    err = info.value
    assert isinstance(err, InputError)
    assert reason in err.reason
    assert str(path) in str(err) and "\n" not in str(err)


def test_missing_folder_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="file not found"):
        decode_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageDecodeError, match="folder"):
        decode_image(tmp_path)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    with pytest.raises(ImageDecodeError, match="not a recognised image"):
        decode_image(garbage)
    # A valid PNG header over a destroyed body.
    png = tmp_path / "broken.png"
    Image.fromarray(marked_scene()).save(png)
    data = bytearray(png.read_bytes())
    data[60:-20] = bytes(len(data) - 80)
    png.write_bytes(bytes(data))
    with pytest.raises(ImageDecodeError):
        decode_image(png)


def test_is_supported_image() -> None:
    assert all(ext.startswith(".") and ext == ext.lower() for ext in SUPPORTED_EXTENSIONS)
    for name in ("a.jpg", "B.JPG", "c.Jpeg", "d.png", "e.webp", "f.HEIC", "g.heif", "h.tif"):
        assert is_supported_image(name), name
        assert is_supported_image(Path("/x") / name)
    for name in ("a.txt", "b.mp4", "c.json.xz", "noext", "._a.jpg", ".jpg.txt"):
        assert not is_supported_image(name), name


def test_read_capture_time(tmp_path: Path) -> None:
    path = tmp_path / "dated.jpg"
    exif = Image.Exif()
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2024:07:14 18:30:05"
    ifd[0x9291] = "25"
    Image.fromarray(marked_scene()).save(path, exif=exif.tobytes())
    assert read_capture_time(path) == datetime(2024, 7, 14, 18, 30, 5, 250000)

    digitized = tmp_path / "digitized.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9004] = "2023:01:02 03:04:05"
    Image.fromarray(marked_scene()).save(digitized, exif=exif.tobytes())
    assert read_capture_time(digitized) == datetime(2023, 1, 2, 3, 4, 5)

    blank = tmp_path / "blank.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    Image.fromarray(marked_scene()).save(blank, exif=exif.tobytes())
    assert read_capture_time(blank) is None

    plain = tmp_path / "plain.png"
    Image.fromarray(marked_scene()).save(plain)
    assert read_capture_time(plain) is None
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    assert read_capture_time(text) is None
    assert read_capture_time(tmp_path / "missing.jpg") is None


def test_resize_max_side() -> None:
    from picme.features.decode import resize_max_side

    img = marked_scene(1080, 720)
    for side, expected in [
        (512, (341, 512)),
        (1080, (720, 1080)),
        (2000, (720, 1080)),
        (7, (5, 7)),
    ]:
        out = resize_max_side(img, side)
        assert out.shape[:2] == expected, side
    out = resize_max_side(img, 300)
    assert_red_top_left(out)
    reference = cv2.resize(img, (300, 200), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - reference.astype(int)).mean() < 3
    gray = resize_max_side(img[..., 0], 100)
    assert gray.shape == (67, 100)
