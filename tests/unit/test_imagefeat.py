"""picme.features.extract: features respond to what they measure; the lake table is incremental."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from picme.errors import InputError
from picme.features import extract as imagefeat
from picme.features.decode import decode_image
from picme.features.extract import (
    FEATURE_COLUMNS,
    available_extractors,
    extract_features_for_paths,
    features_from_array,
    get_extractor,
    hamming,
    heuristic_quality,
    int64_to_phash,
    phash_to_int64,
    register_extractor,
    update_image_features,
)
from picme.settings import get_settings


def scene(w: int = 320, h: int = 240, seed: int = 0) -> np.ndarray:
    """Shapes and texture with real edges, so blur and noise have something to change."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), (90, 120, 160), np.uint8)
    for _ in range(25):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(8, 60)), y0 + 30), colour, -1)
        cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), 12, colour, 2)
    return img


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
    def _red(inp: imagefeat.FeatureInput) -> dict[str, float]:
        return {"red_fraction": float((inp.rgb[..., 0] > 200).mean())}

    try:
        img = scene()
        img[:, :50] = (255, 0, 0)
        out = features_from_array(img)
        assert out["red_fraction"] >= 50 / 320
        with pytest.raises(ValueError, match="already registered"):
            register_extractor("test_red_fraction", ("x",))(_red)
    finally:
        del imagefeat._EXTRACTORS["test_red_fraction"]
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
    from picme.features.extract import detect_faces

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


def test_heuristic_quality_bounds_and_monotonicity() -> None:
    rng = np.random.default_rng(0)
    ranges = {
        "brightness": (0, 1),
        "contrast": (0, 0.5),
        "saturation": (0, 1),
        "colorfulness": (0, 150),
        "sharpness": (0, 10),
        "noise": (0, 30),
        "overexposed": (0, 1),
        "underexposed": (0, 1),
        "edge_density": (0, 0.5),
        "face_count": (0, 4),
        "face_area": (0, 0.6),
        "eye_count": (0, 8),
    }
    up = ["sharpness", "contrast", "colorfulness", "face_count", "face_area"]
    down = ["overexposed", "underexposed", "noise"]
    for _ in range(300):
        f: dict[str, Any] = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in ranges.items()}
        f["face_count"] = float(round(f["face_count"]))
        q = heuristic_quality(f)
        assert 0.0 <= q <= 1.0
        for key in up:
            assert heuristic_quality(dict(f, **{key: f[key] * 1.5 + 0.5})) >= q, key
        for key in down:
            assert heuristic_quality(dict(f, **{key: f[key] * 1.5 + 0.05})) <= q, key
    good = {"brightness": 0.5, "contrast": 0.25, "colorfulness": 80, "sharpness": 5}
    assert heuristic_quality(good) > 0.8
    assert heuristic_quality(dict(good, decodable=False)) == 0.0
    assert heuristic_quality({}) == pytest.approx(0.25)  # neutral exposure only
    assert heuristic_quality({"sharpness": float("nan"), "brightness": None}) <= 0.25


def write_images(root: Path, n: int, size: int = 96) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = root / f"img{i}.jpg"
        Image.fromarray(scene(size, size, seed=i)).save(p, quality=90)
        out.append(p)
    return out


def assert_same_records(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float) and math.isnan(ra[k]):
                assert math.isnan(rb[k]), k
            else:
                assert ra[k] == rb[k], k


