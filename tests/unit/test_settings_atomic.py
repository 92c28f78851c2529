from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from picme.settings import get_settings
from picme.util.atomic import atomic_open, write_parquet_atomic


def test_settings_read_env_and_have_no_side_effects(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "nowhere-yet"
    monkeypatch.setenv("PICME_HOME", str(home))
    monkeypatch.setenv("PICME_ENGAGEMENT_THRESHOLD", "0.5")
    s = get_settings()
    assert s.home == home and s.engagement_threshold == 0.5
    assert s.lake_dir == home / "lake"
    assert s.tracking_uri.startswith("sqlite:///") and s.tracking_uri.endswith("mlflow.db")
    assert not home.exists(), "reading settings must not create anything"
    s.ensure_dirs()
    assert (home / "raw").is_dir() and (home / "lake").is_dir()


def test_tracking_uri_prefers_explicit_then_env(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert get_settings().tracking_uri == "http://127.0.0.1:5999"
    monkeypatch.setenv("PICME_MLFLOW_TRACKING_URI", "sqlite:///x.db")
    assert get_settings().tracking_uri == "sqlite:///x.db"


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    write_parquet_atomic(pa.table({"a": [1, 2]}), target)
    with pytest.raises(RuntimeError), atomic_open(target, "wb") as fh:
        fh.write(b"half")
        raise RuntimeError("crash mid-write")
    assert pq.read_table(target).column("a").to_pylist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"], "no temp file left behind"


def test_cli_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from picme.cli.app import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'lightning', 'mlflow', 'prefect') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"picme --help imported {out.stdout.strip()}"
