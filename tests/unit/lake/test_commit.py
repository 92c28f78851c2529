"""The lake tables of one ingest as one generation: a commit decided by a writer that died
is finished by the next reader; one not decided leaves the old tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from picme.lake import commit
from picme.settings import get_settings


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_writers_decided_commit_is_rolled_forward(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    a, b = (
        tmp_path / "lake" / "media" / "media.parquet",
        tmp_path / "lake" / "posts" / "posts.parquet",
    )
    for target, old in ((a, 1), (b, 1)):
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"v": [old]}), target)
    staged = []
    for target in (a, b):
        s = target.parent / f".{target.name}.123.staged.tmp"
        pq.write_table(pa.table({"v": [2]}), s)
        staged.append((s, target))
    # The writer died after renaming the first file: a mix on disk, until a reader comes.
    staged[0][0].replace(a)
    record = {"pid": _dead_pid(), "files": [[str(s), str(t)] for s, t in staged]}
    commit.record_path(settings).write_text(json.dumps(record))
    assert commit.roll_forward(settings)
    assert [pq.read_table(t)["v"].to_pylist() for t in (a, b)] == [[2], [2]]
    assert not commit.record_path(settings).exists()
    assert not commit.roll_forward(settings)


def test_commit_writes_every_table_or_none(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings(home=tmp_path)
    a, b = tmp_path / "lake" / "x" / "x.parquet", tmp_path / "lake" / "y" / "y.parquet"
    commit.commit(settings, [(a, pa.table({"v": [1]})), (b, pa.table({"v": [1]}))])
    assert [pq.read_table(t)["v"].to_pylist() for t in (a, b)] == [[1], [1]]
    real = pq.write_table

    def full_disk_on_second(table, where, **kw):  # type: ignore[no-untyped-def]
        if "y.parquet" in str(where):
            raise OSError(28, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full_disk_on_second)
    with pytest.raises(OSError, match="No space"):
        commit.commit(settings, [(a, pa.table({"v": [2]})), (b, pa.table({"v": [2]}))])
    monkeypatch.setattr(pq, "write_table", real)
    assert [pq.read_table(t)["v"].to_pylist() for t in (a, b)] == [[1], [1]]
    assert not list((tmp_path / "lake").rglob("*.tmp"))
