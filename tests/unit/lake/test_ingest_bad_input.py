"""Bad input: each bad file gets one line naming it, the rest is ingested, the lake survives."""

from __future__ import annotations

import json
import lzma
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from picme.errors import InputError
from picme.lake import tables as lake
from picme.lake.ingest import ingest_raw
from picme.settings import get_settings
from picme.synthetic.posts import make_post_node, write_post, write_refresh

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SCRAPE = datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)


def node(shortcode: str, hours: int, **kw: object) -> dict:
    args: dict = {
        "shortcode": shortcode,
        "mediaid": 1000 + hours,
        "owner_username": "alice",
        "owner_id": 42,
        "followers": 5000,
        "taken_at": T0 + timedelta(hours=hours),
        "likes": 100 + hours,
        "comments": 4,
    }
    args.update(kw)
    return make_post_node(**args)


def good_posts(target: Path, n: int, start: int = 0) -> list[Path]:
    return [
        write_post(target, node(f"GOOD{i}", i), observed_at=SCRAPE, seed=i)
        for i in range(start, start + n)
    ]


def bad_tree(tmp_path: Path, image_fixtures: dict[str, Path]) -> tuple[Path, dict[str, Path]]:
    """A raw folder with three good posts and one file of every bad kind, by kind."""
    root = tmp_path / "raw"
    alice = root / "alice"
    good_posts(alice, 3)
    bad: dict[str, Path] = {}

    bad["corrupt"] = alice / "2026-01-01_00-00-00_UTC.json.xz"
    bad["corrupt"].write_bytes(b"\xfd7zXZ\x00 this is not lzma")
    good = write_post(alice, node("TRUNC", 40), observed_at=SCRAPE)
    bad["truncated"] = good
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    bad["not_instaloader"] = alice / "2026-01-02_00-00-00_UTC.json.xz"
    with lzma.open(bad["not_instaloader"], "wt") as fh:
        json.dump({"hello": "world"}, fh)
    bad["v3"] = alice / "2026-01-03_00-00-00_UTC.json.xz"
    with lzma.open(bad["v3"], "wt") as fh:
        json.dump({"shortcode": "OLDV3"}, fh)
    bad["no_image"] = write_post(alice, node("NOIMG", 41), observed_at=SCRAPE, n_images=0)
    bad["orphan"] = alice / "2026-01-04_00-00-00_UTC.jpg"
    bad["orphan"].write_bytes(image_fixtures["ok"].read_bytes())
    meta = write_post(alice, node("BADIMG", 42), observed_at=SCRAPE)
    bad["unreadable"] = meta.with_name(meta.name.replace(".json.xz", ".jpg"))
    bad["unreadable"].write_bytes(image_fixtures["truncated"].read_bytes())
    meta = write_post(alice, node("TEXTIMG", 43), observed_at=SCRAPE)
    bad["text_image"] = meta.with_name(meta.name.replace(".json.xz", ".jpg"))
    bad["text_image"].write_text("not an image\n")
    bad["not_tree"] = root / "holiday-photos"
    bad["not_tree"].mkdir()
    (bad["not_tree"] / "IMG_0001.jpg").write_bytes(image_fixtures["ok"].read_bytes())
    bad["snapshot"] = alice / "profile_snapshots" / "20260101T000000Z.json"
    bad["snapshot"].parent.mkdir()
    bad["snapshot"].write_text('{"username": "alice"}')
    bad["missing"] = tmp_path / "does-not-exist"
    return root, bad