def test_extract_features_for_paths_records_bad_files_and_goes_on(
    tmp_path: Path, image_fixtures: dict
) -> None:
    good = write_images(tmp_path / "imgs", 14)
    bad = [image_fixtures["truncated"], image_fixtures["text"], image_fixtures["empty"]]
    missing = tmp_path / "missing.jpg"
    paths = [*good[:5], *bad, missing, *good[5:], image_fixtures["exif_rotated"]]
    serial = extract_features_for_paths(paths, workers=1)
    assert [r["path"] for r in serial] == [str(p) for p in paths]
    by_path = {r["path"]: r for r in serial}
    for p in good:
        r = by_path[str(p)]
        assert r["decodable"] and r["error"] is None
        assert (r["width"], r["height"]) == (96, 96)
        assert r["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert set(FEATURE_COLUMNS) <= r.keys() and len(r["color_hist"]) == 72
    assert (by_path[str(image_fixtures["exif_rotated"])]["width"]) == 96
    for p, reason in zip(bad, ["truncated", "not an image", "empty"], strict=True):
        r = by_path[str(p)]
        assert not r["decodable"] and reason in r["error"]
        assert r["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert math.isnan(r["sharpness"]) and r["phash"] is None
    assert by_path[str(missing)]["sha256"] is None
    assert "not found" in by_path[str(missing)]["error"]

    seen: list[tuple[int, int]] = []
    pooled = extract_features_for_paths(paths, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert_same_records(serial, pooled)
    assert seen and seen[-1] == (len(paths), len(paths))
    assert extract_features_for_paths([], workers=2) == []


def write_media(lake: Path, rows: list[tuple[Path, str | None]]) -> None:
    table = pa.table(
        {
            "path": [str(p) for p, _ in rows],
            "shortcode": [f"s{i}" for i in range(len(rows))],
            "idx": [0] * len(rows),
            "sha256": [sha for _, sha in rows],
            "decodable": [True] * len(rows),
        }
    )
    (lake / "media").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, lake / "media" / "media.parquet")


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_update_image_features_is_incremental(picme_home: Path, image_fixtures: dict) -> None:
    settings = get_settings(workers=1)
    with pytest.raises(InputError, match="picme ingest"):
        update_image_features(settings)

    imgs = write_images(picme_home / "raw" / "acct", 5)
    copy = picme_home / "raw" / "acct" / "copy_of_0.jpg"
    copy.write_bytes(imgs[0].read_bytes())
    corrupt = image_fixtures["truncated"]
    gone = picme_home / "raw" / "acct" / "gone.jpg"
    changed = imgs[4]
    rows = [(p, sha(p)) for p in imgs[:4]]
    rows += [(copy, sha(copy)), (corrupt, sha(corrupt)), (gone, "0" * 64), (changed, "f" * 64)]
    write_media(settings.lake_dir, rows)

    first = update_image_features(settings)
    assert (first.n_total, first.n_new, first.n_cached) == (7, 4, 0)
    # corrupt (stored), gone and changed (not stored, retried later)
    assert first.n_failed == 3
    reasons = dict(first.failures)
    assert "truncated" in reasons[str(corrupt)]
    assert "not found" in reasons[str(gone)]
    assert "changed since ingest" in reasons[str(changed)]
    assert "4 computed" in first.summary() and "first failure" in first.summary()

    target = settings.lake_dir / "image_features" / "image_features.parquet"
    table = pq.read_table(target)
    assert table.num_rows == 5
    assert table.schema.field("phash_int").type == pa.int64()
    assert table.schema.field("color_hist").type == pa.list_(pa.float32())
    assert set(FEATURE_COLUMNS) <= set(table.column_names)
    stored = {r["sha256"]: r for r in table.to_pylist()}
    assert stored[sha(corrupt)]["decodable"] is False
    assert stored[sha(imgs[1])]["decodable"] is True
    before = target.stat().st_mtime_ns

    second = update_image_features(settings)
    assert (second.n_new, second.n_cached) == (0, 5)
    assert second.n_failed == 2  # only the transient ones are retried
    assert target.stat().st_mtime_ns == before  # nothing new: table not rewritten

    extra = picme_home / "raw" / "acct" / "new.jpg"
    Image.fromarray(scene(80, 60, seed=99)).save(extra)
    write_media(settings.lake_dir, [*rows, (extra, sha(extra))])
    third = update_image_features(settings)
    assert (third.n_new, third.n_cached) == (1, 5)
    assert pq.read_table(target).num_rows == 6


def test_feature_version_change_recomputes(
    picme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings(workers=1)
    imgs = write_images(picme_home / "raw" / "a", 2)
    write_media(settings.lake_dir, [(p, sha(p)) for p in imgs])
    assert update_image_features(settings).n_new == 2
    monkeypatch.setattr(imagefeat, "FEATURE_VERSION", imagefeat.FEATURE_VERSION + 1)
    again = update_image_features(settings)
    assert (again.n_new, again.n_cached) == (2, 0)
    table = pq.read_table(settings.lake_dir / "image_features" / "image_features.parquet")
    assert table.num_rows == 2
    assert set(table["feature_version"].to_pylist()) == {imagefeat.FEATURE_VERSION}


def test_phash_matches_imagehash_reference() -> None:
    import imagehash
    from matplotlib import cbook

    from picme.features.extract import phash_gray

    grey_images = [
        cv2.cvtColor(scene(320 + 40 * i, 240 + 30 * i, seed=i), cv2.COLOR_RGB2GRAY)
        for i in range(8)
    ]
    grace = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    grey_images.append(np.asarray(grace.convert("L")))
    dists = [hamming(phash_gray(g), str(imagehash.phash(Image.fromarray(g)))) for g in grey_images]
    # The same algorithm; only the 32x32 resize filter differs (area vs Lanczos).
    assert max(dists) <= 4 and sum(dists) / len(dists) <= 1.5, dists


def test_map_chunks_isolates_a_crashing_item() -> None:
    from imagefeat_helpers import crash_on_marked

    items = ["a", "b-CRASH", "c", "d", "e", "f"]
    chunks = [items[0:2], items[2:4], items[4:6]]
    out = imagefeat.map_chunks(
        crash_on_marked, chunks, 2, None, len(items), lambda p: {"path": p, "ok": False}
    )
    assert [r["path"] for r in out] == items
    assert [r["ok"] for r in out] == [True, False, True, True, True, True]
