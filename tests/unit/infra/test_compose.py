"""infra/docker-compose.yml read as an operator would: pinned images, healthchecks and
health-gated start order, no secret in a command or an environment literal, non-root users,
a GPU worker on its own queue, a Dask cluster, and docs that run the same deploy step."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.compose import COMPOSE, ENV_EXAMPLE, INFRA, ROOT, raw, resolved

# The names infra/docker/entrypoint.py reads from a secret file (NAME_FILE).
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def services() -> dict[str, Any]:
    return resolved()[1]["services"]


def one_shot(svc: dict[str, Any]) -> bool:
    return svc.get("restart") == "no"


def argv(value: Any) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def dockerfile_of(svc: dict[str, Any]) -> Path | None:
    build = svc.get("build")
    if not build:
        return None
    context = (INFRA / build["context"]).resolve()
    return context / build.get("dockerfile", "Dockerfile")


def final_user(dockerfile: Path) -> str | None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile.read_text(), re.MULTILINE)
    return users[-1] if users else None


def test_compose_resolves_with_the_services() -> None:
    how, model = resolved()
    assert {
        "postgres", "minio", "minio-init", "mlflow", "prefect-server", "worker", "worker-gpu",
        "dask-scheduler", "dask-worker", "deploy",
    } <= set(model["services"]), how  # fmt: skip


def test_every_image_is_pinned() -> None:
    for name, svc in services().items():
        image = svc.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image!r}"
        tag = image.rsplit(":", 1)[1]
        assert re.search(r"\d", tag), f"{name}: tag {tag!r} is not a version"
    # The base images of what is built here, too.
    for dockerfile in INFRA.rglob("Dockerfile"):
        text = dockerfile.read_text()
        bases = re.findall(r"^ARG \w+_IMAGE=(\S+)", text, re.MULTILINE)
        bases += [b for b in re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE) if "$" not in b]
        for base in bases:
            if base == "scratch":
                continue
            name, _, tag = base.partition(":")
            assert tag and re.search(r"\d", tag) and tag != "latest", f"{dockerfile}: {base}"


def test_healthchecks_and_health_gated_start_order() -> None:
    svcs = services()
    for name, svc in svcs.items():
        if one_shot(svc):
            continue
        test = svc.get("healthcheck", {}).get("test")
        assert test and not svc["healthcheck"].get("disable"), f"{name} has no healthcheck"
    for name, svc in svcs.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            condition = spec["condition"]
            if one_shot(svcs[dep]):
                assert condition == "service_completed_successfully", f"{name} -> {dep}"
            else:
                assert condition == "service_healthy", f"{name} -> {dep}: {condition}"
    assert {"prefect-server", "mlflow"} <= set(svcs["worker"]["depends_on"])
    assert set(svcs["worker-gpu"]["depends_on"]) == set(svcs["worker"]["depends_on"])


def test_no_secret_in_commands_or_environment_literals() -> None:
    declared = set(raw()["secrets"])
    for name, svc in raw()["services"].items():
        text = " ".join(argv(svc.get("command")) + argv(svc.get("entrypoint")))
        assert not SECRET_WORDS.search(text), f"{name}: a secret in its command: {text}"
        # No credentials in a URL (scheme://user:password@host).
        assert not re.search(r"://[^/\s@]+:[^/\s@]+@", text), f"{name}: {text}"
        for key, value in environment(svc).items():
            assert not re.search(r"://[^/\s@]+:[^/\s@]+@", value), f"{name}: {key}={value}"
            if SECRET_WORDS.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} holds a secret itself"
                secret = value.removeprefix("/run/secrets/")
                assert value.startswith("/run/secrets/") and secret in (svc.get("secrets") or [])
        assert set(svc.get("secrets") or []) <= declared, name
    for secret in raw()["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    # infra/.env holds settings only: the secrets are files, made by make-secrets.sh.
    for line in ENV_EXAMPLE.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert not SECRET_WORDS.search(line.split("=", 1)[0]), line
    made = (INFRA / "make-secrets.sh").read_text()
    assert all(name in made for name in declared)


def test_secrets_and_env_are_git_ignored() -> None:
    ignored = (INFRA / ".gitignore").read_text().splitlines()
    assert {".env", "secrets/"} <= set(ignored)


def test_every_container_runs_as_a_non_root_user() -> None:
    for name, svc in services().items():
        user = str(svc.get("user") or "")
        dockerfile = dockerfile_of(svc)
        if not user and dockerfile is not None:
            user = final_user(dockerfile) or ""
        assert user, f"{name} runs as the image's default user (root)"
        assert user.split(":")[0] not in ("root", "0"), f"{name} runs as root"


def test_gpu_worker_reserves_nvidia_gpus_and_polls_the_gpu_queue() -> None:
    svcs = services()
    gpu = svcs["worker-gpu"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert "gpu" in gpu.get("profiles", [])
    queues = argv(gpu["command"])
    assert queues[queues.index("--work-queue") + 1] == "gpu"
    # A CUDA torch: the torch source is a build argument, another index than the CPU's.
    cpu_args, gpu_args = svcs["worker"]["build"]["args"], gpu["build"]["args"]
    assert {"TORCH_INDEX_URL", "TORCH_WHEELS"} <= set(cpu_args) & set(gpu_args)
    assert gpu_args["TORCH_INDEX_URL"] != cpu_args["TORCH_INDEX_URL"]
    assert "/cu" in gpu_args["TORCH_INDEX_URL"] and cpu_args["TORCH_INDEX_URL"].endswith("/cpu")
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert "ARG TORCH_INDEX_URL" in dockerfile and "ARG TORCH_WHEELS" in dockerfile
    assert "pip install" in dockerfile and "--find-links /wheels" in dockerfile


def test_queues_match_prefect_yaml() -> None:
    import yaml

    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    queues = {d["name"]: d["work_pool"]["work_queue_name"] for d in deployments}
    assert queues["train"] == queues["scheduled-retrain"] == queues["pipeline"] == "gpu"
    assert set(queues.values()) == {"default", "gpu"}
    deploy = (INFRA / "docker" / "deploy.sh").read_text()
    assert "for queue in default gpu" in deploy
    assert "--work-queue default" in env_value("CPU_WORKER_QUEUES")


def env_value(name: str) -> str:
    from tests.unit.infra.compose import env_example

    return env_example()[name]


def test_mlflow_image_has_its_drivers_and_installs_nothing_at_start() -> None:
    mlflow = services()["mlflow"]
    text = " ".join(argv(mlflow.get("command")) + argv(mlflow.get("entrypoint")))
    assert "pip" not in text
    dockerfile = dockerfile_of(mlflow)
    assert dockerfile is not None
    body = dockerfile.read_text()
    for pin in ("mlflow==${MLFLOW_VERSION}", "psycopg2-binary==", "boto3=="):
        assert pin in body
    assert re.search(r"ARG MLFLOW_VERSION=\d+\.\d+\.\d+", body)
    env = environment(mlflow)
    # Its own object-store user, allowed on its bucket only (made by minio-init), not root.
    assert env["AWS_ACCESS_KEY_ID"] != env_value("MINIO_ROOT_USER")
    assert "minio_root_password" not in (mlflow.get("secrets") or [])
    init = (INFRA / "minio" / "init.sh").read_text()
    assert 'bucket_user "${MLFLOW_S3_ACCESS_KEY}" mlflow_s3_secret_key picme-mlflow' in init
    assert '"Resource": ["arn:aws:s3:::$2/*"]' in init


def test_dask_cluster_serves_the_features_stage() -> None:
    svcs = services()
    assert "8786" in argv(svcs["dask-scheduler"]["command"])
    assert "tcp://dask-scheduler:8786" in argv(svcs["dask-worker"]["command"])
    assert env_value("PICME_DASK_ADDRESS") == "tcp://dask-scheduler:8786"
    from picme.settings import Settings

    assert "dask_address" in Settings.model_fields
    # Tasks pass paths: the Dask workers see the data volume where the workers do.
    mounts = {str(v).split(":")[-1] for v in raw()["services"]["dask-worker"]["volumes"]}
    assert "/data/picme" in mounts


def test_compose_header_and_operations_doc_run_the_same_commands() -> None:
    header = [
        line.removeprefix("#").strip()
        for line in COMPOSE.read_text().splitlines()
        if line.startswith("#   docker compose")
    ]
    assert any("run --rm deploy" in line for line in header)
    doc = (ROOT / "docs" / "operations.md").read_text()
    for line in header:
        command = line.split("  #")[0].strip()
        assert command in doc, f"docs/operations.md lacks: {command}"


@pytest.mark.parametrize("script", ["make-secrets.sh", "minio/init.sh", "docker/deploy.sh",
                                    "postgres/init-databases.sh"])  # fmt: skip
def test_shell_scripts_are_strict(script: str) -> None:
    text = (INFRA / script).read_text()
    assert text.startswith("#!/bin/sh") and "set -eu" in text
