"""Server mode end to end on production engines, as docs/operations.md tells a user to run
it: a PostgreSQL cluster holding Prefect's and MLflow's databases (each its own database and
login role, never the superuser), an S3-compatible object store (moto) for MLflow's
artifacts, real `prefect server` and `mlflow server` processes on free loopback ports,
`prefect deploy --all` from the project's prefect.yaml, a process worker, a pipeline run
triggered from the CLI on generated data; then the REST APIs of both servers, the rows in
both databases and the model's files in the bucket are checked. Database passwords reach
the servers through environment variables, never command lines, and contain the characters
that break a hand-made URL. Every process started here runs in its own process group and is
killed at the end, pass or fail; the database and the object store stop after them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import servicefixtures
from tests.servicefixtures import (
    Postgres,
    S3Server,
    init_databases,
    new_password,
)
from tests.services import free_port

# The cluster and the object store, started once for this module and stopped after it.
postgres = servicefixtures.postgres
s3_server = servicefixtures.s3_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = "picme-scorer"
RUN_TIMEOUT_S = 420
# The images' entrypoint: Docker secrets (NAME_FILE) into the environment, then exec.
ENTRYPOINT = [sys.executable, str(ROOT / "infra" / "docker" / "entrypoint.py")]


def tool(name: str) -> str:
    """The console script installed beside this interpreter (the same environment)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in this environment")
    return found


