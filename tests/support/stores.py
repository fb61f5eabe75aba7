"""Fresh, migrated stores: a SQLite file, or a database of its own on a throwaway PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from switchboard.store import Store
from tests.support.processes import free_port


@contextmanager
def sqlite_store(directory: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{directory / 'switchboard.db'}", busy_timeout_s=2.0)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@contextmanager
def postgresql_store(server: str) -> Iterator[Store]:
    """A database created for the caller on the cluster at `server`, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    store = Store.from_url(f"{server}/{name}")
    try:
        store.migrate()
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def postgresql_bin_dir() -> Path | None:
    """Where Debian's PostgreSQL server programs are (the newest version), if installed."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(initdbs[-1]).parent if initdbs else None


@contextmanager
def throwaway_postgresql(bin_dir: Path) -> Iterator[str]:
    """A PostgreSQL cluster in a temp dir on a free port; its server URL."""
    root = Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
    # initdb refuses to run as root: the cluster belongs to the `postgres` user then.
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run([*as_owner, *initdb, "--no-sync"], check=True, capture_output=True)
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    pg_ctl = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-w"]
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(root / "log"), "start"], check=True, capture_output=True
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
