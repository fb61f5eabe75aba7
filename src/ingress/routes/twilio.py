"""Twilio webhooks: verified over the public URL and every form field, answered with TwiML."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response, status
from twilio.twiml.messaging_response import MessagingResponse

from ingress.deps import SettingsDep, TemporalDep
from ingress.signatures import public_url, twilio_signature_valid
from ingress.starter import TemporalUnavailable, start_interaction
from switchboard.contract import Channel, Provider, RawEvent
from switchboard.errors import MalformedPayload
from switchboard.providers.twilio import parse_message

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["twilio"])

FORM = "application/x-www-form-urlencoded"
# Twilio's parameters are short (a message body is at most 1,600 characters); anything far
# larger is not Twilio.
MAX_BODY_BYTES = 64 * 1024
EMPTY_TWIML = str(MessagingResponse())
RETRY_AFTER_S = "5"


def twiml(xml: str = EMPTY_TWIML) -> Response:
    return Response(content=xml, media_type="text/xml")


async def read_signed_form(request: Request, settings: SettingsDep) -> list[tuple[str, str]]:
    """The request's form fields, once its size, type and Twilio signature have been checked."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"expected {FORM}, got {media_type or 'none'}"
        )
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "form body is not UTF-8") from exc
    token = settings.twilio_auth_token
    url = public_url(request, settings.public_url)
    signature = request.headers.get("x-twilio-signature")
    if token is None or not twilio_signature_valid(
        token.get_secret_value(), url, fields, signature
    ):
        log.warning("twilio signature rejected", extra={"path": request.url.path})
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing X-Twilio-Signature")
    return fields


@router.post("/sms", response_class=Response, summary="Inbound SMS/MMS")
async def inbound_sms(request: Request, settings: SettingsDep, temporal: TemporalDep) -> Response:
    """Accept an inbound message once Temporal has durably started its workflow."""
    received_at = datetime.now(UTC)
    fields = await read_signed_form(request, settings)
    try:
        message = parse_message(fields)
    except MalformedPayload as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    raw = RawEvent(
        provider=Provider.TWILIO,
        kind="sms",
        event_key=message.message_sid,
        received_at=received_at,
        url=public_url(request, settings.public_url),
        content_type=FORM,
        fields=fields,
    )
    try:
        started = await start_interaction(
            temporal,
            settings.task_queue,
            raw,
            Channel.SMS,
            message.message_sid,
            timedelta(seconds=settings.temporal_start_timeout_s),
        )
    except TemporalUnavailable as exc:
        log.error("temporal unavailable, message not accepted: %s", exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "temporarily unable to accept messages",
            headers={"Retry-After": RETRY_AFTER_S},
        ) from exc
    log.info(
        "twilio sms accepted",
        extra={"message_sid": message.message_sid, "duplicate": not started},
    )
    return twiml()
