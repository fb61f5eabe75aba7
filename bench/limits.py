"""Body limits and the event loop under large emails, through a real `switchboard up`.

1. A 100 MB chunked body (no Content-Length) to each of the nine webhooks: each must be
   refused with 413, and the ingress's resident memory must grow by less than 10 MB.
2. Twilio SMS acknowledgements at 10/s, first alone (the baseline of this run), then while
   30 MB emails arrive back to back: the SMS ack p99 must stay under 100 ms (MIME parsing runs
   off the event loop).

Usage:  .venv/bin/python -m bench.limits [--sms 200] [--emails 4]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import secrets
import time
from collections.abc import AsyncIterator

import httpx
import psutil

from bench.sms_latency import write
from runtime.benchmark.stack import paced, running_stack, summary
from runtime.simulate import inbound_parse_form, new_message_sid, sign_twilio, sms_fields

WEBHOOKS = [
    "/webhooks/twilio/sms",
    "/webhooks/twilio/sms/status",
    "/webhooks/twilio/voice",
    "/webhooks/twilio/voice/recording",
    "/webhooks/twilio/voice/transcription",
    "/webhooks/twilio/voice/status",
    "/webhooks/sendgrid/inbound",
    "/webhooks/sendgrid/events",
    "/webhooks/push",
]
MB = 1024 * 1024


async def chunks(total: int) -> AsyncIterator[bytes]:
    block = b"x" * MB
    for _ in range(total // MB):
        yield block


def ingress_process(up_pid: int) -> psutil.Process:
    for child in psutil.Process(up_pid).children():
        if "ingress" in child.cmdline():
            return child
    raise SystemExit("no ingress process under `switchboard up`")


def send_emails(url: str, email: bytes, email_type: str, basic: str, count: int) -> None:
    with httpx.Client(timeout=120) as sender:
        for _ in range(count):
            sender.post(
                url,
                content=email,
                headers={"content-type": email_type, "authorization": f"Basic {basic}"},
            )


async def main(sms: int, emails: int) -> dict[str, object]:
    token, inbound_password = secrets.token_hex(16), secrets.token_urlsafe(12)
    basic = base64.b64encode(f"parse:{inbound_password}".encode()).decode()
    settings = {
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_SENDGRID_INBOUND_USER": "parse",
        "SWITCHBOARD_SENDGRID_INBOUND_PASSWORD": inbound_password,
    }
    result: dict[str, object] = {}
    async with running_stack(settings) as stack, httpx.AsyncClient(timeout=120) as http:
        ingress = ingress_process(stack.pid)
        rss_before = ingress.memory_info().rss
        statuses = {}
        for path in WEBHOOKS:
            headers = {"content-type": "application/x-www-form-urlencoded"}
            if path == "/webhooks/sendgrid/inbound":
                headers = {
                    "content-type": "multipart/form-data; boundary=b",
                    "authorization": f"Basic {basic}",
                }
            response = await http.post(
                stack.base_url + path, content=chunks(100 * MB), headers=headers
            )
            statuses[path] = response.status_code
        rss_growth = (ingress.memory_info().rss - rss_before) / MB
        result["chunked_100mb"] = {"statuses": statuses, "ingress_rss_growth_mb": rss_growth}
        print(f"100 MB chunked: {statuses}; ingress RSS growth {rss_growth:.1f} MB")

        email, email_type = inbound_parse_form(
            [
                ("headers", f"Message-ID: <{secrets.token_hex(8)}@example.com>\n"),
                ("from", "someone@example.com"),
                ("to", "support@parse.example.com"),
                ("subject", "big"),
                ("text", "x" * (30 * MB)),
            ],
            boundary="big" + secrets.token_hex(4),
        )

        async def one_sms(i: int) -> None:
            fields = sms_fields(new_message_sid(), "+14155550166", "+14155550100", f"m{i}")
            signed = sign_twilio(stack.base_url + "/webhooks/twilio/sms", fields, token)
            await http.post(signed.url, content=signed.body, headers=signed.headers)

        # Baseline in the same run: the same SMS rate without emails (the machine is shared).
        baseline = await paced(sms, 10, one_sms)
        result["sms_ack_without_emails_s"] = summary(baseline)
        print(f"SMS ack without emails: {json.dumps(summary(baseline))}")
        # From a process of its own, as a provider's emails come: sending 30 MB from a thread
        # of this process would take the GIL from the loop that times the SMS, and measure
        # the load generator instead of the ingress.
        sender = multiprocessing.get_context("spawn").Process(
            target=send_emails,
            args=(stack.base_url + "/webhooks/sendgrid/inbound", email, email_type, basic, emails),
        )
        sender.start()
        emailing = asyncio.create_task(asyncio.to_thread(sender.join))
        started = time.perf_counter()
        acks = await paced(sms, 10, one_sms)
        await emailing
        result["sms_ack_during_30mb_emails_s"] = summary(acks)
        result["seconds"] = time.perf_counter() - started
        print(f"SMS ack while 30 MB emails arrive: {json.dumps(summary(acks))}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sms", type=int, default=200)
    parser.add_argument("--emails", type=int, default=4)
    args = parser.parse_args()
    write("limits", asyncio.run(main(args.sms, args.emails)))