class Processes:
    """Background processes in their own sessions, with their output in log files."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()  # the child holds its own descriptor
        self.started.append((name, proc))
        return proc

    def tail(self, name: str, n: int = 60) -> str:
        path = self.logs / f"{name}.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return f"--- {name} (last {n} lines) ---\n" + "\n".join(lines[-n:])

    def stop_all(self) -> None:
        for _name, proc in reversed(self.started):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        # A server stopped hard loses nothing a test reads: its database outlives it.
        deadline = time.monotonic() + 5
        for _name, proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # The group may hold children (the worker's flow-run subprocess, uvicorn
            # workers) even after its leader exited.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def http_json(method: str, url: str, body: Any = None, timeout: float = 10) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def wait_healthy(url: str, procs: Processes, name: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode}\n{procs.tail(name)}")
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    pytest.fail(f"{name} not healthy at {url} after 180 s\n{procs.tail(name)}")


def run_cli(args: list[str], env: dict[str, str], timeout: float = 180) -> str:
    proc = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs)
    try:
        yield procs
    finally:
        procs.stop_all()


def test_deploy_and_run_the_pipeline_on_servers(
    tmp_path: Path, postgres: Postgres, s3_server: S3Server, processes: Processes
) -> None:
    # The roles and databases made by the compose stack's init script.
    passwords = {"prefect": new_password(), "mlflow": new_password()}
    dbs = init_databases(postgres, passwords)
    prefect_db, mlflow_db = dbs["prefect"], dbs["mlflow"]
    bucket = s3_server.create_bucket("picme-mlflow")
    prefect_port, mlflow_port = free_port(), free_port()
    api = f"http://127.0.0.1:{prefect_port}/api"
    mlflow_url = f"http://127.0.0.1:{mlflow_port}"
    home = tmp_path / "picme-data"
    prefect_home = tmp_path / "prefect-home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PICME_", "PREFECT_", "MLFLOW_", "AWS_"))
    }
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
        MLFLOW_TRACKING_URI=mlflow_url,
        PICME_HOME=str(home),
        PICME_PROJECT_DIR=str(ROOT),
        PICME_WORKERS="1",
        PYTHONUNBUFFERED="1",
        PICME_WORK_POOL="picme",
    )
    prefect, mlflow = tool("prefect"), tool("mlflow")
    env["PATH"] = f"{Path(prefect).parent}{os.pathsep}{env.get('PATH', '')}"

    # As in infra/docker-compose.yml: each server gets only its own database's password, as
    # a secret file that the images' entrypoint reads (infra/docker/entrypoint.py); Prefect
    # as separate settings, MLflow as a URL the entrypoint escapes. The worker and the CLI
    # get neither, nor the object store's keys: MLflow proxies the artifacts.
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in {
        "prefect_db_password": prefect_db.password,
        "mlflow_db_password": mlflow_db.password,
        "mlflow_s3_secret_key": s3_server.secret_key,
    }.items():
        (secrets / name).write_text(value + "\n")
    prefect_env = env | {
        "PREFECT_SERVER_DATABASE_DRIVER": "postgresql+asyncpg",
        "PREFECT_SERVER_DATABASE_HOST": prefect_db.host,
        "PREFECT_SERVER_DATABASE_PORT": str(prefect_db.port),
        "PREFECT_SERVER_DATABASE_USER": prefect_db.user,
        "PREFECT_SERVER_DATABASE_NAME": prefect_db.name,
        "PREFECT_SERVER_DATABASE_PASSWORD_FILE": str(secrets / "prefect_db_password"),
    }
    s3_env = s3_server.env()
    del s3_env["AWS_SECRET_ACCESS_KEY"]
    mlflow_env = (
        env
        | s3_env
        | {
            "MLFLOW_DB_HOST": mlflow_db.host,
            "MLFLOW_DB_PORT": str(mlflow_db.port),
            "MLFLOW_DB_USER": mlflow_db.user,
            "MLFLOW_DB_NAME": mlflow_db.name,
            "MLFLOW_DB_PASSWORD_FILE": str(secrets / "mlflow_db_password"),
            "AWS_SECRET_ACCESS_KEY_FILE": str(secrets / "mlflow_s3_secret_key"),
        }
    )
    server = processes.start(
        "prefect-server",
        [*ENTRYPOINT, prefect, "server", "start", "--host", "127.0.0.1",
         "--port", str(prefect_port)],
        prefect_env,
    )  # fmt: skip
    tracking = processes.start(
        "mlflow-server",
        [
            *ENTRYPOINT, mlflow, "server",
            "--artifacts-destination", f"s3://{bucket}/artifacts",
            "--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", "1",
        ],
        mlflow_env,
    )  # fmt: skip
    wait_healthy(f"{api}/health", processes, "prefect-server", server)
    wait_healthy(f"{mlflow_url}/health", processes, "mlflow-server", tracking)

    # The compose file's deploy job: pool, queues, Instagram limit, deployments.
    deployed = run_cli(["sh", str(ROOT / "infra" / "docker" / "deploy.sh")], env, timeout=300)
    assert "pipeline/pipeline" in deployed, deployed
    # No --work-queue: one worker serves the CPU and the GPU queues alike.
    worker = processes.start(
        "worker", [prefect, "worker", "start", "--pool", "picme", "--type", "process"], env
    )

    run_id = _run_pipeline(api, env, processes, worker)

    _check_registered_version(mlflow_url)
    assert (home / "lake" / "training" / "training.parquet").is_file()
    _check_databases(postgres, run_id, prefect_home)
    _check_rotation(postgres, passwords)
    _check_bucket(s3_server, bucket, mlflow_url)

    # Prefect REST API: the scheduled deployments carry their cron schedules, and the
    # deployments that train wait on the GPU queue.
    deployments = http_json("POST", f"{api}/deployments/filter", {"limit": 50})
    by_name = {d["name"]: d for d in deployments}
    assert {"scheduled-scrape", "scheduled-retrain", "pipeline", "curate"} <= set(by_name)
    (retrain,) = by_name["scheduled-retrain"]["schedules"]
    assert retrain["schedule"]["cron"] == "0 5 * * 1" and retrain["active"] is True
    (scrape,) = by_name["scheduled-scrape"]["schedules"]
    assert scrape["schedule"]["cron"] == "0 3 * * *" and scrape["active"] is False
    assert by_name["pipeline"]["schedules"] == []
    assert by_name["pipeline"]["work_pool_name"] == "picme"
    queues = {name: d["work_queue_name"] for name, d in by_name.items()}
    assert {queues[n] for n in ("train", "scheduled-retrain", "pipeline")} == {"gpu"}, queues
    assert {queues[n] for n in ("scheduled-scrape", "ingest", "features", "curate")} == {
        "default"
    }, queues


def _run_pipeline(
    api: str, env: dict[str, str], processes: Processes, worker: subprocess.Popen[bytes]
) -> str:
    """Triggers the pipeline deployment from the CLI and waits for it to end: its run id."""
    prefect = tool("prefect")
    train = json.dumps({"epochs": 1, "image_size": 32, "batch_size": 16, "seed": 0})
    out = run_cli(
        [
            prefect, "deployment", "run", "pipeline/pipeline",
            "-p", "accounts=4", "-p", "posts=12", "-p", "sample_image_size=64",
            "-p", f"train={train}", "-p", "demo_album=false",
        ],
        env,
    )  # fmt: skip
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    run_id = match.group(1)

    deadline = time.monotonic() + RUN_TIMEOUT_S
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = http_json("GET", f"{api}/flow_runs/{run_id}")["state"] or {}
        if state.get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
        if worker.poll() is not None:
            pytest.fail(f"the worker exited\n{processes.tail('worker')}")
        time.sleep(2)
    assert state.get("type") == "COMPLETED", (
        f"flow run {run_id}: {state.get('type')} {state.get('message')}\n"
        + processes.tail("worker", 120)
    )

    return run_id


def _check_databases(postgres: Postgres, run_id: str, prefect_home: Path) -> None:
    """The servers wrote to Postgres, as their own roles: the flow run is a row of
    Prefect's database, the model version one of MLflow's, and neither fell back to SQLite."""
    state = postgres.psql(f"SELECT state_type FROM flow_run WHERE id = '{run_id}'", "prefect")
    assert state.strip() == "COMPLETED", state
    subflows = postgres.psql(
        f"SELECT count(*) FROM flow_run WHERE parent_task_run_id IS NOT NULL "
        f"AND created >= (SELECT created FROM flow_run WHERE id = '{run_id}')",
        "prefect",
    )
    assert int(subflows) >= 3, "the pipeline's stage subflows are not in Prefect's database"
    owners = postgres.psql(
        "SELECT tableowner FROM pg_tables WHERE tablename IN ('flow_run', 'deployment')",
        "prefect",
    )
    assert set(owners.split()) == {"prefect"}, owners
    versions = postgres.psql(
        f"SELECT version, status FROM model_versions WHERE name = '{MODEL_NAME}'", "mlflow"
    )
    assert versions.split() == ["1|READY"], versions
    artifact_uri = postgres.psql(
        "SELECT artifact_uri FROM runs WHERE run_uuid = (SELECT run_id FROM model_versions "
        f"WHERE name = '{MODEL_NAME}' AND version = 1)",
        "mlflow",
    )
    assert artifact_uri.startswith("mlflow-artifacts:/"), artifact_uri
    roles = postgres.psql(
        "SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('prefect', 'mlflow') "
        "ORDER BY rolname",
        "postgres",
    )
    assert roles.split() == ["mlflow|f", "prefect|f"], roles
    assert not list(prefect_home.rglob("*.db")), "Prefect created a SQLite database"


def _check_rotation(postgres: Postgres, passwords: dict[str, str]) -> None:
    """The init script run again (docs/operations.md, rotating secrets) sets the new
    password and keeps the data; each role reaches its own database only."""
    import psycopg2

    def connects(user: str, password: str, database: str) -> bool:
        try:
            psycopg2.connect(
                host=postgres.host, port=postgres.port, user=user, password=password,
                dbname=database, connect_timeout=10,
            ).close()  # fmt: skip
        except psycopg2.OperationalError:
            return False
        return True

    assert connects("mlflow", passwords["mlflow"], "mlflow")
    assert not connects("mlflow", passwords["mlflow"], "prefect")
    init_databases(postgres, {**passwords, "mlflow": "rotated"})
    assert connects("mlflow", "rotated", "mlflow")
    assert not connects("mlflow", passwords["mlflow"], "mlflow")
    assert postgres.psql("SELECT count(*) FROM model_versions", "mlflow").strip() == "1"


def _check_bucket(s3: S3Server, bucket: str, mlflow_url: str) -> None:
    """The registered model's files are objects in the bucket, under the run's folder."""
    version = http_json(
        "GET", f"{mlflow_url}/api/2.0/mlflow/model-versions/get?name={MODEL_NAME}&version=1"
    )["model_version"]
    keys = s3.keys(bucket, "artifacts/")
    assert any(k.endswith("/MLmodel") for k in keys), keys[:20]
    run_keys = [k for k in keys if f"/{version['run_id']}/" in k]
    model_id = version.get("model_id") or ""
    assert run_keys or any(model_id and model_id in k for k in keys), (
        f"no object of run {version['run_id']} (model {model_id}) among {keys[:20]}"
    )


def _check_registered_version(mlflow_url: str) -> None:
    # MLflow REST API: the run registered version 1, with the champion gate's decision
    # recorded on it (a few tiny accounts rarely earn champion: then it is a challenger).
    model = http_json(
        "GET", f"{mlflow_url}/api/2.0/mlflow/registered-models/get?name={MODEL_NAME}"
    )["registered_model"]
    assert [v["version"] for v in model.get("latest_versions", [])] == ["1"]
    version = http_json(
        "GET", f"{mlflow_url}/api/2.0/mlflow/model-versions/get?name={MODEL_NAME}&version=1"
    )["model_version"]
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    assert version["status"] == "READY" and tags["picme.state"] == "complete"
    assert tags["picme.role"] in ("champion", "challenger") and tags["picme.reason"]
    assert "picme.gate.heuristic.n_pairs" in tags or "picme.gate.heuristic.failed" in tags
    if tags["picme.role"] == "champion":
        alias = http_json(
            "GET",
            f"{mlflow_url}/api/2.0/mlflow/registered-models/alias?name={MODEL_NAME}&alias=champion",
        )["model_version"]
        assert alias["version"] == "1"
