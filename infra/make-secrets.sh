#!/bin/sh
# Creates infra/secrets/ with a random value per secret the stack reads (Docker secrets,
# mounted at /run/secrets/NAME in the services that need each one). Keeps the files that
# exist: delete one and run this again to rotate it (docs/operations.md). The folder is
# git-ignored and closed to other users of the host (0700); its files are 0644 so that the
# containers' non-root users can read them through the bind mount.
set -eu
dir=$(dirname "$0")/secrets
mkdir -p "$dir"
chmod 0700 "$dir"
for name in postgres_password prefect_db_password mlflow_db_password \
            minio_root_password mlflow_s3_secret_key lake_s3_secret_key; do
  if [ ! -s "$dir/$name" ]; then
    # Hex: valid in any URL, shell and config file the value may have to travel through.
    od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$dir/$name"
    echo "created $dir/$name"
  fi
  chmod 0644 "$dir/$name"
done
