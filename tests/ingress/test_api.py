"""The client API: API keys, lookups, timelines with cursors, and clear errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from switchboard.contract import Identity, IdentityKind
from switchboard.store import Store
from tests.support.builders import sms_interaction

PATHS = [
    "/api/customers?phone=%2B14155550123",
    "/api/customers/some-id/interactions",
    "/api/interactions/some-id",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
async def test_api_needs_a_valid_key(
    path: str, headers: dict[str, str], http: httpx.AsyncClient
) -> None:
    response = await http.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "API key" in response.json()["detail"]


def seed(store: Store, phone: str, n: int) -> tuple[str, list[str]]:
    """n interactions of one customer, one minute apart, oldest first."""
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    ids = []
    for i in range(n):
        interaction, raw = sms_interaction(
            customer_id, phone, start + timedelta(minutes=i), f"message {i}"
        )
        ids.append(store.persist_interaction(interaction, raw).interaction_id)
    return customer_id, ids


async def test_timeline_is_newest_first_and_pages_with_a_cursor(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    customer_id, ids = seed(store, "+14155550177", 5)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await http.get(
            f"/api/customers/{customer_id}/interactions", params=params, headers=auth
        )
        assert response.status_code == 200
        body = response.json()
        seen += [item["interaction_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_customer_is_found_by_the_number_in_any_format(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    customer_id, _ = seed(store, "+14155550188", 1)
    for phone in ["+14155550188", "(415) 555-0188", "415.555.0188"]:
        response = await http.get("/api/customers", params={"phone": phone}, headers=auth)
        assert response.status_code == 200
        [found] = response.json()["items"]
        assert found["customer_id"] == customer_id
        assert found["identities"] == [
            {"kind": "phone", "value": "+14155550188", "linked_by": None}
        ]


async def test_customers_are_listed_in_pages_and_a_lookup_finds_at_most_one(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    first, _ = seed(store, "+14155550101", 1)
    second, _ = seed(store, "+14155550102", 1)
    listed: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = (await http.get("/api/customers", params=params, headers=auth)).json()
        listed += [c["customer_id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(listed) == sorted([first, second]) and len(listed) == 2
    # Nobody has that number (a number no phone can have included), or the two identities
    # belong to two customers: no customer, and no error.
    for params in (
        {"phone": "+14155550000"},
        {"phone": "123"},
        {"email": "nobody@example.com"},
        {"phone": "+14155550101", "email": "nobody@example.com"},
    ):
        response = await http.get("/api/customers", params=params, headers=auth)
        assert (response.status_code, response.json()["items"]) == (200, []), params


async def test_unknown_ids_are_404_problems(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for path in [
        f"/api/customers/{uuid.uuid4()}/interactions",
        f"/api/interactions/{uuid.uuid4()}",
    ]:
        response = await http.get(path, headers=auth)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 404 and problem["title"] == "Not Found"
        assert problem["type"] == "about:blank" and problem["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?phone=not-a-number", "phone"), ("?email=no-at-sign", "email")],
)
async def test_malformed_lookups_are_422_naming_the_field(
    query: str, field: str, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await http.get("/api/customers" + query, headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["location"] == ["query", field]


async def test_bad_cursor_and_limit_are_client_errors(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    customer_id, _ = seed(store, "+14155550199", 1)
    path = f"/api/customers/{customer_id}/interactions"
    assert (await http.get(path, params={"cursor": "garbage!"}, headers=auth)).status_code == 422
    assert (await http.get(path, params={"limit": 0}, headers=auth)).status_code == 422
    assert (await http.get(path, params={"limit": 1000}, headers=auth)).status_code == 422


async def test_health_readiness_and_openapi(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "temporal": "ok", "store": "ok"}
    spec = (await http.get("/openapi.json")).json()
    assert "/webhooks/twilio/sms" in spec["paths"]
    assert "/api/customers/{customer_id}/interactions" in spec["paths"]
    assert (await http.get("/docs")).status_code == 200
