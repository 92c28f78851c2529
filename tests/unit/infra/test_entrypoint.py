"""infra/docker/entrypoint.py, the images' entrypoint: Docker secrets into the environment
of the command it runs, and MLflow's database URL composed with the password escaped."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.servicefixtures import AWKWARD
from tests.unit.infra.compose import INFRA

SCRIPT = INFRA / "docker" / "entrypoint.py"


def entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("picme_entrypoint", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_secret_files_become_variables_and_other_file_variables_stay(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(AWKWARD + "\n")
    env = entrypoint().prepare(
        {
            "PREFECT_SERVER_DATABASE_PASSWORD_FILE": str(tmp_path / "pw"),
            "AWS_SECRET_ACCESS_KEY_FILE": str(tmp_path / "pw"),
            "TF_CLI_CONFIG_FILE": "/nonexistent",  # a path for its program: untouched
            "API_TOKEN": "given",
            "API_TOKEN_FILE": "/nonexistent",  # the explicit value wins, file not read
        }
    )
    assert env["PREFECT_SERVER_DATABASE_PASSWORD"] == AWKWARD
    assert env["AWS_SECRET_ACCESS_KEY"] == AWKWARD
    assert "TF_CLI_CONFIG" not in env and env["API_TOKEN"] == "given"
    assert "MLFLOW_BACKEND_STORE_URI" not in env


def test_unreadable_secret_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SystemExit, match=r"MLFLOW_DB_PASSWORD_FILE=.*nope cannot be read"):
        entrypoint().prepare({"MLFLOW_DB_PASSWORD_FILE": str(missing)})


def test_mlflow_store_uri_escapes_the_password(tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    (tmp_path / "pw").write_text(AWKWARD)
    env = entrypoint().prepare(
        {
            "MLFLOW_DB_HOST": "postgres",
            "MLFLOW_DB_NAME": "mlflow",
            "MLFLOW_DB_USER": "mlflow",
            "MLFLOW_DB_PASSWORD_FILE": str(tmp_path / "pw"),
        }
    )
    url = make_url(env["MLFLOW_BACKEND_STORE_URI"])
    assert (url.drivername, url.username, url.password) == (
        "postgresql+psycopg2",
        "mlflow",
        AWKWARD,
    )
    assert (url.host, url.port, url.database) == ("postgres", 5432, "mlflow")
    given = entrypoint().prepare({"MLFLOW_DB_HOST": "h", "MLFLOW_DB_NAME": "n",
                                  "MLFLOW_BACKEND_STORE_URI": "sqlite:///x.db"})  # fmt: skip
    assert given["MLFLOW_BACKEND_STORE_URI"] == "sqlite:///x.db"


def test_runs_the_command_with_the_secrets_and_its_exit_status(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    show = "import os, sys; print(os.environ['DB_PASSWORD']); sys.exit(3)"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), sys.executable, "-c", show],
        env={"DB_PASSWORD_FILE": str(tmp_path / "pw"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (3, "s3cret\n"), proc.stderr
