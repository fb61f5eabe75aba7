#!/bin/sh
# Runs once, when PostgreSQL initializes its data volume: Temporal gets a database user of its
# own, so the application's user cannot touch Temporal's databases, nor Temporal's the store.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
REVOKE ALL ON DATABASE switchboard FROM PUBLIC;
SQL
