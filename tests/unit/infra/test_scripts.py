"""infra/make-secrets.sh and infra/minio/init.sh run for real, the latter against a stand-in
for MinIO's `mc` that records what it is asked (no MinIO here): each client's user gets a
policy on its own bucket only, and no secret is ever an argument of mc's admin login."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.unit.infra.compose import INFRA

FAKE_MC = """#!/bin/sh
# Records each call; keeps the policy documents it is given.
printf '%s\\n' "$*" >> "$MC_LOG"
printf '%s\\n' "$MC_HOST_picme" > "$MC_LOG.host"
if [ "$1 $2 $3" = "admin policy create" ]; then cp "$6" "$MC_LOG.$5.json"; fi
"""


def test_make_secrets_creates_each_once_readable_through_a_closed_folder(tmp_path: Path) -> None:
    shutil.copy(INFRA / "make-secrets.sh", tmp_path)
    run = ["sh", str(tmp_path / "make-secrets.sh")]
    subprocess.run(run, check=True, capture_output=True, timeout=30)
    secrets = tmp_path / "secrets"
    first = {p.name: p.read_text() for p in secrets.iterdir()}
    assert len(first) == 6 and all(len(v) == 48 and v.isalnum() for v in first.values())
    assert len(set(first.values())) == 6
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    (secrets / "mlflow_db_password").unlink()  # rotate one
    subprocess.run(run, check=True, capture_output=True, timeout=30)
    again = {p.name: p.read_text() for p in secrets.iterdir()}
    assert again["mlflow_db_password"] != first["mlflow_db_password"]
    assert {k: v for k, v in again.items() if k != "mlflow_db_password"} == {
        k: v for k, v in first.items() if k != "mlflow_db_password"
    }


def test_minio_init_gives_each_client_its_own_bucket(tmp_path: Path) -> None:
    bin_dir, secrets = tmp_path / "bin", tmp_path / "secrets"
    bin_dir.mkdir()
    secrets.mkdir()
    (bin_dir / "mc").write_text(FAKE_MC)
    (bin_dir / "mc").chmod(0o755)
    for name, value in {
        "minio_root_password": "rootpw",
        "mlflow_s3_secret_key": "mlflowkey",
        "lake_s3_secret_key": "lakekey",
    }.items():
        (secrets / name).write_text(value + "\n")
    log = tmp_path / "mc.log"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SECRETS_DIR": str(secrets),
        "MC_LOG": str(log),
        "MINIO_ROOT_USER": "admin",
        "MLFLOW_BUCKET": "b-mlflow",
        "MLFLOW_S3_ACCESS_KEY": "u-mlflow",
        "LAKE_BUCKET": "b-lake",
        "LAKE_S3_ACCESS_KEY": "u-lake",
    }
    proc = subprocess.run(
        ["sh", str(INFRA / "minio" / "init.sh")], env=env, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert "mb --ignore-existing picme/b-mlflow" in calls
    assert "admin user add picme u-mlflow mlflowkey" in calls
    assert "admin policy attach picme picme-mlflow --user u-mlflow" in calls
    assert "admin policy attach picme picme-lake --user u-lake" in calls
    assert not any("rootpw" in c for c in calls), "the admin password on a command line"
    assert (tmp_path / "mc.log.host").read_text().strip() == "http://admin:rootpw@minio:9000"
    for policy, bucket in (("picme-mlflow", "b-mlflow"), ("picme-lake", "b-lake")):
        doc = json.loads((tmp_path / f"mc.log.{policy}.json").read_text())
        resources = {r for s in doc["Statement"] for r in s["Resource"]}
        assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
        actions = {a for s in doc["Statement"] for a in s["Action"]}
        assert all(a.startswith("s3:") and "*" not in a for a in actions)
        assert not any(a.startswith(("s3:PutBucket", "s3:DeleteBucket")) for a in actions)
