"""No network while logging in: one line saying so, not "the session expired"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from instaloader.exceptions import ConnectionException

from picme.scrape.session import SessionError, load_session
from picme.settings import get_settings


class _Context:
    recent_errors: list[str] = []


class _OfflineLoader:
    context = _Context()

    def load_session_from_file(self, login: str, path: str) -> None:
        pass

    def save_session(self) -> dict[str, Any]:
        return {}

    def test_login(self) -> None:
        raise ConnectionException(
            "HTTPSConnectionPool(host='www.instagram.com', port=443): Max retries exceeded "
            "(Caused by NewConnectionError: Failed to establish a new connection: "
            "[Errno -3] Temporary failure in name resolution)"
        )


def test_login_without_network_says_the_network_is_down(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path, session_dir=tmp_path)
    (tmp_path / "session-someone").write_bytes(b"x")
    with pytest.raises(SessionError) as err:
        load_session(_OfflineLoader(), "someone", settings)
    line = str(err.value)
    assert line.startswith("Instagram cannot be reached") and "network" in line
    assert "expired" not in line and "\n" not in line
