#!/bin/sh
# The part of the official postgres image's entrypoint this stack relies on: a new data
# folder is initialised with the superuser's password read from POSTGRES_PASSWORD_FILE
# (never an argument), the init scripts run once against a server that listens on a
# private socket only, then the server runs in the foreground with the given arguments.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
if [ "${1:-postgres}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" --username="${POSTGRES_USER:-postgres}" \
    --pwfile="${POSTGRES_PASSWORD_FILE:?set POSTGRES_PASSWORD_FILE}" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  sock=$(mktemp -d)
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sock" start >/dev/null
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [ -e "$script" ] || continue
    echo "entrypoint: running $script"
    PGHOST=$sock sh "$script"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rmdir "$sock"
fi
if [ "${1:-postgres}" = postgres ]; then
  shift || true
  exec postgres -D "$PGDATA" "$@"
fi
exec "$@"
