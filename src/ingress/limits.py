"""Limits that keep one client from holding the ingress: bodies bounded while they are read
(chunked ones included) on every route, a read timeout for slow bodies, and a cap on requests
in flight with a share kept for the webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingress import problems

RETRY_AFTER_S = "5"
WEBHOOKS = "/webhooks/"


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


class BodyBounds:
    """ASGI middleware: every request body outside the webhooks (which bound theirs per
    provider, with `read_body`) is refused with 413 once past its group's limit, declared or
    arriving, and with 408 when it has not all arrived within `timeout_s`.

    `limit_of(path)` is the group's limit in bytes, or None for a path that bounds its own.
    """

    def __init__(
        self, app: ASGIApp, limit_of: Callable[[str], int | None], timeout_s: float
    ) -> None:
        self.app = app
        self.limit_of = limit_of
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_of(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await answer(send, 413, "request body too large")
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        received, complete = 0, False

        async def bounded() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: what follows is a disconnect, waited for unbounded
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError as exc:
                raise HTTPException(
                    status.HTTP_408_REQUEST_TIMEOUT, "request body not received in time"
                ) from exc
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
            return message

        await self.app(scope, bounded, send)


class ConcurrencyCap:
    """ASGI middleware: 503 with Retry-After beyond `limit` HTTP requests in flight.

    The default is high: bursts are queued by the event loop, not refused; the cap only stops
    a flood from exhausting memory or file descriptors. A quarter of it (at least one) is
    kept for the webhooks: API calls, however many or slow, never take a provider's place.
    """

    def __init__(
        self, app: ASGIApp, limit: int, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.others_limit = limit - max(1, limit // 4) if limit > 1 else limit
        self.on_refused = on_refused  # told the path of each request refused
        self.in_flight = 0
        self.others_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        webhook = scope["path"].startswith(WEBHOOKS)
        if self.in_flight >= self.limit or (
            not webhook and self.others_in_flight >= self.others_limit
        ):
            if self.on_refused is not None:
                self.on_refused(scope["path"])
            await answer(send, 503, "too many requests in flight", {"retry-after": RETRY_AFTER_S})
            return
        self.in_flight += 1
        self.others_in_flight += not webhook
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.others_in_flight -= not webhook


async def answer(
    send: Send, status_code: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    """A problem (RFC 9457, as every error of the ingress) written straight to the connection
    (nothing else runs)."""
    response = problems.problem_response(status_code, detail, headers=headers)
    await send(
        {"type": "http.response.start", "status": status_code, "headers": response.raw_headers}
    )
    await send({"type": "http.response.body", "body": response.body})
