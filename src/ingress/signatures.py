"""Signature checks on the raw request, before anything is parsed or started."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from sendgrid.helpers.eventwebhook import EventWebhook
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from twilio.request_validator import RequestValidator, get_signature_algorithm


def public_url(request: Request, public_base: str | None) -> str:
    """The URL the provider called, which is what it signed.

    Behind a proxy or tunnel the request reaches us on another scheme and host, so the base
    comes from `SWITCHBOARD_PUBLIC_URL`; the path and query are taken raw, exactly as sent
    (a re-encoded or re-ordered query no longer matches the signature).
    """
    if public_base:
        base = public_base
    else:
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    url = base + path.decode("latin-1")
    if query:
        url += "?" + query.decode("latin-1")
    return url


def twilio_signature_valid(
    auth_token: str,
    url: str,
    fields: list[tuple[str, str]],
    signature: str | None,
    algorithm: str | None = None,
) -> bool:
    """Check `X-Twilio-Signature` with Twilio's own validator over every form field.

    A multi-dict keeps repeated keys and empty values, which Twilio signs too.
    """
    if not signature:
        return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(url, ImmutableMultiDict(fields), signature, algorithm))


def twilio_request_valid(
    auth_tokens: list[str],
    shared_keys: dict[str, str],
    signature_settings: str | None,
    url: str,
    fields: list[tuple[str, str]],
    signature: str | None,
) -> bool:
    """Verify a Twilio webhook the way it was signed.

    With `X-Twilio-Webhooks-Signature-Settings` (Twilio's shared-key webhook signing) the
    named key's secret and algorithm are used, and an unknown key or algorithm fails.
    Otherwise the auth token signed it (HMAC-SHA1); during a rotation either configured
    token may have.
    """
    if signature_settings:
        key_id = next(
            (
                value.strip()
                for name, _, value in (p.partition("=") for p in signature_settings.split(","))
                if name.strip() == "key"
            ),
            "",
        )
        secret = shared_keys.get(key_id)
        algorithm = get_signature_algorithm(signature_settings)
        return secret is not None and twilio_signature_valid(
            secret, url, fields, signature, algorithm
        )
    return any(twilio_signature_valid(token, url, fields, signature) for token in auth_tokens)


STANDARD_WEBHOOKS_TOLERANCE_S = 5 * 60
# How a timestamp outside the allowed window is reported: a stale (or replayed) delivery.
OUTSIDE_WINDOW = "outside the allowed window"


def is_stale(error: str) -> bool:
    """Whether a verification error is about the signature's age, not the signature."""
    return error.endswith(OUTSIDE_WINDOW)


def standard_webhook_error(
    secret: str,
    webhook_id: str | None,
    timestamp: str | None,
    body: bytes,
    signature_header: str | None,
    now: float,
    tolerance_s: int = STANDARD_WEBHOOKS_TOLERANCE_S,
) -> str | None:
    """Why a Standard Webhooks request fails verification, or None when it is genuine.

    `v1` signatures are base64(HMAC-SHA256(key, f"{id}.{timestamp}.{raw body}")) with the key
    the base64 part of a `whsec_` secret. The header may list several (a sender rotating its
    secret); one match is enough. The timestamp must be within `tolerance_s` of `now`, both
    ways, so a captured request cannot be replayed later.
    """
    if not webhook_id or not timestamp or not signature_header:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "webhook-timestamp is not a unix time"
    if abs(now - sent_at) > tolerance_s:
        return f"webhook-timestamp {OUTSIDE_WINDOW}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in signature_header.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return None
    return "no matching webhook-signature"


def sendgrid_event_error(
    verifier: EventWebhook | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float,
    max_age_s: int,
) -> str | None:
    """Why a SendGrid Event Webhook batch fails verification, or None when it is genuine.

    ECDSA (P-256, SHA-256) over the timestamp header followed by the raw body, exactly as
    received: re-serialized JSON, or lost CRLFs between events, no longer verify. SendGrid's
    helper does not bound the timestamp, so a captured batch could be replayed: we do.
    """
    if verifier is None:
        return "the SendGrid event public key is not configured"
    if not signature or not timestamp:
        return "missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-Twilio-Email-Event-Webhook-Timestamp is not a unix time"
    if abs(now - sent_at) > max_age_s:
        return f"X-Twilio-Email-Event-Webhook-Timestamp {OUTSIDE_WINDOW}"
    try:
        valid = verifier.verify_signature(body.decode("utf-8"), signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError, TypeError):
        return "malformed X-Twilio-Email-Event-Webhook-Signature"
    return None if valid else "X-Twilio-Email-Event-Webhook-Signature does not match"
