"""infra/docker-compose.yml as Docker Compose resolves it: through `docker compose config`
where the CLI and its compose plugin are installed, else parsed with PyYAML and its
``${VAR}`` / ``${VAR:-default}`` references filled from infra/.env.example the same way."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
INFRA = ROOT / "infra"
COMPOSE = INFRA / "docker-compose.yml"
ENV_EXAMPLE = INFRA / ".env.example"
PROFILES = ("gpu", "setup")

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {k.strip(): v for k, v in pairs}


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):

        def fill(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name, default = m.group(1), m.group(2)
            return env.get(name) or (default if default is not None else "")

        return _VAR.sub(fill, value)
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    return value


def docker_compose() -> list[str] | None:
    """The compose command where Compose v2 works (the docker CLI's plugin, or the
    standalone `docker-compose` v2 binary), else None."""
    candidates = []
    if docker := shutil.which("docker"):
        candidates.append([docker, "compose"])
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    for cmd in candidates:
        probe = subprocess.run(
            [*cmd, "version", "--short"], capture_output=True, text=True, timeout=30, check=False
        )
        # Compose v1 (the Python one) reads another schema: only v2 and later count.
        if probe.returncode == 0 and not probe.stdout.strip().lstrip("v").startswith("1."):
            return cmd
    return None


@cache
def resolved() -> tuple[str, dict[str, Any]]:
    """(how it was resolved, the model with every profile's services)."""
    cmd = docker_compose()
    if cmd is not None:
        args = [*cmd, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE)]
        for profile in PROFILES:
            args += ["--profile", profile]
        proc = subprocess.run(
            [*args, "config", "--format", "json", "--no-path-resolution"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, f"docker compose config rejected infra/:\n{proc.stderr}"
        return "docker compose config", json.loads(proc.stdout)
    return "PyYAML", _interpolate(yaml.safe_load(COMPOSE.read_text()), env_example())


def raw() -> dict[str, Any]:
    """The file as written (variables not filled), for checks on literals."""
    return yaml.safe_load(COMPOSE.read_text())
