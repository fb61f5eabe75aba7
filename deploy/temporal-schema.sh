#!/bin/sh
# Brings the schemas of Temporal's two databases up to the version of the admin-tools image (an
# upgrade of the images upgrades the schemas). The databases themselves are made, owned by the
# `temporal` role, by deploy/postgres-init.sh (the role may not create databases), so `create`
# only reports them. It runs on every `docker compose up`: each step is a no-op once done.
set -eu
schemas=/etc/temporal/schema/postgresql/v12
sql() {
    db=$1
    shift
    # The password comes from SQL_PASSWORD in the environment, not the command line.
    temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u "$POSTGRES_USER" --db "$db" "$@"
}
for db in temporal temporal_visibility; do
    sql "$db" create || echo "database $db exists"
done
sql temporal setup-schema -v 0.0
sql temporal update-schema -d "$schemas/temporal/versioned"
sql temporal_visibility setup-schema -v 0.0
sql temporal_visibility update-schema -d "$schemas/visibility/versioned"
