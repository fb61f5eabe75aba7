"""Twilio webhooks: verified over the public URL and every form field, answered with TwiML."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response, status
from temporalio.client import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from ingress.deps import SettingsDep, TemporalDep, get_erasure
from ingress.metrics import SIGNATURE_FAILURES
from ingress.signatures import public_url, twilio_request_valid
from ingress.webhooks import contract, read_body, require_media_type, start_durably
from switchboard.contract import Provider, RawEvent
from switchboard.errors import MalformedPayload
from switchboard.providers import PARSERS
from switchboard.settings import IngressSettings

log = logging.getLogger(__name__)
PREFIX = "/webhooks/twilio"
router = APIRouter(prefix=PREFIX, tags=["twilio"])

FORM = "application/x-www-form-urlencoded"
# Kept with the raw event. Twilio sends the same idempotency token when it retries a
# delivery; the workflow id already makes a retry harmless, the token shows it was one.
ARCHIVED_HEADERS = (
    "i-twilio-idempotency-token",
    "x-twilio-signature",
    "x-twilio-webhooks-signature-settings",
)
# Twilio's parameters are short (a message body is at most 1,600 characters); anything far
# larger is not Twilio.
MAX_BODY_BYTES = 64 * 1024

# Nothing to do: also the right answer to status callbacks.
EMPTY_TWIML = str(MessagingResponse())
# Twilio reads the answer's TwiML; it retries (or fails the call) on anything but 2xx.
TWIML = contract(FORM, 200, {"text/xml": {"schema": {"type": "string"}}})


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


HANGUP_TWIML = hangup_twiml()


def voicemail_twiml() -> str:
    """Greet the caller and record a voicemail; every callback comes back to us.

    Relative URLs resolve against the URL Twilio called, so they follow the public URL. The
    `action` is required: without it Twilio re-requests this webhook after the recording.
    """
    response = VoiceResponse()
    response.say("Thanks for calling. Please leave a message after the beep.")
    response.record(
        action=f"{PREFIX}/voice/recording",
        method="POST",
        max_length=120,
        finish_on_key="#",
        play_beep=True,
        recording_status_callback=f"{PREFIX}/voice/recording",
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
        transcribe=True,
        transcribe_callback=f"{PREFIX}/voice/transcription",
    )
    response.hangup()
    return str(response)


VOICEMAIL_TWIML = voicemail_twiml()


async def read_signed_form(request: Request, settings: IngressSettings) -> list[tuple[str, str]]:
    """The request's form fields, once its size, type and Twilio signature have been checked."""
    body = await read_body(request, MAX_BODY_BYTES)
    require_media_type(request, FORM)
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "form body is not UTF-8") from exc
    url = public_url(request, settings.public_url)
    signature = request.headers.get("x-twilio-signature")
    # Twilio signs with the primary token only; during a rotation both the old and the
    # new one are configured (comma-separated) until the new one is promoted.
    secret = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    tokens = [token.strip() for token in secret.split(",") if token.strip()]
    shared = {k: v.get_secret_value() for k, v in settings.twilio_shared_keys.items()}
    settings_header = request.headers.get("x-twilio-webhooks-signature-settings")
    if not twilio_request_valid(tokens, shared, settings_header, url, fields, signature):
        log.warning("twilio signature rejected on %s", request.url.path)
        SIGNATURE_FAILURES.labels("twilio").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing X-Twilio-Signature")
    return fields


async def accept(
    request: Request,
    settings: IngressSettings,
    temporal: Client,
    kind: str,
    answer: str,
) -> Response:
    """Verify, parse, start the event's workflow, and answer once Temporal has it."""
    received_at = datetime.now(UTC)
    fields = await read_signed_form(request, settings)
    try:
        event = PARSERS[(Provider.TWILIO, kind)](fields, received_at)
    except MalformedPayload as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    raw = RawEvent(
        provider=Provider.TWILIO,
        kind=kind,
        event_key=event.event_key,
        received_at=received_at,
        url=public_url(request, settings.public_url),
        content_type=FORM,
        fields=fields,
        headers=[
            (name, request.headers[name]) for name in ARCHIVED_HEADERS if name in request.headers
        ],
    )
    # The channel is the event's own: WhatsApp arrives on the SMS webhook.
    channel = event.interaction.channel
    await start_durably(temporal, settings, raw, channel, get_erasure(request))
    return Response(content=answer, media_type="text/xml")


@router.post("/sms", response_class=Response, summary="Inbound SMS/MMS and WhatsApp", **TWIML)
async def inbound_sms(request: Request, settings: SettingsDep, temporal: TemporalDep) -> Response:
    return await accept(request, settings, temporal, "sms", EMPTY_TWIML)


@router.post(
    "/sms/status", response_class=Response, summary="Outbound message status callback", **TWIML
)
async def sms_status(request: Request, settings: SettingsDep, temporal: TemporalDep) -> Response:
    return await accept(request, settings, temporal, "sms_status", EMPTY_TWIML)


@router.post(
    "/voice", response_class=Response, summary="Incoming call: records a voicemail", **TWIML
)
async def voice(request: Request, settings: SettingsDep, temporal: TemporalDep) -> Response:
    return await accept(request, settings, temporal, "voice", VOICEMAIL_TWIML)


@router.post(
    "/voice/recording",
    response_class=Response,
    summary="Recording status and <Record> action",
    **TWIML,
)
async def voice_recording(
    request: Request, settings: SettingsDep, temporal: TemporalDep
) -> Response:
    return await accept(request, settings, temporal, "voice_recording", HANGUP_TWIML)


@router.post(
    "/voice/transcription", response_class=Response, summary="Transcription callback", **TWIML
)
async def voice_transcription(
    request: Request, settings: SettingsDep, temporal: TemporalDep
) -> Response:
    return await accept(request, settings, temporal, "voice_transcription", EMPTY_TWIML)


@router.post("/voice/status", response_class=Response, summary="Call status callback", **TWIML)
async def voice_status(request: Request, settings: SettingsDep, temporal: TemporalDep) -> Response:
    return await accept(request, settings, temporal, "voice_status", EMPTY_TWIML)
