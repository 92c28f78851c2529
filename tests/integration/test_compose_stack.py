"""The compose stack started for real (opt-in: PICME_COMPOSE_TEST=1, marker `compose`).

infra/docker-compose.yml with infra/compose.host.yml: every service on the host network,
bound to 127.0.0.1 (no bridge network, no traffic off loopback). The images are built first
by infra/local/build-images.sh (BuildKit, host network, base PYTHON_IMAGE: by default the
Debian image of infra/local/make-base-image.sh, for machines that reach no registry). Then:
every service's healthcheck goes healthy, each health endpoint answers on 127.0.0.1, the
deploy job registers the deployments, and the pipeline deployment runs through the worker
container (features on the Dask worker container) with Prefect and MLflow on PostgreSQL and
MLflow's artifacts in the object store; once with the lake in the workers' data volume and
once in the lake bucket (PICME_LAKE_URI). Torn down (containers and volumes) at the end.

Needs a docker daemon, Docker Compose v2 or later (`docker compose` or `docker-compose` on
PATH), and a CLI whose `build` speaks BuildKit (DOCKER, default `docker`). Several minutes
on two cores the first time (the image builds); not part of CI (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.compose import docker_compose

pytestmark = [
    pytest.mark.compose,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("PICME_COMPOSE_TEST") != "1",
        reason="starts the compose stack: opt in with PICME_COMPOSE_TEST=1",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
PROJECT = "picme-compose-test"
BASE_IMAGE = os.environ.get("PYTHON_IMAGE", "picme/debian-python:bookworm")
# Service -> its health endpoint on loopback (infra/compose.host.yml's ports).
HEALTH = {
    "minio": "http://127.0.0.1:19000/moto-api/",
    "mlflow": "http://127.0.0.1:15000/health",
    "prefect-server": "http://127.0.0.1:14200/api/health",
    "dask-scheduler": "http://127.0.0.1:18787/health",
    "dask-worker": "http://127.0.0.1:18789/health",
    "worker": "http://127.0.0.1:18080/health",
}
LONG_RUNNING = {"postgres", *HEALTH}
API = "http://127.0.0.1:14200/api"
MLFLOW = "http://127.0.0.1:15000"
S3 = "http://127.0.0.1:19000"
# Where the lake lives: the workers' volume (PICME_LAKE_URI empty) or the lake bucket.
LAKES = {"volume": "", "bucket": "s3://picme-lake/lake"}


def run(cmd: list[str], env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}\n{out[-4000:]}"
    return out


def http_json(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture(params=list(LAKES))
def stack(request: pytest.FixtureRequest) -> Iterator[tuple[list[str], dict[str, str]]]:
    compose = docker_compose()
    docker = os.environ.get("DOCKER", "docker")
    assert compose, "Docker Compose v2 or later is needed (`docker compose` or `docker-compose`)"
    assert shutil.which(docker), f"no docker CLI {docker!r} (set DOCKER)"
    env = dict(os.environ, PYTHON_IMAGE=BASE_IMAGE, COMPOSE_PROJECT_NAME=PROJECT)
    env["PICME_LAKE_URI"] = LAKES[request.param]
    probe = subprocess.run(
        [docker, "image", "inspect", BASE_IMAGE], env=env, capture_output=True, check=False
    )
    assert probe.returncode == 0, (
        f"base image {BASE_IMAGE} is missing: run infra/local/make-base-image.sh "
        "or set PYTHON_IMAGE to a Python 3.11 image at hand"
    )
    secrets = INFRA / "secrets"
    made_secrets = not secrets.exists()
    run(["sh", str(INFRA / "make-secrets.sh")], env, timeout=30)
    run(["sh", str(INFRA / "local" / "build-images.sh")], env, timeout=1800)
    cmd = [
        *compose,
        "-f", str(INFRA / "docker-compose.yml"),
        "-f", str(INFRA / "compose.host.yml"),
        "--env-file", str(INFRA / ".env.example"),
        "-p", PROJECT,
    ]  # fmt: skip
    try:
        yield cmd, env
    finally:
        subprocess.run(
            [*cmd, "--profile", "setup", "down", "--volumes", "--remove-orphans", "-t", "10"],
            cwd=ROOT, env=env, capture_output=True, timeout=300, check=False,
        )  # fmt: skip
        if made_secrets:
            shutil.rmtree(secrets)


def test_stack_starts_healthy_and_runs_the_pipeline(
    stack: tuple[list[str], dict[str, str]],
) -> None:
    cmd, env = stack
    # Nothing is published: on the host network each service binds 127.0.0.1 itself.
    config = json.loads(run([*cmd, "config", "--format", "json"], env, timeout=60))
    for name, svc in config["services"].items():
        assert svc.get("network_mode") == "host", name
        assert not svc.get("ports"), name

    started = time.monotonic()
    run([*cmd, "up", "--detach", "--wait", "--wait-timeout", "300"], env, timeout=420)
    up_s = time.monotonic() - started
    states = {
        c["Service"]: c
        for line in run([*cmd, "ps", "--all", "--format", "json"], env, 60).splitlines()
        if line.strip()
        for c in ([json.loads(line)] if line.lstrip().startswith("{") else json.loads(line))
    }
    for name in LONG_RUNNING:
        assert states[name]["Health"] == "healthy", (name, states[name])
    assert states["minio-init"]["State"] == "exited" and states["minio-init"]["ExitCode"] == 0
    for name, url in HEALTH.items():
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200, name

    # PostgreSQL: a database and a role each for Prefect and MLflow, tables made by each.
    owners = run(
        [*cmd, "exec", "-T", "postgres", "psql", "-p", "15432", "-U", "postgres", "-Atc",
         "select datname || ':' || pg_get_userbyid(datdba) from pg_database"],
        env, timeout=60,
    ).split()  # fmt: skip
    assert {"prefect:prefect", "mlflow:mlflow"} <= set(owners), owners

    deployed = run([*cmd, "--profile", "setup", "run", "--rm", "deploy"], env, timeout=300)
    assert "pipeline/pipeline" in deployed, deployed[-2000:]
    train = json.dumps({"epochs": 1, "image_size": 32, "batch_size": 16, "seed": 0})
    out = run(
        [*cmd, "exec", "-T", "worker", "prefect", "deployment", "run", "pipeline/pipeline",
         "-p", "accounts=4", "-p", "posts=12", "-p", "sample_image_size=64",
         "-p", f"train={train}", "-p", "demo_album=false"],
        env, timeout=120,
    )  # fmt: skip
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    state: dict[str, Any] = {}
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = http_json("GET", f"{API}/flow_runs/{match.group(1)}")["state"] or {}
        if state.get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
        time.sleep(2)
    logs = subprocess.run(
        [*cmd, "logs", "--tail", "80", "worker"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    ).stdout  # fmt: skip
    assert state.get("type") == "COMPLETED", f"{state}\n{logs}"

    # MLflow (on PostgreSQL) registered the model; its artifacts are in the bucket.
    models = http_json("GET", f"{MLFLOW}/api/2.0/mlflow/registered-models/search")
    assert [m["name"] for m in models["registered_models"]] == ["picme-scorer"]
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=S3, region_name="us-east-1",
        aws_access_key_id="any", aws_secret_access_key="any",  # moto checks no keys
    )  # fmt: skip
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="picme-mlflow").get("Contents", [])]
    assert any(k.startswith("artifacts/") for k in keys), keys
    # The lake where PICME_LAKE_URI put it: the bucket's training table, or none there.
    lake = [o["Key"] for o in s3.list_objects_v2(Bucket="picme-lake").get("Contents", [])]
    if env["PICME_LAKE_URI"]:
        assert any(k.startswith("lake/training/") for k in lake), lake
    else:
        assert lake == [], lake
        listing = run([*cmd, "exec", "-T", "worker", "ls", "/data/picme/lake/training"], env, 60)
        assert "training.parquet" in listing, listing
    print(f"compose stack healthy in {up_s:.0f} s")
