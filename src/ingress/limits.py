"""Limits that keep one client from holding the ingress: bodies bounded while they are read
(chunked ones included), a read timeout for slow bodies, and a cap on requests in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from starlette.types import ASGIApp, Receive, Scope, Send

RETRY_AFTER_S = "5"
# A problem (RFC 9457), as every error of the ingress.
_TOO_MANY = (
    b'{"type":"about:blank","title":"Service Unavailable","status":503,'
    b'"detail":"too many requests in flight"}'
)


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The raw body, or 413 as soon as more than `limit` bytes are declared or have arrived
    (never buffering more than that), or 408 when it takes longer than `timeout_s`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    except TimeoutError as exc:
        raise HTTPException(
            status.HTTP_408_REQUEST_TIMEOUT, "request body not received in time"
        ) from exc
    return bytes(body)


class ConcurrencyCap:
    """ASGI middleware: 503 with Retry-After beyond `limit` HTTP requests in flight.

    The default is high: bursts are queued by the event loop, not refused; the cap only stops
    a flood from exhausting memory or file descriptors.
    """

    def __init__(
        self, app: ASGIApp, limit: int, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.on_refused = on_refused  # told the path of each request refused
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            if self.on_refused is not None:
                self.on_refused(scope["path"])
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"retry-after", RETRY_AFTER_S.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _TOO_MANY})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
