"""`switchboard reprocess`: re-derive interactions from the archived raw events.

For when normalization or routing changes: every selected raw event goes through a new
`InteractionWorkflow` (id `reprocess:{batch}:{provider}:{event key}`, so it never collides with
the original or an earlier batch) with `reprocess=True`, and the store replaces what the event
derived before with what it derives now. Interaction and customer ids stay the same; an event
that failed before and parses now becomes an interaction (and joins its conversation).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowFailureError

from ingress.starter import start_interaction_workflow
from switchboard.contract import (
    Channel,
    InteractionInput,
    RawEvent,
    reprocess_workflow_id,
)
from switchboard.errors import MalformedPayload
from switchboard.providers import PARSERS


@dataclass
class Report:
    batch: str
    started: int = 0
    rederived: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (workflow id, reason)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.started / self.seconds if self.seconds else 0.0


def new_batch() -> str:
    """A batch name that sorts by time and says when it ran: 20261125T101500-3f2a."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)


def channel_of(raw: RawEvent) -> Channel | None:
    """The event's channel by today's parser; None when it cannot be parsed."""
    parser = PARSERS.get((raw.provider, raw.kind))
    if parser is None:
        return None
    try:
        return parser(raw.fields, raw.received_at).interaction.channel
    except MalformedPayload:
        return None


async def reprocess(
    client: Client,
    task_queue: str,
    events: Iterable[tuple[RawEvent, Channel | None]],
    batch: str,
    concurrency: int = 64,
    done: Callable[[], None] = lambda: None,
) -> Report:
    """Run each event through a new workflow, `concurrency` at a time, and wait for them all."""
    report = Report(batch)
    slots = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(raw: RawEvent, channel: Channel | None) -> None:
        workflow_id = reprocess_workflow_id(batch, raw.provider, raw.event_key)
        try:
            handle = await start_interaction_workflow(
                client,
                InteractionInput(raw, reprocess=True),
                workflow_id=workflow_id,
                task_queue=task_queue,
                channel=channel,
            )
            await handle.result()
            report.rederived += 1
        except WorkflowFailureError as exc:
            report.failed.append((workflow_id, str(exc.cause)))
        finally:
            slots.release()
            done()

    tasks = []
    for raw, channel in events:
        await slots.acquire()  # back-pressure: at most `concurrency` workflows in flight
        report.started += 1
        tasks.append(asyncio.create_task(one(raw, channel)))
    await asyncio.gather(*tasks)
    report.seconds = time.perf_counter() - started
    return report
