"""Write-then-rename: a crash mid-write leaves the old file and no temporary one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from picme.util.atomic import atomic_open, write_parquet_atomic


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    write_parquet_atomic(pa.table({"a": [1, 2]}), target)
    with pytest.raises(RuntimeError), atomic_open(target, "wb") as fh:
        fh.write(b"half")
        raise RuntimeError("crash mid-write")
    assert pq.read_table(target).column("a").to_pylist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"], "no temp file left behind"
