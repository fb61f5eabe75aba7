"""Refused deliveries, one of each reason, sent through the real ingress app.

Temporal is down for it (a closed port), so a genuine delivery is refused as unavailable (503)
and nothing else in the app needs a server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime

from switchboard.contract import Identity, IdentityKind, RefusalReason
from switchboard.store import Store
from switchboard.store.refusals import list_refusals
from tests.support.app import app_client
from tests.support.builders import SMS_PATH, signed_sms, sms_interaction, sms_raw
from tests.support.processes import free_port
from tests.support.settings import ingress_settings

PUSH_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
# What each request below is refused for, and where.
EXPECTED = {
    (SMS_PATH, RefusalReason.SIGNATURE): 403,
    ("/webhooks/push", RefusalReason.STALE): 403,
    ("/webhooks/twilio/voice", RefusalReason.TOO_LARGE): 413,
    ("/webhooks/sendgrid/events", RefusalReason.MALFORMED): 415,
    ("/webhooks/sendgrid/inbound", RefusalReason.AUTH): 401,
    (SMS_PATH, RefusalReason.UNAVAILABLE): 503,
}


def stale_push() -> tuple[bytes, dict[str, str]]:
    """A genuinely signed push event, sent an hour ago (outside the five-minute window)."""
    body = json.dumps({"type": "sent", "data": {}}).encode()
    webhook_id, sent_at = "msg_" + secrets.token_hex(8), int(time.time()) - 3600
    key = base64.b64decode(PUSH_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{sent_at}.".encode() + body, hashlib.sha256).digest()
    return body, {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }


async def refuse_one_of_each(
    store: Store, flush_interval_s: float = 5.0, rounds: int = 1
) -> dict[tuple[str, RefusalReason], int]:
    """Send one delivery per reason of `EXPECTED`, `rounds` times; the statuses answered. The
    counts reach the store by the app's flush (at the latest when the app stops)."""
    settings = ingress_settings(
        "tq-refused",
        temporal_address=f"127.0.0.1:{free_port()}",
        push_webhook_secret=PUSH_SECRET,
        sendgrid_inbound_user="parse",
        sendgrid_inbound_password="secret",
        refusals_flush_interval_s=flush_interval_s,
    )
    form = {"content-type": "application/x-www-form-urlencoded"}
    answered: dict[tuple[str, RefusalReason], int] = {}
    async with app_client(settings, store=store) as http:
        for _ in range(rounds):
            _, genuine = signed_sms()
            forged = {k.lower(): v for k, v in genuine.headers.items()}
            forged["x-twilio-signature"] = "AAAA"
            push_body, push_headers = stale_push()
            sent = {
                (SMS_PATH, RefusalReason.SIGNATURE): (genuine.body, forged),
                ("/webhooks/push", RefusalReason.STALE): (push_body, push_headers),
                ("/webhooks/twilio/voice", RefusalReason.TOO_LARGE): (b"x=" + b"y" * 70_000, form),
                ("/webhooks/sendgrid/events", RefusalReason.MALFORMED): (
                    b"[]",
                    {"content-type": "text/plain"},
                ),
                ("/webhooks/sendgrid/inbound", RefusalReason.AUTH): (
                    b"--b--",
                    {"content-type": "multipart/form-data; boundary=b"},
                ),
                (SMS_PATH, RefusalReason.UNAVAILABLE): (genuine.body, genuine.headers),
            }
            for (path, reason), (body, headers) in sent.items():
                response = await http.post(path, content=body, headers=headers)
                answered[(path, reason)] = response.status_code
    return answered


def stored_counts(store: Store) -> dict[tuple[str, str, str], int]:
    """(provider, endpoint, reason) → refused, over every minute stored."""
    counts: dict[tuple[str, str, str], int] = {}
    for row in list_refusals(store.engine):
        key = (str(row.provider), row.endpoint, str(row.reason))
        counts[key] = counts.get(key, 0) + row.refused
    return counts


def minute_now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


async def clear_of_a_minute_boundary() -> None:
    """Wait for the next minute if this one ends within 10 s, so what a test sends next falls
    in one minute (the counts are per minute)."""
    second = datetime.now(UTC).second
    if second >= 50:
        await asyncio.sleep(60 - second + 0.1)


def store_deliveries(store: Store) -> None:
    """Two accepted twilio deliveries in the raw-event archive, one of them failed to process
    (as the pipeline archives them)."""
    customer = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550199"))
    interaction, raw = sms_interaction(customer, "+14155550199", datetime.now(UTC))
    store.persist_interaction(interaction, raw)
    store.record_failure(replace(sms_raw(), received_at=datetime.now(UTC)), "MalformedPayload")
