"""deploy/postgres-init.sh, run as the postgres image runs it (psql as the superuser) on the
tests' throwaway cluster of Debian's PostgreSQL: the application's role migrates and uses its own
database and can neither read nor drop Temporal's, nor make databases or roles."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from runtime.benchmark.postgres import postgresql_bin_dir
from switchboard.store import Store

SCRIPT = Path(__file__).parents[2] / "deploy" / "postgres-init.sh"
# Needs Debian's PostgreSQL, as the store's PostgreSQL runs do (`make test-fast` skips them).
pytestmark = pytest.mark.postgresql


@pytest.fixture(scope="module")
def server(postgres: str) -> str:
    """The session's cluster, initialized by the script as the image would: its roles and
    databases are named as in compose, which no other test's (`t_<uuid>`) are."""
    address = urlsplit(postgres)
    env = {
        "PATH": f"{postgresql_bin_dir()}:{os.environ['PATH']}",
        "PGHOST": str(address.hostname),
        "PGPORT": str(address.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        "SWITCHBOARD_DB_PASSWORD": "app-password",
        "TEMPORAL_DB_PASSWORD": "temporal-password",
    }
    ran = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return f"postgresql+psycopg://{{role}}@{address.hostname}:{address.port}/{{db}}"


def run(server: str, role: str, db: str, sql: str) -> object:
    engine = create_engine(server.format(role=role, db=db), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def test_the_application_role_migrates_and_uses_its_own_database(server: str) -> None:
    store = Store.from_url(server.format(role="switchboard", db="switchboard"))
    try:
        store.migrate()
        assert store.get_interaction("00000000-0000-0000-0000-000000000000") is None
    finally:
        store.close()
    assert run(server, "switchboard", "switchboard", "SELECT count(*) FROM interactions") == 0
    assert (
        run(
            server,
            "switchboard",
            "switchboard",
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        is False
    )


@pytest.mark.parametrize(
    ("role", "db", "sql"),
    [
        # Temporal's databases: not even a connection.
        ("switchboard", "temporal", "SELECT 1"),
        ("switchboard", "temporal_visibility", "SELECT 1"),
        ("switchboard", "switchboard", "DROP DATABASE temporal"),
        ("switchboard", "switchboard", "CREATE DATABASE mine"),
        ("switchboard", "switchboard", "CREATE ROLE intruder SUPERUSER"),
        ("switchboard", "switchboard", "ALTER ROLE switchboard SUPERUSER"),
        # And Temporal's role cannot reach the store.
        ("temporal", "switchboard", "SELECT 1"),
        ("temporal", "temporal", "DROP DATABASE switchboard"),
    ],
)
def test_each_role_is_refused_what_is_not_its_own(
    server: str, role: str, db: str, sql: str
) -> None:
    with pytest.raises((OperationalError, ProgrammingError), match=r"permission denied|must be"):
        run(server, role, db, sql)


def test_temporals_role_builds_its_schema_in_its_own_databases(server: str) -> None:
    for db in ("temporal", "temporal_visibility"):
        run(server, "temporal", db, "CREATE TABLE schema_version (version text)")
        assert run(server, "temporal", db, "SELECT count(*) FROM schema_version") == 0
