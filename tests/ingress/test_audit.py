"""The audit log records principals, not noise: strangers write no rows; a known caller's state
change is recorded however it ends (a 500 too); targets are ids, never addresses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from ingress import create_app
from switchboard.store import AuditLog, Store
from tests.support.keys import KEYRING
from tests.support.settings import API_KEY, ingress_settings


@pytest.fixture
async def own_store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store of the test's own: one test breaks a table of it."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'switchboard.db'}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
async def api(own_store: Store, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ingress_settings("audit", data_dir=tmp_path), KEYRING, store=own_store)
    async with app.router.lifespan_context(app):
        # A 500 comes back as the answer a caller gets, not as the test's exception.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def refused(route: str) -> float:
    labels = {"route": route, "reason": "missing"}
    return REGISTRY.get_sample_value("switchboard_auth_refusals_total", labels) or 0.0


async def test_100_anonymous_state_changes_write_no_row_and_are_counted(
    api: httpx.AsyncClient, own_store: Store
) -> None:
    erase, link = "/api/customers/{customer_id}", "/api/customers/{customer_id}/identities"
    before = refused(erase) + refused(link)
    answers = await asyncio.gather(
        *(
            call(f"/api/customers/{uuid.uuid4()}")
            for call in (api.delete, lambda path: api.post(f"{path}/identities", json={})) * 50
        )
    )
    assert [r.status_code for r in answers] == [401] * 100
    assert AuditLog(own_store).list() == []
    assert refused(erase) + refused(link) == before + 100


async def test_an_admin_call_that_breaks_is_recorded_with_its_500(
    api: httpx.AsyncClient, own_store: Store
) -> None:
    with own_store.engine.begin() as conn:
        conn.execute(text("DROP TABLE api_keys"))
    response = await api.post(
        "/api/keys",
        json={"name": "ana", "role": "agent"},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 500
    rows = AuditLog(own_store).list()
    assert [(r["actor"], r["method"], r["route"], r["status"]) for r in rows] == [
        ("key:bootstrap", "POST", "/api/keys", 500)
    ]


async def test_a_target_that_is_not_an_id_is_kept_as_a_hash(
    api: httpx.AsyncClient, own_store: Store
) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    for target in ("ana@example.com", "14155550123", "<a1b2@mail.example.com>"):
        response = await api.delete(f"/api/subscriptions/{target}", headers=auth)
        assert response.status_code == 404
    kept = [row["target"] for row in AuditLog(own_store).list()]
    assert len(kept) == 3 and all(t.startswith("hash:") for t in kept), kept
    await api.delete("/api/keys/ana", headers=auth)
    assert AuditLog(own_store).list()[0]["target"] == "ana"
