"""Real PostgreSQL and S3-compatible servers for integration tests, on loopback only.

:class:`Postgres` runs a throwaway cluster from Debian's binaries (``initdb``/``pg_ctl`` in
``/usr/lib/postgresql/<version>/bin``) in a temporary folder, owned by the ``postgres`` user
when the tests run as root (PostgreSQL refuses to run as root), listening on 127.0.0.1 and a
free port with its unix socket inside that folder. Applications get their own database and
their own login role with a password, never the superuser, which only this module uses
(over the socket) to create them and to look inside.

:class:`S3Server` is moto's S3 API in a thread of the test process, for MLflow's artifact
store and anything else that speaks S3.

Both are stopped and removed at the end, pass or fail (the fixtures below use them as
context managers). A machine without PostgreSQL skips the tests that need it, except in CI
(``tests.services.need``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.services import free_port, need

# A password with the characters that break a URL pasted together by hand: every client
# must be given it escaped (or as a separate setting), which is what the tests check.
AWKWARD = "p@ss:w/rd%#?&'"


def postgres_bindir() -> Path:
    """Debian's newest PostgreSQL binaries (not on PATH there); skips or fails without."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(need("initdb", found[-1] if found else None)).parent


@dataclass(frozen=True)
class Database:
    """One application's database: its name, login role and password on the cluster."""

    name: str
    user: str
    password: str
    host: str
    port: int

    def url(self, scheme: str = "postgresql") -> str:
        """A SQLAlchemy URL with the user and password escaped."""
        user, password = quote(self.user, safe=""), quote(self.password, safe="")
        return f"{scheme}://{user}:{password}@{self.host}:{self.port}/{self.name}"


class Postgres:
    """A PostgreSQL cluster in a temporary folder, on 127.0.0.1 and a free port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.host = "127.0.0.1"
        # Not under pytest's tmp_path: that is root's and closed to the postgres user.
        self.root = Path(tempfile.mkdtemp(prefix="picme-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log = self.root / "postgres.log"
        self.started = False

    def _as_owner(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    def _run(self, args: list[str], stdin: str | None = None, timeout: float = 90) -> str:
        proc = subprocess.run(
            self._as_owner(args),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}\n"
                + self.tail()
            )
        return proc.stdout

    def tail(self, n: int = 40) -> str:
        if not self.log.exists():
            return ""
        lines = self.log.read_text(errors="replace").splitlines()
        return "--- postgres.log ---\n" + "\n".join(lines[-n:])

    def start(self) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        # Local (socket) connections: the superuser, trusted; TCP: passwords only.
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--no-sync",
                "--auth-local=trust", "--auth-host=scram-sha-256",
            ]
        )  # fmt: skip
        # A test cluster: durability off, so migrations do not wait on fsync.
        options = (
            f"-h {self.host} -p {self.port} -k {self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.started = True
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                "start",
            ]
        )  # fmt: skip

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                     "stop"],
                    timeout=30,
                )  # fmt: skip
            # Whatever is left (a hung postmaster) goes with its pid file's process.
            pid_file = self.data / "postmaster.pid"
            if pid_file.exists():
                with contextlib.suppress(ValueError, ProcessLookupError, IndexError):
                    os.kill(int(pid_file.read_text().split()[0]), 9)
        shutil.rmtree(self.root, ignore_errors=True)

    def run_script(self, script: Path, env: dict[str, str]) -> str:
        """Runs a shell script as the cluster's owner, with ``env`` plus what psql needs
        to reach the cluster as the superuser (as the postgres image's init scripts run)."""
        base = {
            "PGHOST": str(self.socket_dir),
            "PGPORT": str(self.port),
            "PATH": f"{self.bindir}:/usr/bin:/bin",
            "POSTGRES_USER": "postgres",
        }
        assignments = [f"{k}={v}" for k, v in (base | env).items()]
        return self._run(["env", "-i", *assignments, "sh", str(script)])

    def secrets_dir(self) -> Path:
        """A folder for secret files that the cluster's owner can read."""
        path = self.root / "secrets"
        path.mkdir(exist_ok=True)
        return path

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Runs ``sql`` as the superuser over the socket; rows as ``a|b`` lines."""
        return self._run(
            [
                str(self.bindir / "psql"),
                "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t",
            ],
            stdin=sql,
        )  # fmt: skip

    def create_database(self, name: str, user: str, password: str) -> Database:
        """A login role (no superuser, no CREATEDB) owning a new database of its own."""
        literal = password.replace("'", "''")
        self.psql(
            f'CREATE ROLE "{user}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
            f"PASSWORD '{literal}';\n"
            f'CREATE DATABASE "{name}" OWNER "{user}";\n'
            f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC;\n'
        )
        return Database(name, user, password, self.host, self.port)

    def __enter__(self) -> Postgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class S3Server:
    """moto's S3-compatible server on 127.0.0.1, in a thread of this process."""

    # moto accepts any key; these are what clients are given.
    access_key = "picme-test-key"
    secret_key = "picme-test-secret"
    region = "us-east-1"

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = None

    def __enter__(self) -> S3Server:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    def env(self) -> dict[str, str]:
        """What a client (boto3, MLflow, pyarrow, s3fs) needs to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (all pages)."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def new_password() -> str:
    return AWKWARD + secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    bindir = postgres_bindir()
    with Postgres(bindir) as pg:
        yield pg


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as s3:
        yield s3


INIT_DATABASES = Path(__file__).resolve().parents[1] / "infra" / "postgres" / "init-databases.sh"


def init_databases(pg: Postgres, passwords: dict[str, str]) -> dict[str, Database]:
    """Prefect's and MLflow's roles and databases made by the compose stack's own init
    script (infra/postgres/init-databases.sh), from secret files holding ``passwords``
    (keys ``prefect`` and ``mlflow``); run again, it applies changed passwords."""
    secrets = pg.secrets_dir()
    for user, password in passwords.items():
        (secrets / f"{user}_db_password").write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(secrets / f"{user}_db_password", "postgres", "postgres")
    if os.geteuid() == 0:
        shutil.chown(secrets, "postgres", "postgres")
    names = {"PREFECT_DB": "prefect", "PREFECT_DB_USER": "prefect"}
    names |= {"MLFLOW_DB": "mlflow", "MLFLOW_DB_USER": "mlflow"}
    pg.run_script(INIT_DATABASES, {"SECRETS_DIR": str(secrets), **names})
    return {
        user: Database(user, user, passwords[user], pg.host, pg.port)
        for user in ("prefect", "mlflow")
    }
