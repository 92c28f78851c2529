from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from picme.errors import InputError
from picme.lake import feedback
from picme.settings import get_settings


def test_decisions_are_stored_at_once_and_the_latest_wins(picme_home: Path, tmp_path: Path) -> None:
    settings = get_settings()
    album = tmp_path / "album"
    album.mkdir()
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    feedback.record(settings, album, "a.jpg", "aa", "keep", t0)
    feedback.record(settings, album, "b/c.jpg", "cc", "reject", t0)
    feedback.record(settings, album, "a.jpg", "aa", "star", t0 + timedelta(seconds=1))
    feedback.record(settings, album, "b/c.jpg", "cc", "clear", t0 + timedelta(seconds=2))

    every = feedback.read_all(settings, album).to_pylist()
    assert [r["decision"] for r in every] == ["keep", "reject", "star", "clear"]
    now = feedback.current(settings, album).to_pylist()
    assert [(r["path"], r["decision"]) for r in now] == [("a.jpg", "star")]
    assert now[0]["album"] == str(album.resolve())
    assert tuple(feedback.current(settings).column_names) == feedback.COLUMNS


def test_same_instant_decisions_keep_their_order(picme_home: Path, tmp_path: Path) -> None:
    settings = get_settings()
    t = datetime(2026, 12, 1, tzinfo=UTC)
    for decision in ("keep", "reject", "star"):
        feedback.record(settings, tmp_path, "x.jpg", "xx", decision, t)
    assert feedback.current(settings, tmp_path).column("decision").to_pylist() == ["star"]


def test_concurrent_decisions_are_all_kept(picme_home: Path, tmp_path: Path) -> None:
    settings = get_settings()

    def decide(i: int) -> None:
        feedback.record(settings, tmp_path, f"p{i}.jpg", f"h{i}", "keep")

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(feedback.current(settings, tmp_path)) == 12


def test_empty_and_bad_input(picme_home: Path, tmp_path: Path) -> None:
    settings = get_settings()
    assert feedback.current(settings).num_rows == 0
    with pytest.raises(InputError, match="unknown decision"):
        feedback.record(settings, tmp_path, "a.jpg", "aa", "love")
    with pytest.raises(InputError, match="not a path inside"):
        feedback.record(settings, tmp_path, "../a.jpg", "aa", "keep")
