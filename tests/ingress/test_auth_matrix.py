"""Every API route against every kind of caller, generated from the app's routes and the
permission table: a route added without a permission, with the wrong one, or without a request
builder in tests/support/access_requests.py fails here. Allowed callers must get a 2xx, so each
builder points at real rows (tests/support/access_world.py) with a valid body; the routes that
destroy their target get a fresh one per call."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from temporalio.testing import WorkflowEnvironment

from activities.reply import Senders
from ingress import create_app
from ingress.auth import Permission, Role, allows, permission_of
from runtime.worker import build_worker
from switchboard.settings import WorkerSettings
from switchboard.store import ApiKeys, Store
from tests.support.access_requests import BUILDERS
from tests.support.access_world import OUR_NUMBER, PARSE, World, build_world
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.keys import KEYRING
from tests.support.oidc_issuer import AUDIENCE, Issuer, serve_issuer
from tests.support.provider_double import provider_double
from tests.support.settings import API_KEY, ingress_settings, timeless_rules

# The routes outside the table: providers sign their webhooks; health is open to probes.
OPEN_PREFIXES = ("/webhooks/", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi")
TASK_QUEUE = f"matrix-{uuid.uuid4()}"
REQUESTS = "tests/support/access_requests.py"


def api_routes() -> list[tuple[str, str, Permission | None]]:
    app = create_app(ingress_settings("matrix"), KEYRING)
    found = []
    # FastAPI keeps included routers as such; their routes are reached through contexts.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or route.path.startswith(OPEN_PREFIXES):
            continue
        for method in sorted(route.methods or ()):
            # A CORS preflight carries no credentials by the browsers' rules (the codec's).
            if method != "OPTIONS":
                found.append((method, route.path, permission_of(route)))
    return found


ROUTES = api_routes()


def test_every_route_outside_the_open_ones_declares_a_permission() -> None:
    assert ROUTES, "no API routes found"
    undeclared = [f"{method} {path}" for method, path, permission in ROUTES if permission is None]
    assert undeclared == []


def test_every_route_has_a_request_builder_and_every_builder_a_route() -> None:
    routes = {(method, path) for method, path, _ in ROUTES}
    missing = sorted(f"{m} {p}" for m, p in routes - BUILDERS.keys())
    assert missing == [], (
        f"add a request builder (@builds) to tests/support/access_requests.py for {missing}"
    )
    assert sorted(f"{m} {p}" for m, p in BUILDERS.keys() - routes) == []


# --- one app, one worker, one set of rows for the whole module -------------------------------


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with serve_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def matrix_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("matrix") / "switchboard.db"
    store = Store.from_url(f"sqlite:///{path}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture(scope="module")
def role_keys(matrix_store: Store) -> dict[Role, str]:
    keys = ApiKeys(matrix_store.engine)
    return {role: keys.create(f"matrix-{role}", role) for role in Role}


@pytest.fixture(scope="module")
async def matrix_worker(
    temporal_env: WorkflowEnvironment, matrix_store: Store
) -> AsyncIterator[None]:
    """The real pipeline; replies go to a provider double, as in tests/ingress/test_replies.py."""
    with provider_double() as double, ThreadPoolExecutor(8) as executor:
        senders = Senders.from_settings(
            WorkerSettings(  # type: ignore[call-arg]
                _env_file=None,
                public_url=FIXTURE_PUBLIC_URL,
                twilio_account_sid="AC" + uuid.uuid4().hex,
                twilio_auth_token=FIXTURE_TOKEN,
                twilio_from_number=OUR_NUMBER,
                twilio_api_base_url=double.url,
            )
        )
        async with build_worker(
            temporal_env.client,
            matrix_store,
            TASK_QUEUE,
            executor,
            8,
            senders=senders,
            rules=timeless_rules(),
        ):
            yield


@pytest.fixture(scope="module")
async def matrix_http(
    issuer: Issuer,
    matrix_store: Store,
    temporal_env: WorkflowEnvironment,
    matrix_worker: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ingress_settings(
        TASK_QUEUE,
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
        data_dir=tmp_path_factory.mktemp("matrix-data"),
        # A recording whose call never comes is orphaned (a failure to retry) in half a second.
        orphan_callback_wait_s=0.5,
        subscriptions_allow_private=True,
        sendgrid_inbound_user=PARSE[0],
        sendgrid_inbound_password=PARSE[1],
    )
    app = create_app(settings, KEYRING, temporal=temporal_env.client, store=matrix_store)
    async with app.router.lifespan_context(app):
        # A caller from outside: no loopback exception may stand in for a permission.
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture(scope="module")
async def world(
    matrix_http: httpx.AsyncClient, temporal_env: WorkflowEnvironment, matrix_store: Store
) -> World:
    return await build_world(matrix_http, temporal_env.client, matrix_store)


Caller = tuple[str, str | None, Role | None]


def callers(role_keys: dict[Role, str], issuer: Issuer) -> list[Caller]:
    """(label, bearer credential, role it acts as); role None → must be 401."""
    cases: list[Caller] = [
        ("no credentials", None, None),
        ("unknown key", "sbk_" + uuid.uuid4().hex, None),
        ("bootstrap key", API_KEY, Role.ADMIN),
    ]
    for role in Role:
        cases.append((f"{role} key", role_keys[role], role))
        cases.append((f"{role} token", issuer.token(sub=f"sub-{role}", roles=[role]), role))
    return cases


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=lambda v: str(v))
async def test_route_answers_each_caller_as_the_table_says(
    method: str,
    path: str,
    permission: Permission,
    matrix_http: httpx.AsyncClient,
    world: World,
    role_keys: dict[Role, str],
    issuer: Issuer,
) -> None:
    build = BUILDERS.get((method, path))
    if build is None:
        pytest.fail(f"no request builder for {method} {path}: add one (@builds) to {REQUESTS}")
    for label, credential, role in callers(role_keys, issuer):
        call = await build(world)
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        response = await matrix_http.request(
            method, call.path, headers=headers, json=call.json, params=call.params
        )
        if role is None:
            expected = "401"
            ok = response.status_code == 401
        elif not allows(role, permission):
            expected = "403 naming the permission"
            ok = response.status_code == 403 and permission.value in response.text
        else:
            expected = "2xx"
            ok = response.is_success
        assert ok, (
            f"{method} {call.path} as {label}: {response.status_code} {response.text[:300]}, "
            f"expected {expected}"
        )
