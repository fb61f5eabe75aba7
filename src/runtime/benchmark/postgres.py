"""A throwaway PostgreSQL cluster for `switchboard bench --store postgresql` (Debian's server
programs, a temp dir, a free port, fsync off as a benchmark on a shared machine wants)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from runtime.benchmark.stack import free_port


def postgresql_bin_dir() -> Path | None:
    """Where Debian's PostgreSQL server programs are (the newest version), if installed."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(initdbs[-1]).parent if initdbs else None


@contextmanager
def throwaway_cluster(bin_dir: Path) -> Iterator[str]:
    """A PostgreSQL cluster in a temp dir on a free port; its server URL. The tests' too."""
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


@contextmanager
def throwaway_postgresql(databases: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """A cluster with `databases` created; the SQLAlchemy URL of each, by name."""
    bin_dir = postgresql_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server programs are not installed (postgresql-NN)")
    with throwaway_cluster(bin_dir) as server:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in databases:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        yield {name: f"{server}/{name}" for name in databases}
