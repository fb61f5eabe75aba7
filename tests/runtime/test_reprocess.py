"""`switchboard reprocess`: archived raw events re-derived under new routing and parsing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import Client
from typer.testing import CliRunner

from runtime.cli import app
from runtime.reprocess import channel_of, new_batch, reprocess
from switchboard import routing
from switchboard.contract import Channel, interaction_workflow_id
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events
from tests.support.builders import random_phone, sms_input, sms_raw
from tests.support.pipeline import running_worker
from workflows import InteractionWorkflow

NEW_RULE = """
[[rules]]
name = "greetings (new)"
keywords = ["hello"]
queue = "greetings"
priority = 4
first_response = "2h"

"""


def rules_with_a_new_rule(tmp_path: Path) -> routing.Rules:
    shipped = routing.DEFAULT_RULES.read_text()
    at = shipped.index("\n[[rules]]") + 1
    path = tmp_path / "rules.toml"
    path.write_text(shipped[:at] + NEW_RULE + shipped[at:])
    rules = routing.load(path)
    return replace(rules, rules=tuple(r for r in rules.rules if r.business_hours is None))


async def test_reprocessing_rederives_routes_and_recovers_failed_events_in_place(
    client: Client, store: Store, task_queue: str, tmp_path: Path
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    phone = random_phone()
    originals = [sms_input(sender=phone, body=text) for text in ("hello there", "my invoice")]
    # An event the old code failed to process: archived with its reason, no interaction.
    failed_before = sms_raw(sender=phone, body="hello again")
    store.record_failure(failed_before, "no parser for twilio/sms (old code)")

    async with running_worker(client, store, task_queue, slots=8):
        results = [
            await client.execute_workflow(
                InteractionWorkflow.run,
                inp,
                id=interaction_workflow_id("twilio", inp.raw.event_key),
                task_queue=task_queue,
            )
            for inp in originals
        ]
    assert store.get_interaction(results[0].interaction_id).route.queue == "messaging"

    # The new code: a rule that sends greetings elsewhere.
    async with running_worker(client, store, task_queue, 8, rules_with_a_new_rule(tmp_path)):
        events = [(raw, channel_of(raw)) for raw, _ in store.raw_events_between(since)]
        report = await reprocess(client, task_queue, events, new_batch(), concurrency=4)

    assert (report.started, report.rederived, report.failed) == (3, 3, [])
    assert [channel for _, channel in events] == [Channel.SMS] * 3
    hello, invoice = (store.get_interaction(r.interaction_id) for r in results)
    assert hello is not None and invoice is not None
    assert hello.route.queue == "greetings" and hello.route.priority == 4  # re-routed
    assert invoice.route.queue == "billing"  # a rule that did not change, same answer
    assert hello.content.text == "hello there"
    with store.engine.connect() as conn:
        # Same interactions (ids kept), plus the one that failed before; no error left.
        assert conn.execute(select(func.count()).select_from(interactions)).scalar_one() == 3
        assert (
            conn.execute(
                select(func.count()).select_from(raw_events).where(raw_events.c.error.is_not(None))
            ).scalar_one()
            == 0
        )
    recovered = store.find_interaction_key("twilio", failed_before.event_key)
    assert recovered is not None
    workflow_ids = [wf.id async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'")]
    assert sum(wid.startswith(f"reprocess:{report.batch}:twilio:") for wid in workflow_ids) == 3
    assert sum(wid.startswith("interaction:twilio:") for wid in workflow_ids) == 2


def test_reprocess_refuses_a_date_it_cannot_read() -> None:
    result = CliRunner().invoke(app, ["reprocess", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "--since: not an ISO 8601 date or time" in result.output
