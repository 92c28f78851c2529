#!/bin/sh
# Prefect's and MLflow's databases, each owned by a login role of its own (no superuser,
# no CREATEDB): they must not share one, as both keep an alembic_version table. The image
# runs this once, on an empty data volume; run it again to apply rotated passwords
# (docs/operations.md): roles and databases that exist are kept, passwords are set anew.
# psql reads each password from its secret file itself (\set with backquotes), so no
# password is ever an argument of a command.
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
for name in prefect_db_password mlflow_db_password; do
  [ -r "$secrets/$name" ] || { echo "init-databases: $secrets/$name is missing" >&2; exit 1; }
done
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" \
  --dbname postgres -v secrets="$secrets" \
  -v prefect_db="${PREFECT_DB:-prefect}" -v prefect_user="${PREFECT_DB_USER:-prefect}" \
  -v mlflow_db="${MLFLOW_DB:-mlflow}" -v mlflow_user="${MLFLOW_DB_USER:-mlflow}" <<'SQL'
\set prefect_pw `cat :'secrets'/prefect_db_password`
\set mlflow_pw `cat :'secrets'/mlflow_db_password`

SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'prefect_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'prefect_user') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'mlflow_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'mlflow_user') \gexec
ALTER ROLE :"prefect_user" PASSWORD :'prefect_pw';
ALTER ROLE :"mlflow_user" PASSWORD :'mlflow_pw';

SELECT format('CREATE DATABASE %I OWNER %I', :'prefect_db', :'prefect_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'prefect_db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'mlflow_db', :'mlflow_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'mlflow_db') \gexec
REVOKE ALL ON DATABASE :"prefect_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"mlflow_db" FROM PUBLIC;
SQL
echo "init-databases: roles ${PREFECT_DB_USER:-prefect} and ${MLFLOW_DB_USER:-mlflow} own ${PREFECT_DB:-prefect} and ${MLFLOW_DB:-mlflow}"
