"""Every API route against every kind of caller, generated from the app's routes and the
permission table: a route added without a permission, or with the wrong one, fails here."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from temporalio.client import Client

from ingress import create_app
from ingress.auth import Permission, Role, allows, permission_of
from switchboard.store import ApiKeys, Store
from tests.support.keys import KEYRING
from tests.support.oidc_issuer import AUDIENCE, Issuer, serve_issuer
from tests.support.settings import API_KEY, ingress_settings

# The routes outside the table: providers sign their webhooks; health is open to probes.
OPEN_PREFIXES = ("/webhooks/", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi")


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


@pytest.fixture
async def matrix_http(
    issuer: Issuer, matrix_store: Store, client: Client, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ingress_settings(
        "matrix", oidc_issuer=issuer.url, oidc_audience=AUDIENCE, data_dir=tmp_path
    )
    # The real Temporal: routes that list or start workflows answer as they would in service.
    app = create_app(settings, KEYRING, temporal=client, store=matrix_store)
    async with app.router.lifespan_context(app):
        # A caller from outside: no loopback exception may stand in for a permission.
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sb") as http:
            yield http


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


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: f"x-{m.group(0)[1:-1]}", path)


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=lambda v: str(v))
async def test_route_answers_each_caller_as_the_table_says(
    method: str,
    path: str,
    permission: Permission,
    matrix_http: httpx.AsyncClient,
    role_keys: dict[Role, str],
    issuer: Issuer,
) -> None:
    for label, credential, role in callers(role_keys, issuer):
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        response = await matrix_http.request(method, concrete(path), headers=headers, json=body)
        if role is None:
            expected = "401"
            ok = response.status_code == 401
        elif not allows(role, permission):
            expected = "403 naming the permission"
            ok = response.status_code == 403 and permission.value in response.text
        else:
            expected = "neither 401 nor 403"
            ok = response.status_code not in (401, 403)
        assert ok, f"{method} {path} as {label}: {response.status_code}, expected {expected}"
