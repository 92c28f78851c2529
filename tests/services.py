"""Real services a test needs from the machine (PostgreSQL, Chromium, a container engine).

On a developer's machine a missing service skips the test with the package to install; CI
(.ci/run sets PICME_REQUIRE_SERVICES=1 after installing them) turns the skip into a failure,
so a test that must run there can never pass by being skipped.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

# The Debian package that provides each tool.
PACKAGES = {
    "pg_ctlcluster": "postgresql",
    "initdb": "postgresql",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
    "dockerd": "docker.io",
}


def required() -> bool:
    return os.environ.get("PICME_REQUIRE_SERVICES", "") not in ("", "0")


def need(tool: str, path: str | None = None) -> str:
    """The path of ``tool`` (looked up on PATH, or ``path`` if given and present); skips the
    test where it is missing, or fails under PICME_REQUIRE_SERVICES."""
    found = path if path and os.path.exists(path) else shutil.which(tool)
    if found:
        return found
    package = PACKAGES.get(tool, tool)
    message = f"{tool} is not installed: apt-get install -y {package}"
    if required():
        pytest.fail(message + " (PICME_REQUIRE_SERVICES is set: CI must run this test)")
    pytest.skip(message)


def free_port() -> int:
    """A free TCP port on loopback, for a server a test starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
