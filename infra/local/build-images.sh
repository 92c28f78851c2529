#!/bin/sh
# Builds the images infra/compose.host.yml runs, with `docker build` and BuildKit, on the
# host network (no bridge), from PYTHON_IMAGE (default: the Debian base made by
# make-base-image.sh). For hosts whose docker CLI has no buildx plugin, where
# `docker compose build` falls back to the classic builder, which lacks `RUN --mount` and
# `COPY --chmod`. DOCKER names a CLI whose `build` speaks BuildKit (Debian's docker.io
# 20.10 does by itself: DOCKER=/usr/bin/docker). The torch source comes from TORCH_WHEELS
# (a folder of the checkout, default infra/wheels) or TORCH_INDEX_URL, as in the compose file.
#
#   infra/local/build-images.sh            # run from anywhere; builds the four images
set -eu
cd "$(dirname "$0")/../.."
docker=${DOCKER:-docker}
base=${PYTHON_IMAGE:-picme/debian-python:bookworm}
build() {
  DOCKER_BUILDKIT=1 "$docker" build --network host --build-arg "PYTHON_IMAGE=$base" \
    --build-arg "BASE_IMAGE=$base" "$@"
}
build -f infra/local/postgres.Dockerfile -t picme-postgres-local:15 infra/local
build -f infra/local/s3.Dockerfile -t picme-s3-local:moto-5.2.1 infra/local
build -f infra/mlflow/Dockerfile -t picme-mlflow:3.17.2 .
build -f infra/Dockerfile -t "${PICME_IMAGE:-picme:0.1.0}" \
  --build-arg "TORCH_VERSION=${TORCH_VERSION:-2.13.0}" \
  --build-arg "TORCH_INDEX_URL=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" \
  --build-arg "TORCH_WHEELS=${TORCH_WHEELS:-infra/wheels}" .
echo "built picme-postgres-local:15 picme-s3-local:moto-5.2.1 picme-mlflow:3.17.2 ${PICME_IMAGE:-picme:0.1.0} on $base"