def test_every_bad_input_is_reported_once_and_the_rest_ingested(
    picme_home: Path, tmp_path: Path, image_fixtures: dict[str, Path]
) -> None:
    root, bad = bad_tree(tmp_path, image_fixtures)

    settings = get_settings()
    report = ingest_raw([root, bad["missing"]], settings)

    reasons = {Path(path): reason for path, reason in report.skipped}
    assert len(reasons) == len(report.skipped), "a file was reported twice"
    expected_words = {
        "corrupt": "corrupt or truncated",
        "truncated": "corrupt or truncated",
        "not_instaloader": "not an instaloader metadata file",
        "v3": "instaloader 3",
        "no_image": "metadata without image",
        "orphan": "image without metadata",
        "unreadable": "unreadable image",
        "text_image": "unreadable image",
        "not_tree": "not an instaloader tree",
        "snapshot": "followers",
        "missing": "no such folder",
    }
    for key, word in expected_words.items():
        path = bad[key].resolve() if key in ("unreadable", "text_image") else bad[key]
        assert path in reasons, f"{key} not reported: {report.skipped}"
        assert word in reasons[path], (key, reasons[path])
        assert "\n" not in reasons[path]
    assert set(reasons) == {
        (bad[k].resolve() if k in ("unreadable", "text_image") else bad[k]) for k in expected_words
    }

    posts = lake.read_table(settings, "posts")
    assert posts is not None
    assert sorted(posts.column("shortcode").to_pylist()) == ["GOOD0", "GOOD1", "GOOD2"]
    media = lake.read_table(settings, "media")
    assert media is not None
    undecodable = {r["path"]: r["error"] for r in media.to_pylist() if not r["decodable"]}
    assert set(undecodable) == {str(bad["unreadable"].resolve()), str(bad["text_image"].resolve())}

    text = report.summary()
    assert f"skipped {len(expected_words)}" in text
    assert "2 unreadable image" in text and "2 bad metadata" not in text
    assert str(bad["orphan"]) in text


def test_all_inputs_missing_is_a_clear_error(picme_home: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        ingest_raw([tmp_path / "nothing-here"], get_settings())


def _lake_snapshot(lake_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(lake_dir.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fail_on", ["media", "posts"])
def test_failure_midway_keeps_the_lake_intact(
    picme_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_on: str
) -> None:
    root = tmp_path / "raw"
    good_posts(root / "alice", 3)
    settings = get_settings()
    ingest_raw([root], settings)
    before = _lake_snapshot(settings.lake_dir)
    posts_before = pq.read_table(lake.table_path(settings, "posts"))

    good_posts(root / "alice", 2, start=3)
    later = SCRAPE + timedelta(days=1)
    write_refresh(root / "alice", node("GOOD0", 0, likes=999), observed_at=later)
    real_write = pq.write_table

    def failing_write(table, where, **kw):
        if f"/{fail_on}/" in str(where):
            real_write(table.slice(0, 1), where, **kw)  # half a file on disk, then the crash
            raise OSError("disk full (simulated)")
        return real_write(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", failing_write)
    with pytest.raises(OSError, match="simulated"):
        ingest_raw([root], settings)
    monkeypatch.setattr(pq, "write_table", real_write)

    after = _lake_snapshot(settings.lake_dir)
    assert not [p for p in after if p.name.endswith(".tmp")]
    assert after[lake.table_path(settings, "posts")] == before[lake.table_path(settings, "posts")]
    assert pq.read_table(lake.table_path(settings, "posts")).equals(posts_before)
    if fail_on == "media":
        assert {p: b for p, b in after.items() if p.suffix == ".parquet"} == {
            p: b for p, b in before.items() if p.suffix == ".parquet"
        }

    # The next run completes the interrupted one, without duplicate history.
    report = ingest_raw([root], settings)
    assert report.posts_new == 2 and report.posts_updated == 1
    posts = lake.read_table(settings, "posts")
    assert posts is not None and posts.num_rows == 5
    good0 = next(r for r in posts.to_pylist() if r["shortcode"] == "GOOD0")
    assert good0["likes"] == 999 and good0["observed_at"] == later
    obs = lake.read_table(settings, "post_observations")
    assert obs is not None
    keys = list(
        zip(obs.column("shortcode").to_pylist(), obs.column("observed_at").to_pylist(), strict=True)
    )
    assert len(keys) == len(set(keys)) == 6
