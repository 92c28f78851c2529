"""The labelled album generator used by curation tests, docs figures and the benchmark."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from picme.errors import InputError
from picme.synthetic.album import AlbumSpec, cached_album, generate_album


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_album_is_deterministic_and_labelled(tmp_path: Path) -> None:
    kw = dict(
        n_bursts=2,
        burst_size=3,
        n_singles=3,
        size=(96, 64),
        n_rotated=1,
        formats=("png", "webp"),
        n_lookalikes=1,
    )
    a = generate_album(tmp_path / "a", seed=3, **kw)  # type: ignore[arg-type]
    b = generate_album(tmp_path / "b", seed=3, **kw)  # type: ignore[arg-type]
    assert _digest(a.root) == _digest(b.root)
    assert [i.path for i in a.items] == [i.path for i in b.items]
    groups = a.groups()
    bursts = [g for g in groups if g.startswith("burst")]
    assert len(bursts) == 2 and len(groups) == 2 + 3 + 1
    kinds = [i.kind for i in a.items]
    assert kinds.count("blur") == 1 and kinds.count("dark") == 1  # every 2nd burst
    assert kinds.count("lookalike") == 1 and kinds.count("rotated") == 1
    exts = {Path(i.path).suffix.lower() for i in a.items if i.group.startswith("single")}
    assert exts == {".jpg", ".png", ".webp"}
    rotated = next(i for i in a.items if i.kind == "rotated")
    with Image.open(a.root / rotated.path) as im:
        assert im.getexif()[0x0112] == rotated.orientation
        assert im.size == (64, 96)  # stored sideways
    other = generate_album(tmp_path / "c", seed=4, **kw)  # type: ignore[arg-type]
    assert _digest(other.root) != _digest(a.root)


def test_labels_round_trip_and_stay_outside_the_album(tmp_path: Path) -> None:
    spec = generate_album(tmp_path / "album", n_bursts=1, n_singles=1, size=(64, 48))
    with pytest.raises(InputError, match="inside the album"):
        spec.save_labels(spec.root / "labels.json")
    path = spec.save_labels(tmp_path / "labels.json")
    assert AlbumSpec.load_labels(path).items == spec.items
    with pytest.raises(InputError, match="not empty"):
        generate_album(spec.root)


def test_cached_album_is_reused(tmp_path: Path) -> None:
    kw = dict(n_bursts=1, burst_size=2, n_singles=1, size=(64, 48))
    first = cached_album(tmp_path, **kw)  # type: ignore[arg-type]
    stamp = (first.root / first.items[0].path).stat().st_mtime_ns
    again = cached_album(tmp_path, **kw)  # type: ignore[arg-type]
    assert again.items == first.items
    assert (again.root / again.items[0].path).stat().st_mtime_ns == stamp
