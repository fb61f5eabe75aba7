"""What every webhook route does: bound the body, check its type, start its workflow durably."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from temporalio.client import Client

from ingress import limits, problems
from ingress.metrics import DUPLICATES, ERASED_DROPS, WORKFLOW_STARTS
from ingress.starter import TemporalRefused, TemporalUnavailable, start_interaction
from switchboard.contract import Channel, RawEvent
from switchboard.settings import IngressSettings
from switchboard.store.erasure import Erasure

log = logging.getLogger(__name__)
RETRY_AFTER_S = "5"

# What a provider may send, for the document: the checks (signature, size) come first, so the
# schema only names the media type; what a provider can legitimately send is never refused.
BODY_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "additionalProperties": {"type": "string"},
    },
    "application/json": {},
    "multipart/form-data": {"type": "object", "additionalProperties": {"type": "string"}},
}


def contract(
    media_type: str,
    success: int,
    answer: dict[str, Any] | None = None,
    refusals: tuple[int, ...] = (400, 403, 408, 413, 415, 503),
) -> dict[str, Any]:
    """A webhook route's documented contract: the body it takes, its answer (`answer`: the
    success response's `content`, e.g. TwiML), and its refusals as problem details."""
    ok: dict[str, Any] = {"description": "accepted: the event is durable"}
    if answer:
        ok["content"] = answer
    return {
        "status_code": success,
        "responses": {success: ok, **problems.responses(*refusals)},
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {media_type: {"schema": BODY_SCHEMAS[media_type]}},
            }
        },
    }


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, bounded while it is read (413) and in time (408): see `ingress.limits`."""
    settings: IngressSettings = request.app.state.settings
    return await limits.read_body(request, limit, settings.body_read_timeout_s)


def require_media_type(request: Request, expected: str) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != expected:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"expected {expected}, got {media_type or 'none'}",
        )


async def is_erased(
    erasure: Erasure, provider: str, kind: str, event_key: str, message_key: str | None = None
) -> bool:
    """Whether the event is of an erased customer's message; counted and logged (without its
    key) when it is, to be acknowledged and dropped."""
    if not await run_in_threadpool(erasure.is_erased, provider, event_key, message_key):
        return False
    ERASED_DROPS.labels(provider, kind).inc()
    log.info("%s %s dropped: its message was erased", provider, kind)
    return True


async def start_durably(
    temporal: Client,
    settings: IngressSettings,
    raw: RawEvent,
    channel: Channel,
    erasure: Erasure,
    message_key: str | None = None,
) -> None:
    """Start the event's workflow; 503 with Retry-After when Temporal cannot take it.

    A provider only hears 2xx once the event is durable, so it keeps (and retries) anything
    we could not accept. An event of an erased customer's message (`message_key`, when the
    event's own key does not start with it) is acknowledged and dropped: the provider stops
    redelivering it, and it does not come back.
    """
    if await is_erased(erasure, raw.provider, raw.kind, raw.event_key, message_key):
        return
    try:
        started = await start_interaction(
            temporal,
            settings.task_queue,
            raw,
            channel,
            timedelta(seconds=settings.temporal_start_timeout_s),
            settings.orphan_callback_wait_s,
        )
    except TemporalUnavailable as exc:
        log.error("temporal unavailable, %s/%s not accepted: %s", raw.provider, raw.kind, exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "temporarily unable to accept messages",
            headers={"Retry-After": RETRY_AFTER_S},
        ) from exc
    except TemporalRefused as exc:
        log.warning("temporal refused %s/%s for good: %s", raw.provider, raw.kind, exc)
        code = status.HTTP_413_CONTENT_TOO_LARGE if exc.too_large else status.HTTP_400_BAD_REQUEST
        raise HTTPException(code, f"refused by Temporal: {exc}") from exc
    (WORKFLOW_STARTS if started else DUPLICATES).labels(raw.provider, raw.kind).inc()
    # Keys stay at DEBUG: an email's Message-ID can carry an address.
    log.info("%s %s accepted%s", raw.provider, raw.kind, "" if started else " (duplicate)")
    log.debug("%s %s key %s", raw.provider, raw.kind, raw.event_key)
