"""Ack latency per webhook endpoint: N correctly signed requests each, at a fixed rate.

Every provider's endpoint is driven the way the provider calls it (Twilio signatures,
SendGrid basic auth and ECDSA, Standard Webhooks), through a real `switchboard up`; a bare
`start_workflow` on the same server is measured in the same run as the baseline.

Usage:  .venv/bin/python -m bench.webhooks [--count 200] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import time
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.client import Client

from bench.sms_latency import write
from runtime.benchmark.stack import paced, running_stack, summary
from runtime.simulate import (
    inbound_parse_form,
    public_key_b64,
    sendgrid_event_batch,
    sign_sendgrid_events,
    sign_standard_webhook,
    sign_twilio,
    sms_fields,
)

Request = tuple[str, bytes, dict[str, str]]


def twilio(path: str, token: str, fields: Callable[[int], list[tuple[str, str]]]):  # type: ignore[no-untyped-def]
    def build(base: str, i: int) -> Request:
        signed = sign_twilio(base + path, fields(i), token)
        return path, signed.body, signed.headers

    return build


async def main(count: int, rate: float) -> dict[str, object]:
    token = secrets.token_hex(16)
    push_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    user, password = "parse", secrets.token_urlsafe(12)
    run = secrets.token_hex(4)
    settings = {
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_PUSH_WEBHOOK_SECRET": push_secret,
        "SWITCHBOARD_SENDGRID_EVENT_PUBLIC_KEY": public_key_b64(sendgrid_key),
        "SWITCHBOARD_SENDGRID_INBOUND_USER": user,
        "SWITCHBOARD_SENDGRID_INBOUND_PASSWORD": password,
    }
    call = lambda i: f"CA{run}{i:028d}"  # noqa: E731
    call_fields = lambda i, extra: [  # noqa: E731
        ("CallSid", call(i)),
        ("From", "+14155550123"),
        ("To", "+14155550100"),
        ("Direction", "inbound"),
        *extra,
    ]
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def inbound(base: str, i: int) -> Request:
        body, content_type = inbound_parse_form(
            [
                ("headers", f"Message-ID: <{run}-{i}@mail.example.com>\n"),
                ("from", "Pat <pat@example.com>"),
                ("to", "support@parse.example.com"),
                ("subject", "Order"),
                ("text", "Hello " * 50),
                ("charsets", '{"text":"utf-8"}'),
            ],
            boundary="b" + run,
        )
        return (
            "/webhooks/sendgrid/inbound",
            body,
            {"Content-Type": content_type, "Authorization": auth},
        )

    def events(base: str, i: int) -> Request:
        body = sendgrid_event_batch(
            [
                {
                    "email": "pat@example.com",
                    "timestamp": int(time.time()),
                    "event": "delivered",
                    "sg_event_id": f"{run}-{i}",
                    "sg_message_id": f"msg{run}{i}.filter0001",
                }
            ]
        )
        return (
            "/webhooks/sendgrid/events",
            body,
            sign_sendgrid_events(sendgrid_key, body, int(time.time())),
        )

    def push(base: str, i: int) -> Request:
        body = json.dumps(
            {
                "type": "push.delivered",
                "data": {"notification_id": f"ntf_{run}_{i}", "user_id": "user-1"},
            }
        ).encode()
        return (
            "/webhooks/push",
            body,
            sign_standard_webhook(push_secret, body, f"msg_{run}_{i}", int(time.time())),
        )

    endpoints = {
        "/webhooks/twilio/sms": twilio(
            "/webhooks/twilio/sms",
            token,
            lambda i: sms_fields(f"SM{run}{i:028d}", "+14155550123", "+14155550100", "hi"),
        ),
        "/webhooks/twilio/sms/status": twilio(
            "/webhooks/twilio/sms/status",
            token,
            lambda i: [
                ("MessageSid", f"SM{run}{i:028d}"),
                ("MessageStatus", "delivered"),
                ("From", "+14155550100"),
                ("To", "+14155550123"),
            ],
        ),
        "/webhooks/twilio/voice": twilio(
            "/webhooks/twilio/voice", token, lambda i: call_fields(i, [("CallStatus", "ringing")])
        ),
        "/webhooks/twilio/voice/recording": twilio(
            "/webhooks/twilio/voice/recording",
            token,
            lambda i: [
                ("CallSid", call(i)),
                ("RecordingSid", f"RE{run}{i:028d}"),
                ("RecordingStatus", "completed"),
                ("RecordingDuration", "9"),
                ("RecordingUrl", "https://api.twilio.com/rec"),
            ],
        ),
        "/webhooks/twilio/voice/transcription": twilio(
            "/webhooks/twilio/voice/transcription",
            token,
            lambda i: call_fields(
                i,
                [
                    ("TranscriptionSid", f"TR{run}{i:028d}"),
                    ("TranscriptionText", "call me back"),
                    ("TranscriptionStatus", "completed"),
                ],
            ),
        ),
        "/webhooks/twilio/voice/status": twilio(
            "/webhooks/twilio/voice/status",
            token,
            lambda i: call_fields(i, [("CallStatus", "completed")]),
        ),
        "/webhooks/sendgrid/inbound": inbound,
        "/webhooks/sendgrid/events": events,
        "/webhooks/push": push,
    }
    figures: dict[str, object] = {"requests_per_endpoint": count, "rate_per_s": rate}
    async with running_stack(settings) as stack:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
            for name, build in endpoints.items():

                async def send(i: int, build=build) -> None:  # type: ignore[no-untyped-def]
                    path, body, headers = build(stack.base_url, i)
                    response = await http.post(path, content=body, headers=headers)
                    if response.status_code >= 300:
                        raise RuntimeError(
                            f"{path} answered {response.status_code}: {response.text}"
                        )

                await send(count + 1)  # warm-up
                figures[name] = summary(await paced(count, rate, send))
        client = await Client.connect(stack.temporal_address)

        async def bare_start(i: int) -> None:
            await client.start_workflow(
                "Unregistered", id=f"bench-start-{secrets.token_hex(8)}", task_queue="nobody"
            )

        figures["baseline_bare_start_workflow"] = summary(await paced(count, rate, bare_start))
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="ack latency per webhook endpoint")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    args = parser.parse_args()
    write("webhooks", asyncio.run(main(args.count, args.rate)))
