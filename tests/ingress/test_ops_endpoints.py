"""/healthz and /readyz stay open; /metrics and /docs are open on loopback, and can be closed
to everyone else by SWITCHBOARD_OPS_LOOPBACK_ONLY."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ingress import create_app
from switchboard.store import Store
from tests.support.keys import KEYRING
from tests.support.settings import ingress_settings


async def status_of(path: str, client_host: str, loopback_only: bool, tmp_path: Path) -> int:
    store = Store.from_url(f"sqlite:///{tmp_path / 'switchboard.db'}")
    store.migrate()
    settings = ingress_settings("ops", ops_loopback_only=loopback_only, data_dir=tmp_path)
    app = create_app(settings, KEYRING, store=store)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                return (await http.get(path)).status_code
    finally:
        store.close()


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json"])
async def test_ops_endpoints_can_be_closed_to_the_outside(path: str, tmp_path: Path) -> None:
    assert await status_of(path, "203.0.113.7", loopback_only=False, tmp_path=tmp_path) == 200
    assert await status_of(path, "127.0.0.1", loopback_only=True, tmp_path=tmp_path) == 200
    assert await status_of(path, "::1", loopback_only=True, tmp_path=tmp_path) == 200
    assert await status_of(path, "203.0.113.7", loopback_only=True, tmp_path=tmp_path) == 404


async def test_health_stays_open_to_everyone(tmp_path: Path) -> None:
    assert await status_of("/healthz", "203.0.113.7", loopback_only=True, tmp_path=tmp_path) == 200
