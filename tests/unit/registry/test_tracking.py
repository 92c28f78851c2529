"""The tracking store: pointing mlflow at one PICME_HOME leaves other homes alone."""

from __future__ import annotations

from pathlib import Path

from picme.registry.tracking import use_tracking
from picme.settings import get_settings


def test_tracking_does_not_leak_into_other_homes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    a = get_settings(home=tmp_path / "a")
    use_tracking(a)
    b = get_settings(home=tmp_path / "b")
    assert str(tmp_path / "b") in b.tracking_uri
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    use_tracking(a)  # an explicit user choice stays as it was
    assert get_settings(home=tmp_path / "b").tracking_uri == "http://127.0.0.1:5000"
