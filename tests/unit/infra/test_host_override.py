"""infra/compose.host.yml (the stack on one machine's loopback) and the Dockerfiles as the
run on a registry-less machine found them: everything on the host network and bound to
127.0.0.1, one port per listener, and nothing in a build that reaches for a registry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.infra.compose import COMPOSE, INFRA, ROOT, raw

OVERRIDE = INFRA / "compose.host.yml"
LOOPBACK_URL = re.compile(r"\b(?:https?|tcp|s3)://([^/:\s]+)")


class _Loader(yaml.SafeLoader):
    """PyYAML with Compose's `!reset` tag (the override clears `ports` and `volumes`)."""


_Loader.add_constructor("!reset", lambda loader, node: {"!reset": node.value or None})


def override() -> dict[str, Any]:
    return yaml.load(OVERRIDE.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def test_every_service_is_on_the_host_network_with_nothing_published() -> None:
    base, over = raw()["services"], override()["services"]
    assert set(over) == set(base)
    for name, svc in over.items():
        assert svc.get("network_mode") == "host", name
        if base[name].get("ports"):
            assert svc.get("ports") == {"!reset": None}, f"{name} still publishes ports"
        if "build" in base[name] or "build" in svc:
            assert svc.get("build", {}).get("network") == "host", f"{name} builds on a bridge"


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_every_address_is_loopback_and_every_port_its_own() -> None:
    text = OVERRIDE.read_text()
    hosts = set(LOOPBACK_URL.findall(text)) - {"${MLFLOW_BUCKET}"}
    assert hosts == {"127.0.0.1"}, hosts
    over = override()["services"]
    # Whatever a service listens on is given as 127.0.0.1 (never 0.0.0.0 or a bare port).
    for name, svc in over.items():
        args = strings(svc.get("command"))
        assert "0.0.0.0" not in " ".join(args), name
        for flag in ("--host", "-H", "--dashboard-address"):
            if flag in args:
                assert args[args.index(flag) + 1].startswith("127.0.0.1"), (name, flag)
    ports = re.findall(r"127\.0\.0\.1:(\d+)", text) + re.findall(r"port=(\d+)", text)
    ports += re.findall(r'"-p", "(\d+)"', text) + re.findall(r'"--port", "(\d+)"', text)
    listeners = {
        "postgres": "15432", "minio": "19000", "mlflow": "15000", "prefect-server": "14200",
        "dask-scheduler": "18786", "dask-dashboard": "18787", "dask-worker": "18789",
        "worker-health": "18080",
    }  # fmt: skip
    assert set(listeners.values()) <= set(ports)
    assert len(set(listeners.values())) == len(listeners)


@pytest.mark.parametrize(
    "dockerfile",
    ["Dockerfile", "mlflow/Dockerfile", "minio/Dockerfile", "local/postgres.Dockerfile",
     "local/s3.Dockerfile"],
)  # fmt: skip
def test_dockerfiles_build_without_a_registry_for_their_frontend(dockerfile: str) -> None:
    # `# syntax=docker/dockerfile:X` makes BuildKit pull that frontend image from Docker Hub
    # before anything else: an offline build fails on it; the built-in one parses these.
    text = (INFRA / dockerfile).read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.MULTILINE | re.IGNORECASE)
    # The base is a build argument, so a locally made image can stand in for the pinned one.
    assert re.search(r"^FROM \$\{[A-Z_]+\}", text, re.MULTILINE), dockerfile


def test_prefect_ui_is_written_where_the_non_root_user_may_write() -> None:
    text = (INFRA / "Dockerfile").read_text()
    match = re.search(r"PREFECT_UI_STATIC_DIRECTORY=(\S+)", text)
    assert match and match.group(1).startswith("/home/picme/"), "the UI would not be served"
    assert "USER picme" in text


def test_local_scripts_are_strict_and_documented() -> None:
    for script in ("make-base-image.sh", "build-images.sh", "postgres-entrypoint.sh"):
        text = (INFRA / "local" / script).read_text()
        assert text.startswith("#!/bin/sh") and "set -eu" in text, script
    doc = (ROOT / "docs" / "operations.md").read_text()
    assert "compose.host.yml" in doc and "PICME_COMPOSE_TEST=1" in doc
    assert Path(COMPOSE).is_file()
