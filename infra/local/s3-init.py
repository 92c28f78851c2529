#!/usr/bin/env python3
"""minio-init's stand-in beside moto's server: creates MLFLOW_BUCKET and LAKE_BUCKET at
AWS_ENDPOINT_URL (idempotent). moto keeps no users or policies, so the per-client keys of
minio/init.sh are not made here; the admin's password is read from its secret file."""

import os
from pathlib import Path

import boto3

secrets = Path(os.environ.get("SECRETS_DIR", "/run/secrets"))
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    region_name="us-east-1",
    aws_access_key_id=os.environ["MINIO_ROOT_USER"],
    aws_secret_access_key=(secrets / "minio_root_password").read_text().strip(),
)
have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
for bucket in (os.environ["MLFLOW_BUCKET"], os.environ["LAKE_BUCKET"]):
    if bucket not in have:
        s3.create_bucket(Bucket=bucket)
print("buckets", os.environ["MLFLOW_BUCKET"], "and", os.environ["LAKE_BUCKET"], "ready")
