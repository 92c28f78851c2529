"""Shared fixtures. Environment is set before any test imports Prefect or MLflow, so no
test touches ~/.prefect, the network, or the working directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="picme-tests-"))
os.environ.setdefault("PREFECT_HOME", str(_SESSION_TMP / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.pop("MLFLOW_TRACKING_URI", None)
# Switches, not settings, stay: PICME_REQUIRE_SERVICES (CI's, for tests/services.py) and
# PICME_COMPOSE_TEST (the opt-in of tests/integration/test_compose_stack.py).
_SWITCHES = ("PICME_REQUIRE_SERVICES", "PICME_COMPOSE_TEST")
for _key in [k for k in os.environ if k.startswith("PICME_") and k not in _SWITCHES]:
    del os.environ[_key]

from tests.imagefixtures import make_image_fixtures  # noqa: E402


@pytest.fixture
def picme_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PICME_HOME for one test; settings read it from the environment."""
    home = tmp_path / "picme-data"
    home.mkdir()
    monkeypatch.setenv("PICME_HOME", str(home))
    monkeypatch.setenv("PICME_WORKERS", "2")
    return home


@pytest.fixture(scope="session")
def image_fixtures() -> dict[str, Path]:
    """Tiny real image files: ok JPEG/PNG, grayscale, alpha, CMYK, EXIF-rotated, corrupt…"""
    return make_image_fixtures(_SESSION_TMP / "images")
