"""Inbound Parse emails are split in a process of their own, not in a thread of the ingress.

Splitting a 30 MB email runs long C calls (decoding a part, copying it) that hold the GIL for
tens of milliseconds each; in a thread they stall the event loop, and with it every Twilio
acknowledgement, for as long (ack p99 141-187 ms while 30 MB emails arrived, against 42-59 ms
without, `python -m bench.limits` on a quiet machine). A child process has a GIL of its own.
It is spawned on the first email, not with the app, and returns the text already cut to what
the workflow carries, so little crosses back.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from ingress import multipart
from switchboard.providers import sendgrid_inbound


class MailParser:
    """One child process (spawned, never forked: the ingress runs Temporal's threads)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def parse(
        self, content_type: str, body: bytes, limit: int
    ) -> sendgrid_inbound.InboundEmail:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, parse_mail, content_type, body, limit)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def parse_mail(content_type: str, body: bytes, limit: int) -> sendgrid_inbound.InboundEmail:
    """`multipart.FormTooLarge`, `ValueError` or `MalformedPayload` when it cannot be parsed."""
    form = asyncio.run(multipart.parse_form(content_type, body, limit))
    mail = sendgrid_inbound.parse_form(
        form.fields,
        [sendgrid_inbound.Attachment(f.filename, f.content_type, f.data) for f in form.files],
    )
    return replace(mail, text=mail.text[: sendgrid_inbound.MAX_TEXT_CHARS])
