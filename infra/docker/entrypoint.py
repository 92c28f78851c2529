#!/usr/bin/env python3
"""Entrypoint of PicMe's images: reads Docker secrets into this process's environment, then
runs the command (``exec``, so signals reach it and nothing stays behind).

- Every ``NAME_FILE=/run/secrets/x`` whose NAME says it is a secret (PASSWORD, SECRET,
  TOKEN) becomes ``NAME=<x's content, trailing newline dropped>``:
  PREFECT_SERVER_DATABASE_PASSWORD_FILE, AWS_SECRET_ACCESS_KEY_FILE, ... Other ``*_FILE``
  variables are paths that programs read themselves, and are left alone. The values never
  appear in the compose file, a command line or ``docker inspect``.
- With MLFLOW_DB_HOST and MLFLOW_DB_NAME set, MLFLOW_BACKEND_STORE_URI is composed from
  MLFLOW_DB_USER, MLFLOW_DB_PASSWORD (escaped: any character may appear in a password),
  MLFLOW_DB_HOST, MLFLOW_DB_PORT (5432) and MLFLOW_DB_NAME, for ``mlflow server`` to read.

Standard library only: it runs in the MLflow image too.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import quote

SUFFIX = "_FILE"
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN")


def load_secrets(env: dict[str, str]) -> dict[str, str]:
    """``env`` with every ``NAME_FILE`` read into ``NAME`` (an explicit NAME wins)."""
    out = dict(env)
    for key, path in env.items():
        name = key[: -len(SUFFIX)]
        if not key.endswith(SUFFIX) or not SECRET.search(name) or name in env:
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                out[name] = fh.read().rstrip("\r\n")
        except OSError as exc:
            raise SystemExit(f"entrypoint: {key}={path} cannot be read ({exc.strerror})") from None
    return out


def mlflow_store_uri(env: dict[str, str]) -> str | None:
    """The MLflow backend store URL from its parts, or None when they are not given."""
    host, name = env.get("MLFLOW_DB_HOST"), env.get("MLFLOW_DB_NAME")
    if not host or not name:
        return None
    user = quote(env.get("MLFLOW_DB_USER", "mlflow"), safe="")
    password = env.get("MLFLOW_DB_PASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    port = env.get("MLFLOW_DB_PORT", "5432")
    # psycopg2 named: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3.
    return f"postgresql+psycopg2://{auth}@{host}:{port}/{quote(name, safe='')}"


def prepare(env: dict[str, str]) -> dict[str, str]:
    env = load_secrets(env)
    uri = mlflow_store_uri(env)
    if uri and "MLFLOW_BACKEND_STORE_URI" not in env:
        env["MLFLOW_BACKEND_STORE_URI"] = uri
    return env


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("entrypoint: no command given")
    os.execvpe(argv[0], argv, prepare(dict(os.environ)))


if __name__ == "__main__":
    main(sys.argv[1:])
