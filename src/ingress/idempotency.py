"""Idempotency-Key on state-changing POSTs: a retried call is answered, not done again.

A route takes part by declaring the dependency (`dependencies=[Idempotent]`, or a parameter
typed `IdempotencyDep` when it needs the key, as conversation actions do for their Temporal
update id). With the header, the first call with a key claims it in the store; its answer is
kept (sealed with the payload keys) for 24 hours, per credential:

- the same key and the same request (method, path, body) → the first answer again, with
  `Idempotent-Replayed: true`, and nothing done;
- the same key and another request → 422;
- while the first call is still running, a duplicate waits for its answer (409 with
  Retry-After only if it takes longer than `WAIT_S`).

A first call that fails with a 5xx (or never answers) frees its key, so a retry does the work.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from ingress.auth.require import Principal, authenticate
from ingress.problems import ProblemError
from switchboard.codec import EncryptionCodec
from switchboard.store.idempotency import IdempotencyKeys, Outcome

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[!-~]{1,255}$"
TTL = timedelta(hours=24)
# How long a duplicate waits for the first call (longer than a conversation action's update
# timeout), and after how long a first call that never answered is taken to have died.
WAIT_S = 35.0
ABANDONED_AFTER = timedelta(seconds=120)
POLL_S = 0.05
REUSED = "urn:switchboard:problem:idempotency-key-reused"
IN_PROGRESS = "urn:switchboard:problem:idempotency-key-in-progress"
_STATE = "idempotency"


@dataclass(frozen=True)
class IdempotencyKey:
    actor: str
    key: str

    @property
    def update_id(self) -> str:
        """A Temporal update id for this call: Temporal runs an update id once per workflow
        run, so even a retry racing the first call is done once. Hashed: no key in histories."""
        digest = hashlib.sha256(f"{self.actor}\n{self.key}".encode()).hexdigest()
        return f"api-{digest[:40]}"


class Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _codec(app: Any) -> EncryptionCodec:
    codec: EncryptionCodec = app.state.codec
    return codec


def _seal(codec: EncryptionCodec, media_type: str, body: bytes) -> bytes:
    payload = Payload(metadata={"media-type": media_type.encode()}, data=body)
    return bytes(codec.seal(payload).SerializeToString())


def _open(codec: EncryptionCodec, status: int, answer: bytes) -> Response:
    payload = codec.open(Payload.FromString(answer))
    media_type = payload.metadata.get("media-type", b"application/json").decode()
    return Response(
        payload.data,
        status,
        media_type=media_type,
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotent(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            pattern=KEY_PATTERN,
            description="a unique value per operation (a UUID): a retry with the same key and "
            "request within 24 h gets the first answer and is not done again; the same key "
            "with another request is 422",
        ),
    ] = None,
) -> IdempotencyKey | None:
    if key is None:
        return None
    keys = IdempotencyKeys(request.app.state.store.engine)
    fingerprint = _fingerprint(request, await request.body())
    waited = 0.0
    while True:
        now = datetime.fromtimestamp(request.app.state.clock(), UTC)
        claim = await run_in_threadpool(
            keys.claim, principal.actor, key, fingerprint, now, TTL, ABANDONED_AFTER
        )
        if claim.outcome is Outcome.NEW:
            found = IdempotencyKey(principal.actor, key)
            setattr(request.state, _STATE, found)
            return found
        if claim.outcome is Outcome.MISMATCH:
            raise ProblemError(422, "this Idempotency-Key was used with another request", REUSED)
        if claim.outcome is Outcome.REPLAY:
            assert claim.status is not None and claim.answer is not None
            raise Replay(_open(_codec(request.app), claim.status, claim.answer))
        if waited >= WAIT_S:
            raise ProblemError(
                409,
                "a request with this Idempotency-Key is still in progress",
                IN_PROGRESS,
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(POLL_S)
        waited += POLL_S


Idempotent = Depends(idempotent)
IdempotencyDep = Annotated[IdempotencyKey | None, Idempotent]


def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    return exc.response


class Recorder:
    """ASGI middleware: keeps the answer of a call that claimed a key, or frees the key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        status = 0
        media_type = "application/json"
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status, media_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        media_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            claimed: IdempotencyKey | None = scope.get("state", {}).get(_STATE)
            if claimed is not None:
                await run_in_threadpool(
                    self._settle, scope["app"], claimed, status, media_type, bytes(body)
                )

    @staticmethod
    def _settle(app: Any, claimed: IdempotencyKey, status: int, media: str, body: bytes) -> None:
        keys = IdempotencyKeys(app.state.store.engine)
        if 200 <= status < 500:
            keys.complete(claimed.actor, claimed.key, status, _seal(_codec(app), media, body))
        else:
            keys.release(claimed.actor, claimed.key)


def install(app: Any) -> None:
    app.add_exception_handler(Replay, _replay)
    app.add_middleware(Recorder)
