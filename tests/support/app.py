"""The real ingress app, driven over ASGI, with a clock the test sets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from temporalio.client import Client

from ingress import create_app
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.keys import KEYRING


class Clock:
    """The app's injectable clock, so fixed-timestamp fixtures and stale requests can be tested."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def app_client(
    settings: IngressSettings,
    temporal: Client | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    base_url: str = "http://testserver",
    headers: dict[str, str] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app, lifespan included, driven over ASGI (`headers` on every request)."""
    app = create_app(settings, KEYRING, temporal=temporal, store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers=headers
        ) as http:
            yield http
