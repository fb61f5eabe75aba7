"""Push events, signed as Standard Webhooks with `SWITCHBOARD_PUSH_WEBHOOK_SECRET`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response, status

from ingress import refusals
from ingress.deps import ClockDep, SettingsDep, TemporalDep, get_erasure
from ingress.metrics import SIGNATURE_FAILURES
from ingress.signatures import is_stale, public_url, standard_webhook_error
from ingress.webhooks import contract, read_body, require_media_type, start_durably
from switchboard.contract import Channel, Provider, RawEvent, RefusalReason
from switchboard.errors import MalformedPayload
from switchboard.providers import bounds, push

log = logging.getLogger(__name__)
router = APIRouter(tags=["push"])

JSON = "application/json"
MAX_BODY_BYTES = 256 * 1024


@router.post(
    "/webhooks/push", response_class=Response, summary="Push events", **contract(JSON, 204)
)
async def push_event(
    request: Request, settings: SettingsDep, temporal: TemporalDep, clock: ClockDep
) -> Response:
    """Accept a push event (sent, delivered, opened, failed, replied) once it is durable."""
    received_at = datetime.now(UTC)
    body = await read_body(request, MAX_BODY_BYTES)
    require_media_type(request, JSON)
    secret = settings.push_webhook_secret
    headers = request.headers
    error = (
        "push webhook secret is not configured"
        if secret is None
        else standard_webhook_error(
            secret.get_secret_value(),
            headers.get("webhook-id"),
            headers.get("webhook-timestamp"),
            body,
            headers.get("webhook-signature"),
            now=clock(),
        )
    )
    if error:
        log.warning("push webhook rejected: %s", error)
        SIGNATURE_FAILURES.labels("push").inc()
        if is_stale(error):
            refusals.hint(request, RefusalReason.STALE)
        raise HTTPException(status.HTTP_403_FORBIDDEN, error)
    try:
        fields = push.raw_fields(
            headers["webhook-id"], headers["webhook-timestamp"], body.decode("utf-8")
        )
        event = bounds.check(push.parse(fields, received_at))
    except (UnicodeDecodeError, MalformedPayload) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    raw = RawEvent(
        provider=Provider.PUSH,
        kind="push",
        event_key=event.event_key,
        received_at=received_at,
        url=public_url(request, settings.public_url),
        content_type=JSON,
        fields=fields,
    )
    message = event.interaction.provider_message_id
    await start_durably(temporal, settings, raw, Channel.PUSH, get_erasure(request), message)
    return Response(status_code=204)
