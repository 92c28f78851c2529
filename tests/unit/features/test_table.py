"""picme.features.table: feature records for files (bad files included, in order, in
parallel), and the incremental image_features lake table."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from picme.errors import InputError
from picme.features import table as feature_table
from picme.features.compute import extract_features_for_paths
from picme.features.extractors import FEATURE_COLUMNS
from picme.features.table import update_image_features
from picme.settings import get_settings
from picme.util.pool import map_chunks
from tests.unit.features.imagefeat_helpers import crash_on_marked
from tests.unit.features.images import assert_same_records, scene, write_images


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
    monkeypatch.setattr(feature_table, "FEATURE_VERSION", feature_table.FEATURE_VERSION + 1)
    again = update_image_features(settings)
    assert (again.n_new, again.n_cached) == (2, 0)
    table = pq.read_table(settings.lake_dir / "image_features" / "image_features.parquet")
    assert table.num_rows == 2
    assert set(table["feature_version"].to_pylist()) == {feature_table.FEATURE_VERSION}


def test_map_chunks_isolates_a_crashing_item() -> None:
    """The features' pool (picme.util.pool) with records like extract_features_for_paths's:
    a file that kills its worker becomes the on-crash record, the rest come back in order."""
    items = ["a", "b-CRASH", "c", "d", "e", "f"]
    chunks = [items[0:2], items[2:4], items[4:6]]
    out = [
        rec
        for chunk in map_chunks(
            crash_on_marked, chunks, 2, on_crash=lambda p: {"path": p, "ok": False}
        )
        for rec in chunk
    ]
    assert [r["path"] for r in out] == items
    assert [r["ok"] for r in out] == [True, False, True, True, True, True]


def test_a_failure_mid_run_loses_at_most_one_chunk(
    picme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (or a kill) after some chunks: the chunks already computed are kept as
    parts and the next run computes only the rest, to the same table as a clean run."""
    settings = get_settings(workers=1)
    imgs = write_images(picme_home / "raw" / "a", 7)
    write_media(settings.lake_dir, [(p, sha(p)) for p in imgs])
    monkeypatch.setattr(feature_table, "CHUNK_IMAGES", 3)
    calls: list[int] = []

    def full_disk_on_third(paths: list[str], side: int) -> list[dict]:
        calls.append(len(paths))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return extract_features_for_paths(paths, workers=1, max_side=side)

    with pytest.raises(OSError, match="No space"):
        update_image_features(settings, extract=full_disk_on_third)
    parts = sorted(feature_table.parts_dir(settings).glob("part-*.parquet"))
    assert len(parts) == 2  # two chunks of 3 saved; the third was lost
    again = update_image_features(settings)
    assert (again.n_new, again.n_cached) == (1, 6)
    assert not list(feature_table.parts_dir(settings).glob("*"))
    table = pq.read_table(settings.lake_dir / "image_features" / "image_features.parquet")
    clean = extract_features_for_paths(imgs, workers=1)
    assert sorted(table["sha256"].to_pylist()) == sorted(r["sha256"] for r in clean)
