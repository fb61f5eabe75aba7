"""SendGrid webhooks: the signed Event Webhook (and Inbound Parse email)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response, status

from ingress.deps import ClockDep, SettingsDep, TemporalDep
from ingress.signatures import public_url, sendgrid_event_error
from ingress.webhooks import read_body, require_media_type, start_durably
from switchboard.contract import Channel, Provider, RawEvent
from switchboard.errors import MalformedPayload
from switchboard.providers import sendgrid

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/sendgrid", tags=["sendgrid"])

JSON = "application/json"
# SendGrid posts a batch every 30 s or at 768 KB, whichever comes first.
MAX_EVENT_BATCH_BYTES = 2 * 1024 * 1024


@router.post("/events", status_code=204, response_class=Response, summary="Event Webhook")
async def events(
    request: Request, settings: SettingsDep, temporal: TemporalDep, clock: ClockDep
) -> Response:
    """Accept a signed batch once every event in it has its (deduplicated) workflow."""
    received_at = datetime.now(UTC)
    body = await read_body(request, MAX_EVENT_BATCH_BYTES)
    require_media_type(request, JSON)
    error = sendgrid_event_error(
        request.app.state.sendgrid_events,
        body,
        request.headers.get("x-twilio-email-event-webhook-signature"),
        request.headers.get("x-twilio-email-event-webhook-timestamp"),
        now=clock(),
        max_age_s=settings.sendgrid_event_max_age_s,
    )
    if error:
        log.warning("sendgrid event batch rejected: %s", error)
        raise HTTPException(status.HTTP_403_FORBIDDEN, error)
    url = public_url(request, settings.public_url)
    raws = []
    try:
        for index, event in enumerate(sendgrid.split_events(body.decode("utf-8"))):
            fields = sendgrid.event_fields(event)
            try:
                parsed = sendgrid.parse_event(fields, received_at)
            except MalformedPayload as exc:
                raise MalformedPayload(f"event {index}: {exc}") from exc
            raws.append(
                RawEvent(
                    provider=Provider.SENDGRID,
                    kind="email_event",
                    event_key=parsed.event_key,
                    received_at=received_at,
                    url=url,
                    content_type=JSON,
                    fields=fields,
                )
            )
    except MalformedPayload as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    # All or nothing for the provider: if any start fails the batch is answered 503 and
    # retried whole, and the events already started are deduplicated by their keys.
    await asyncio.gather(*(start_durably(temporal, settings, raw, Channel.EMAIL) for raw in raws))
    return Response(status_code=204)
