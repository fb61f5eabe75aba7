"""The gate every request passes first: a Host this ingress serves (DNS rebinding), a standard
method (made-up ones never become metric labels)."""

from __future__ import annotations

import secrets
import string

import httpx
import pytest
from prometheus_client import REGISTRY

from switchboard.store import Store
from tests.support.app import app_client
from tests.support.settings import ingress_settings

PATHS = ["/healthz", "/api/customers", "/codec/encode", "/webhooks/twilio/sms"]


@pytest.mark.parametrize("path", PATHS)
async def test_a_host_this_ingress_does_not_serve_is_400_on_every_route(
    path: str, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """A page on evil.example that rebinds its name to 127.0.0.1 reaches nothing, not even
    with the credentials a browser would add."""
    response = await http.post(path, json={}, headers={**auth, "Host": "evil.example"})
    assert response.status_code == 400
    assert "Host" in response.json()["detail"]


@pytest.mark.parametrize(
    "host",
    ["hooks.example.com", "HOOKS.example.com.:443", "localhost:8000", "127.0.0.1", "[::1]:8000"],
)
async def test_the_public_urls_host_and_loopback_names_are_served(
    host: str, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/healthz", headers={"Host": host})).status_code == 200


async def test_more_hosts_or_any_are_served_when_configured(task_queue: str, store: Store) -> None:
    for allowed, served in (("api.example.net", "api.example.net"), ("*", "evil.example")):
        settings = ingress_settings(task_queue, allowed_hosts=allowed)
        async with app_client(settings, store=store) as http:
            assert (await http.get("/healthz", headers={"Host": served})).status_code == 200
    bound = ingress_settings(task_queue, host="10.1.2.3")
    async with app_client(bound, store=store) as http:
        assert (await http.get("/healthz", headers={"Host": "10.1.2.3:8000"})).status_code == 200


def _method_labels() -> set[str]:
    return {
        sample.labels["method"]
        for family in REGISTRY.collect()
        if family.name == "switchboard_http_requests"
        for sample in family.samples
    }


async def test_10000_made_up_methods_add_one_label_at_most(http: httpx.AsyncClient) -> None:
    app = http._transport.app  # type: ignore[attr-defined]
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))  # type: ignore[call-overload]

    # Straight over ASGI, as a server hands requests in: 10,000 through httpx take 30 s.
    for _ in range(10_000):
        method = "".join(secrets.choice(string.ascii_uppercase) for _ in range(12))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": "/api/customers",
            "raw_path": b"/api/customers",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("203.0.113.5", 40000),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
    assert statuses == [405] * 10_000
    assert _method_labels() <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert "OTHER" in _method_labels()
