"""Settings come from PICME_* variables and create nothing until asked."""

from __future__ import annotations

from pathlib import Path

from picme.settings import get_settings


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
