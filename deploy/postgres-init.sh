#!/bin/sh
# Runs once, as the superuser, when PostgreSQL initializes its data volume. Least privilege:
# the application's role and Temporal's are neither superusers nor able to create databases
# or roles; each owns its own databases only, and no other role may even connect to them.
# The superuser's password stays in the postgresql container.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v switchboard_password="$SWITCHBOARD_DB_PASSWORD" \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE switchboard LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'switchboard_password';
CREATE ROLE temporal LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'temporal_password';
CREATE DATABASE switchboard OWNER switchboard;
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
REVOKE ALL ON DATABASE switchboard, temporal, temporal_visibility FROM PUBLIC;
SQL
