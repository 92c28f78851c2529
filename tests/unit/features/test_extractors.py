"""picme.features.extractors, faces and phash: features respond to what they measure."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from picme.features import extractors
from picme.features.decode import decode_image
from picme.features.extractors import (
    FEATURE_COLUMNS,
    available_extractors,
    features_from_array,
    get_extractor,
    register_extractor,
)
from picme.features.heuristic import heuristic_quality
from picme.features.phash import hamming, int64_to_phash, phash_to_int64
from tests.unit.features.images import scene


@pytest.fixture(scope="module")
def face_path() -> Path:
    # A real portrait shipped inside matplotlib (a declared dependency): no download.
    from matplotlib import cbook

    path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    assert path.exists()
    return path


def test_feature_columns_are_the_contract() -> None:
    assert FEATURE_COLUMNS == [
        "brightness",
        "contrast",
        "saturation",
        "colorfulness",
        "sharpness",
        "noise",
        "overexposed",
        "underexposed",
        "edge_density",
        "face_count",
        "face_area",
        "eye_count",
    ]
    feats = features_from_array(scene())
    for col in FEATURE_COLUMNS:
        assert isinstance(feats[col], float) and math.isfinite(feats[col]), col


@pytest.mark.parametrize("name", available_extractors())
def test_every_registered_extractor_runs(name: str) -> None:
    ext = get_extractor(name)
    out = features_from_array(scene(), extractors=[name])
    assert set(out) == set(ext.columns)
    for col in ext.columns:
        assert out[col] is not None
    # Also on degenerate input: a 1x1 black image and a flat grey one.
    for img in (np.zeros((1, 1, 3), np.uint8), np.full((50, 70, 3), 128, np.uint8)):
        assert set(features_from_array(img, extractors=[name])) == set(ext.columns)


def test_registry_covers_the_contract_and_accepts_new_extractors() -> None:
    produced = {c for n in available_extractors() for c in get_extractor(n).columns}
    assert set(FEATURE_COLUMNS) | {"color_hist", "phash", "phash_int"} <= produced

    @register_extractor("test_red_fraction", ("red_fraction",))
    def _red(inp: extractors.FeatureInput) -> dict[str, float]:
        return {"red_fraction": float((inp.rgb[..., 0] > 200).mean())}

    try:
        img = scene()
        img[:, :50] = (255, 0, 0)
        out = features_from_array(img)
        assert out["red_fraction"] >= 50 / 320
        with pytest.raises(ValueError, match="already registered"):
            register_extractor("test_red_fraction", ("x",))(_red)
    finally:
        del extractors._EXTRACTORS["test_red_fraction"]
    with pytest.raises(ValueError, match="unknown feature extractor"):
        features_from_array(scene(), extractors=["nope"])


def test_blur_lowers_sharpness_and_edges() -> None:
    img = scene()
    blurred = cv2.GaussianBlur(img, (0, 0), 3)
    a, b = features_from_array(img), features_from_array(blurred)
    assert b["sharpness"] < a["sharpness"] - 0.5
    assert b["edge_density"] < a["edge_density"]
    assert heuristic_quality(b) < heuristic_quality(a)


def test_sharpness_is_scale_normalised() -> None:
    big = scene(1600, 1200)  # one photo at three resolutions
    img = cv2.resize(big, (800, 600), interpolation=cv2.INTER_AREA)
    half = cv2.resize(big, (320, 240), interpolation=cv2.INTER_AREA)
    s_img, s_half, s_big = (features_from_array(x)["sharpness"] for x in (img, half, big))
    # The same content at any size above the analysis side scores the same...
    assert abs(s_img - s_big) < 0.25
    # ...and a smaller copy, judged at the same display size, is not sharper (a raw
    # Laplacian variance would rate the downscaled copy much higher).
    assert s_half <= s_img
    raw = [
        cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var() for x in (img, half)
    ]
    assert raw[1] > raw[0]


def test_darkening_and_exposure() -> None:
    img = scene()
    dark = (img * 0.3).astype(np.uint8)
    a, d = features_from_array(img), features_from_array(dark)
    assert d["brightness"] < a["brightness"] - 0.2
    assert d["underexposed"] > a["underexposed"]
    white = features_from_array(np.full((60, 60, 3), 255, np.uint8))
    black = features_from_array(np.zeros((60, 60, 3), np.uint8))
    assert white["overexposed"] == 1.0 and white["brightness"] == 1.0
    assert black["underexposed"] == 1.0 and black["brightness"] == 0.0
    assert white["contrast"] == 0.0
    assert heuristic_quality(white) < heuristic_quality(a)
    assert heuristic_quality(black) < heuristic_quality(a)


def test_colour_features() -> None:
    img = scene()
    grey = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    c, g = features_from_array(img), features_from_array(grey)
    assert g["saturation"] == 0.0 and g["colorfulness"] == pytest.approx(0.0, abs=1e-6)
    assert c["colorfulness"] > 20 and c["saturation"] > 0.2
    red = features_from_array(np.full((40, 40, 3), (255, 0, 0), np.uint8))
    hist = np.array(red["color_hist"])
    assert hist.shape == (72,) and hist.sum() == pytest.approx(1.0, abs=1e-5)
    assert hist[0 * 9 + 2 * 3 + 2] == pytest.approx(1.0)  # hue 0, top saturation, top value


def test_noise_estimate_grows_with_added_noise() -> None:
    img = cv2.GaussianBlur(scene(), (0, 0), 1)
    rng = np.random.default_rng(1)
    noisy = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    a, n = features_from_array(img), features_from_array(noisy)
    assert n["noise"] > a["noise"] + 5
    # Immerkaer's estimate recovers the added sigma on a smooth image, roughly.
    flat = np.full((256, 256, 3), 128, np.uint8)
    flat_noisy = np.clip(flat + rng.normal(0, 10, flat.shape), 0, 255).astype(np.uint8)
    assert 6 < features_from_array(flat_noisy)["noise"] < 11


def test_face_detector_fires_on_a_real_face(face_path: Path) -> None:
    rgb = decode_image(face_path, max_side=512)
    feats = features_from_array(rgb)
    assert feats["face_count"] == 1.0
    assert 0.05 < feats["face_area"] < 0.5
    assert feats["eye_count"] == 2.0  # open, behind glasses
    # Mirrored it is still a face; the faceless scene has none.
    assert features_from_array(rgb[:, ::-1].copy())["face_count"] == 1.0
    none = features_from_array(scene())
    assert none["face_count"] == 0.0 and none["face_area"] == 0.0 and none["eye_count"] == 0.0
    # A face earns the heuristic's face bonus.
    no_face = dict(feats, face_count=0.0, face_area=0.0)
    assert heuristic_quality(feats) > heuristic_quality(no_face)


def test_features_are_the_same_from_threads(face_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    images = [decode_image(face_path, max_side=s) for s in (512, 400)] + [scene()]
    serial = [features_from_array(im) for im in images]
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(features_from_array, images * 2))
    assert threaded == serial * 2


def test_closed_eyes_lose_their_eye_detections(face_path: Path) -> None:
    from picme.features.faces import detect_faces

    rgb = decode_image(face_path, max_side=512)
    faces, eyes, _ = detect_faces(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert len(faces) == 1 and eyes == [2]
    x, y, w, h = faces[0]
    skin = np.median(rgb[y + int(h * 0.55) : y + int(h * 0.6), x + w // 3 : x + 2 * w // 3], (0, 1))
    closed = rgb.copy()
    # Paint shut lids (skin colour and a lash line) over both eyes, where the detector saw them.
    for cx, cy in ((0.28, 0.39), (0.68, 0.36)):
        centre = (int(x + cx * w), int(y + cy * h))
        axes = (int(0.075 * w), int(0.045 * w))
        cv2.ellipse(closed, centre, axes, 0, 0, 360, tuple(int(v) for v in skin), -1)
        cv2.ellipse(closed, centre, (axes[0], int(axes[1] * 0.6)), 0, 0, 180, (60, 40, 40), 2)
    feats = features_from_array(closed)
    assert feats["face_count"] == 1.0 and feats["eye_count"] == 0.0


def test_phash_is_stable_under_recompression_and_distinguishes_images(tmp_path: Path) -> None:
    img = scene()
    path = tmp_path / "q.jpg"
    Image.fromarray(img).save(path, quality=40)
    a = features_from_array(img)
    b = features_from_array(decode_image(path))
    c = features_from_array(scene(seed=7))
    assert len(a["phash"]) == 16 and int(a["phash"], 16) >= 0
    assert hamming(a["phash"], b["phash"]) <= 6
    assert hamming(a["phash"], c["phash"]) > 16
    assert hamming(a["phash"], a["phash"]) == 0
    for h in (a["phash"], "ffffffffffffffff", "0000000000000000", "8000000000000000"):
        v = phash_to_int64(h)
        assert -(2**63) <= v < 2**63 and int64_to_phash(v) == h
    assert a["phash_int"] == phash_to_int64(a["phash"])
    assert phash_to_int64("ffffffffffffffff") == -1


def test_features_from_array_input_checks() -> None:
    gray = cv2.cvtColor(scene(), cv2.COLOR_RGB2GRAY)
    assert features_from_array(gray)["saturation"] == 0.0
    rgba = np.dstack([scene(), np.full((240, 320), 255, np.uint8)])
    assert features_from_array(rgba)["brightness"] == pytest.approx(
        features_from_array(scene())["brightness"]
    )
    with pytest.raises(ValueError, match="uint8"):
        features_from_array(scene().astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        features_from_array(np.zeros((4, 4, 2), np.uint8))


def test_phash_matches_imagehash_reference() -> None:
    import imagehash
    from matplotlib import cbook

    from picme.features.phash import phash_gray

    grey_images = [
        cv2.cvtColor(scene(320 + 40 * i, 240 + 30 * i, seed=i), cv2.COLOR_RGB2GRAY)
        for i in range(8)
    ]
    grace = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    grey_images.append(np.asarray(grace.convert("L")))
    dists = [hamming(phash_gray(g), str(imagehash.phash(Image.fromarray(g)))) for g in grey_images]
    # The same algorithm; only the 32x32 resize filter differs (area vs Lanczos).
    assert max(dists) <= 4 and sum(dists) / len(dists) <= 1.5, dists
