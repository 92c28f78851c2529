# Local stand-in for MinIO where neither its image nor its binary can be had offline: moto's
# S3 server (PyPI) on the locally made base. It stores objects in memory and does not
# enforce the per-bucket users of minio/init.sh; infra/compose.host.yml runs it in place
# of minio, and s3-init.py in place of minio-init (the buckets only).
ARG BASE_IMAGE=picme/debian-python:bookworm
FROM ${BASE_IMAGE}
ARG MOTO_VERSION=5.2.1
ARG BOTO3_VERSION=1.43.11
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
RUN pip install "moto[server]==${MOTO_VERSION}" "boto3==${BOTO3_VERSION}" \
 && useradd --uid 10003 --user-group --create-home --shell /usr/sbin/nologin s3
COPY --chmod=0755 s3-init.py /usr/local/bin/s3-init
USER 10003:10003
ENTRYPOINT ["moto_server"]
CMD ["-H", "127.0.0.1", "-p", "9000"]
