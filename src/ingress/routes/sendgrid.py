"""SendGrid webhooks: the signed Event Webhook (and Inbound Parse email)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from ingress import multipart, refusals
from ingress.deps import ClockDep, SettingsDep, TemporalDep, get_erasure
from ingress.metrics import SIGNATURE_FAILURES
from ingress.signatures import is_stale, public_url, sendgrid_event_error
from ingress.webhooks import contract, is_erased, read_body, require_media_type, start_durably
from switchboard.blobs import BlobStore
from switchboard.contract import Channel, MediaRef, Provider, RawEvent, RefusalReason
from switchboard.errors import MalformedPayload
from switchboard.providers import bounds, sendgrid, sendgrid_inbound
from switchboard.settings import IngressSettings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/sendgrid", tags=["sendgrid"])

JSON = "application/json"
MULTIPART = "multipart/form-data"
# SendGrid posts a batch every 30 s or at 768 KB, whichever comes first.
MAX_EVENT_BATCH_BYTES = 2 * 1024 * 1024


@router.post("/events", response_class=Response, summary="Event Webhook", **contract(JSON, 204))
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
        SIGNATURE_FAILURES.labels("sendgrid").inc()
        if is_stale(error):
            refusals.hint(request, RefusalReason.STALE)
        raise HTTPException(status.HTTP_403_FORBIDDEN, error)
    url = public_url(request, settings.public_url)
    raws: list[tuple[RawEvent, str]] = []
    try:
        for index, event in enumerate(sendgrid.split_events(body.decode("utf-8"))):
            fields = sendgrid.event_fields(event)
            try:
                parsed = bounds.check(sendgrid.parse_event(fields, received_at))
            except MalformedPayload as exc:
                raise MalformedPayload(f"event {index}: {exc}") from exc
            raw = RawEvent(
                provider=Provider.SENDGRID,
                kind="email_event",
                event_key=parsed.event_key,
                received_at=received_at,
                url=url,
                content_type=JSON,
                fields=fields,
            )
            raws.append((raw, parsed.interaction.provider_message_id))
    except MalformedPayload as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    # All or nothing for the provider: if any start fails the batch is answered 503 and
    # retried whole, and the events already started are deduplicated by their keys.
    await asyncio.gather(
        *(
            start_durably(temporal, settings, raw, Channel.EMAIL, get_erasure(request), message)
            for raw, message in raws
        )
    )
    return Response(status_code=204)


_basic = HTTPBasic(auto_error=False, description="the credentials in the Inbound Parse URL")


def _check_basic_auth(settings: IngressSettings, credentials: HTTPBasicCredentials | None) -> None:
    user, password = settings.sendgrid_inbound_user, settings.sendgrid_inbound_password
    presented_user = (credentials.username if credentials else "").encode()
    presented_password = (credentials.password if credentials else "").encode()
    # Both compared, in constant time, whatever the first says.
    user_ok = hmac.compare_digest(presented_user, (user or "").encode())
    password_ok = hmac.compare_digest(
        presented_password, (password.get_secret_value() if password else "").encode()
    )
    if not (user and password and credentials and user_ok and password_ok):
        SIGNATURE_FAILURES.labels("sendgrid").inc()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Inbound Parse needs the basic-auth credentials configured for it",
            headers={"WWW-Authenticate": 'Basic realm="sendgrid-inbound"'},
        )


@router.post(
    "/inbound",
    response_class=Response,
    summary="Inbound Parse (email)",
    **contract(MULTIPART, 200, refusals=(400, 401, 408, 413, 415, 503)),
)
async def inbound(
    request: Request,
    settings: SettingsDep,
    temporal: TemporalDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Response:
    """Accept a received email (default or raw mode) once it is durable.

    The raw post and each attachment are stored as blobs first (unless the email is of an
    erased customer); the workflow carries their references and the decoded text.
    """
    received_at = datetime.now(UTC)
    _check_basic_auth(settings, credentials)
    limit = settings.sendgrid_inbound_max_bytes
    body = await read_body(request, limit)
    require_media_type(request, MULTIPART)
    try:
        # Off the event loop: a 30 MB email takes a while to split and decode, and a Twilio
        # acknowledgement must not wait for it.
        mail = await run_in_threadpool(_parse_mail, request.headers["content-type"], body, limit)
    except multipart.FormTooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    except (ValueError, MalformedPayload) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if mail.message_id and len(mail.message_id) > bounds.MAX_KEY_CHARS:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"Message-ID longer than {bounds.MAX_KEY_CHARS} characters"
        )
    # Message-ID identifies the email across SendGrid's retries; without one, its bytes do.
    # Known before anything is written: an erased customer's email leaves no blob behind.
    key = mail.message_id or hashlib.sha256(body).hexdigest()
    if await is_erased(get_erasure(request), Provider.SENDGRID, "email", key):
        return Response(status_code=200)
    blobs: BlobStore = request.app.state.blobs
    raw_ref = await run_in_threadpool(blobs.put, body)
    attachments = [
        MediaRef(
            url=await run_in_threadpool(blobs.put, a.data),
            content_type=a.content_type,
            filename=a.filename,
            size_bytes=len(a.data),
        )
        for a in mail.attachments
    ]
    raw = RawEvent(
        provider=Provider.SENDGRID,
        kind="email",
        event_key=key,
        received_at=received_at,
        url=public_url(request, settings.public_url),
        content_type=MULTIPART,
        fields=sendgrid_inbound.compact_fields(mail, key, raw_ref, attachments),
    )
    await start_durably(temporal, settings, raw, Channel.EMAIL, get_erasure(request))
    return Response(status_code=200)


def _parse_mail(content_type: str, body: bytes, limit: int) -> sendgrid_inbound.InboundEmail:
    form = multipart.parse_form(content_type, body, limit)
    return sendgrid_inbound.parse_form(
        form.fields,
        [sendgrid_inbound.Attachment(f.filename, f.content_type, f.data) for f in form.files],
    )
