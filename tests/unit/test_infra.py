"""prefect.yaml and infra/: parsed and checked here (tests/unit/infra/ checks the compose
file as an operator reads it); `prefect deploy` runs in the server-mode test."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def test_compose_has_the_services_and_two_databases() -> None:
    compose = load(ROOT / "infra" / "docker-compose.yml")
    services = compose["services"]
    assert {"postgres", "minio", "mlflow", "prefect-server", "worker"} <= set(services)

    # Prefect and MLflow each have a database and a role of their own on the one Postgres.
    prefect_env = services["prefect-server"]["environment"]
    mlflow_env = services["mlflow"]["environment"]
    assert prefect_env["PREFECT_SERVER_DATABASE_DRIVER"] == "postgresql+asyncpg"
    assert prefect_env["PREFECT_SERVER_DATABASE_NAME"] == "${PREFECT_DB}"
    assert prefect_env["PREFECT_SERVER_DATABASE_USER"] == "${PREFECT_DB_USER}"
    assert mlflow_env["MLFLOW_DB_NAME"] == "${MLFLOW_DB}"
    assert mlflow_env["MLFLOW_DB_USER"] == "${MLFLOW_DB_USER}"
    env = dict(
        line.split("=", 1)
        for line in (ROOT / "infra" / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert env["PREFECT_DB"] != env["MLFLOW_DB"]
    assert env["PREFECT_DB_USER"] != env["MLFLOW_DB_USER"] != env["POSTGRES_USER"]
    init = (ROOT / "infra" / "postgres" / "init-databases.sh").read_text()
    assert "CREATE DATABASE %I OWNER %I" in init
    assert services["postgres"]["environment"]["MLFLOW_DB"] == "${MLFLOW_DB}"

    # MLflow artifacts go to MinIO through the server's proxy.
    assert (
        "--artifacts-destination=s3://${MLFLOW_BUCKET}/artifacts" in services["mlflow"]["command"]
    )
    assert mlflow_env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"

    worker_env = services["worker"]["environment"]
    assert worker_env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert worker_env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert worker_env["PICME_PROJECT_DIR"]


def test_every_compose_variable_is_in_the_env_example() -> None:
    text = (ROOT / "infra" / "docker-compose.yml").read_text()
    # ${VAR} and ${VAR:-default}; $${VAR} is escaped for the container's shell.
    used = {m.group(1) for m in re.finditer(r"(?<!\$)\$\{([A-Z_]+)(?::-[^}]*)?\}", text)}
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / "infra" / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert used, "no variables found: the pattern is wrong"
    assert used <= example, f"missing from .env.example: {sorted(used - example)}"


def _deployments() -> list[dict]:
    return load(ROOT / "prefect.yaml")["deployments"]


def _flow(entrypoint: str) -> Any:
    module_path, func = entrypoint.split(":")
    return getattr(importlib.import_module(module_path.removesuffix(".py").replace("/", ".")), func)


def test_prefect_yaml_pull_step_is_the_local_checkout() -> None:
    cfg = load(ROOT / "prefect.yaml")
    (step,) = cfg["pull"]
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == (
        "{{ $PICME_PROJECT_DIR }}"
    )
    assert all(d["work_pool"]["name"] == "picme" for d in _deployments())


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_deployment_entrypoints_and_parameters_match_the_flows(deployment: dict) -> None:
    from prefect import Flow
    from prefect.utilities.callables import parameter_schema

    assert (ROOT / deployment["entrypoint"].split(":")[0]).is_file()
    flow = _flow(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    accepted = set(parameter_schema(flow).properties)
    given = set(deployment.get("parameters") or {})
    for schedule in deployment.get("schedules") or []:
        given |= set(schedule.get("parameters") or {})
    assert given <= accepted, f"unknown parameters {sorted(given - accepted)}"


def test_schedules_are_valid_cron() -> None:
    from prefect.client.schemas.schedules import CronSchedule

    by_name = {d["name"]: d for d in _deployments()}
    assert {"scheduled-scrape", "scheduled-retrain", "pipeline", "curate"} <= set(by_name)
    for name in ("scheduled-scrape", "scheduled-retrain"):
        (schedule,) = by_name[name]["schedules"]
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    # Scraping is opt-in; retraining runs as soon as it is deployed.
    assert by_name["scheduled-scrape"]["schedules"][0]["active"] is False
    assert by_name["scheduled-retrain"]["schedules"][0]["active"] is True
    assert by_name["scheduled-retrain"]["parameters"]["min_growth"] == 0.1


# Their flows still take loose parameters without descriptions; issue 9 moves each to its
# stage's config. Empty this set as they do.
NOT_DESCRIBED_YET: set[str] = set()


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_every_deployment_parameter_has_a_description(deployment: dict) -> None:
    """What the Prefect UI shows for a deployment's parameters: the flow's own schema, and
    the fields of every model a parameter takes (a stage's config)."""
    from prefect.utilities.callables import parameter_schema

    if deployment["entrypoint"].split(":")[0] in NOT_DESCRIBED_YET:
        pytest.skip("this flow's parameters are not described yet (issue 9)")
    schema = parameter_schema(_flow(deployment["entrypoint"]).fn)
    missing = [name for name, prop in schema.properties.items() if not prop.get("description")]
    # Prefect silently degrades a parameter whose type it cannot describe to Any.
    untyped = [
        name
        for name, prop in schema.properties.items()
        if not {"type", "anyOf", "allOf", "$ref"} & set(prop)
    ]
    for model, definition in (schema.definitions or {}).items():
        for name, prop in definition.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{model}.{name}")
    assert not missing, f"parameters without a description: {missing}"
    assert not untyped, f"parameters Prefect could not describe: {untyped}"


def test_train_parameters_are_the_cli_options() -> None:
    """The train flow and `picme train` read one declaration: the flow's ``config`` is a
    TrainConfig, and each command-line option's help is that field's description."""
    from prefect.utilities.callables import parameter_schema
    from pydantic import TypeAdapter

    from flows.train import train_flow
    from picme.cli.options import cli_fields
    from picme.training.config import TrainConfig

    schema = parameter_schema(train_flow.fn)
    assert set(schema.properties) == {"home", "config"}
    fields = schema.definitions["TrainConfig"]["properties"]
    assert fields == TypeAdapter(TrainConfig).json_schema()["properties"]
    options = cli_fields(TrainConfig)
    assert list(options) == [
        "model", "loss", "epochs", "batch_size", "lr", "image_size", "arch", "weights",
        "from_scratch", "embeddings", "cv", "personal", "register", "devices", "seed",
    ]  # fmt: skip
    assert {name: fields[name]["description"] for name in options} == {
        name: info.description for name, info in options.items()
    }


def test_every_schedule_names_its_time_zone_and_inactive_ones_say_so() -> None:
    """The UI lists a schedule by its cron text: the zone is explicit, and an inactive
    schedule says so in its slug and in its deployment's description."""
    for deployment in _deployments():
        assert deployment.get("description"), deployment["name"]
        for schedule in deployment.get("schedules") or []:
            assert schedule.get("timezone"), deployment["name"]
            assert schedule["timezone"].lower() in schedule["slug"]
            inactive = schedule.get("active") is False
            assert schedule["slug"].endswith("-inactive") == inactive, schedule["slug"]
            assert ("INACTIVE" in deployment["description"]) == inactive
            assert ("schedule-inactive" in deployment.get("tags", [])) == inactive
