# Local stand-in for postgres:15.10-bookworm where no registry is reachable: Debian's
# PostgreSQL 15 on the locally made base (make-base-image.sh), with an entrypoint that does
# what the official image's does for this stack (initdb with POSTGRES_PASSWORD_FILE, then
# /docker-entrypoint-initdb.d/*.sh once, on an empty data folder). Used by
# infra/compose.host.yml only; production runs the official image.
ARG BASE_IMAGE=picme/debian-python:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 0700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
