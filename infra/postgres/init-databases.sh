#!/bin/sh
# Runs once, on an empty data volume: POSTGRES_DB (Prefect's) exists; add MLflow's own.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE DATABASE "$MLFLOW_DB";
SQL
