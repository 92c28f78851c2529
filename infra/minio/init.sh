#!/bin/sh
# One-shot, as MinIO's admin: the buckets, and one user per client with a policy on its own
# bucket only (MLflow: the artifact bucket; the workers: the lake bucket). Idempotent: run
# it again after rotating a secret (docs/operations.md). The admin's credentials reach mc
# through MC_HOST_picme in this process's environment, never a compose command line.
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
root_password=$(cat "$secrets/minio_root_password")
export MC_HOST_picme="http://${MINIO_ROOT_USER}:${root_password}@${MINIO_HOST:-minio:9000}"
unset root_password

# NAME BUCKET: read and write the bucket's objects, list the bucket; nothing else.
bucket_policy() {
  cat > "/tmp/$1.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket",
      "s3:ListBucketMultipartUploads"], "Resource": ["arn:aws:s3:::$2"]},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
      "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$2/*"]}
  ]
}
JSON
  mc admin policy create picme "$1" "/tmp/$1.json"
}

# ACCESS_KEY SECRET_FILE POLICY. The new user's key is an argument of mc here, inside this
# one-shot container only (never in the compose file or `docker inspect`).
bucket_user() {
  mc admin user add picme "$1" "$(cat "$secrets/$2")"
  mc admin policy detach picme "$3" --user "$1" >/dev/null 2>&1 || true
  mc admin policy attach picme "$3" --user "$1"
}

mc mb --ignore-existing "picme/${MLFLOW_BUCKET}"
mc mb --ignore-existing "picme/${LAKE_BUCKET}"
bucket_policy picme-mlflow "${MLFLOW_BUCKET}"
bucket_policy picme-lake "${LAKE_BUCKET}"
bucket_user "${MLFLOW_S3_ACCESS_KEY}" mlflow_s3_secret_key picme-mlflow
bucket_user "${LAKE_S3_ACCESS_KEY}" lake_s3_secret_key picme-lake
echo "buckets ${MLFLOW_BUCKET} and ${LAKE_BUCKET} ready; users ${MLFLOW_S3_ACCESS_KEY}, ${LAKE_S3_ACCESS_KEY}"
