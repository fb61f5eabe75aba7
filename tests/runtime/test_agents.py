"""`switchboard simulate agents`: a team of agents working real conversations through the API,
their replies sent through the real twilio library to the demo's fake provider, until every
resolution figure has a value."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker
from typer.testing import CliRunner

from analytics import metrics, resolution
from analytics.export.schemas import CONVERSATIONS_SCHEMA
from runtime import agents, demo_providers
from runtime.cli import app
from runtime.simulate import sign_twilio, sms_fields
from switchboard.store import ApiKeys, Store
from tests.support.builders import random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation
from tests.support.processes import free_port
from tests.support.provider_double import ProviderDouble
from tests.support.replies import OUR_NUMBER, replying_worker
from tests.support.settings import timeless_rules

# Every figure the agents' actions decide (next response needs the customer to write again;
# FCR a week, or a reopen: the desk reopens one resolution early on, so FCR has a value).
FIGURES = (
    "fcr_rate",
    "first_response_mean_s",
    "resolution_mean_s",
    "resolution_business_mean_s",
    "reopen_rate",
    "unanswered_rate",
    "sla_attainment",
    "resolution_attainment",
    "time_in_queue_mean_s",
    "handle_time_mean_s",
    "csat_mean",
)


@pytest.fixture
async def worker(client: Client, store: Store, task_queue: str) -> AsyncIterator[Worker]:
    with demo_providers.serve() as url:
        async with replying_worker(client, store, task_queue, ProviderDouble(url)) as w:
            yield w


async def test_the_simulated_agents_give_every_resolution_figure_a_value(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    for n in range(9):
        sid = "SM" + secrets.token_hex(16)
        text = "I was charged twice" if n % 3 == 0 else "where is my parcel?"
        sms = sign_twilio(
            FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
            sms_fields(sid, random_phone(), OUR_NUMBER, text),
            FIXTURE_TOKEN,
        )
        answer = await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
        assert answer.status_code == 200
        await threaded_conversation(client, store, "twilio", sid)

    keys = agents.create_keys(store, 3)
    assert [name.split("-")[1] for name in keys] == ["ana", "bo", "cy"]
    assert {k.role for k in ApiKeys(store.engine).list()} == {"agent"}
    # Seeded: each choice waits for the last one's answer, so a seed replays the same work.
    # While the conversations are not still for an hour, nobody resolves one.
    desk = agents.Desk("", keys, timeless_rules(), random.Random(1), timedelta(hours=1))
    for _ in range(4):
        await desk.round(http)
    assert desk.tally[("reply", 200)] and not [a for a in desk.tally if a[0] == "resolve"]
    desk.quiet = timedelta(0)
    for _ in range(12):
        await desk.round(http)

    done = {action for (action, status) in desk.tally if 200 <= status < 300}
    assert done >= {"assign", "reply", "labels", "transfer", "resolve", "csat"}
    assert not [call for call in desk.tally if call[1] >= 500 or call[1] in (401, 403, 422)]

    table = resolution.conversations_table(
        store.engine, timeless_rules().hours, datetime.now(UTC), CONVERSATIONS_SCHEMA
    )
    overall = metrics.overall(table)
    assert {name: overall[name] for name in FIGURES if overall[name] is None} == {}
    # A resolution is followed up once (scored, now and then reopened), not every round.
    assert overall["reopen_rate"] is not None and overall["reopen_rate"] <= 0.25
    resolvers = {row["agent"] for row in table.to_pylist() if row["resolved_by"] == "agent"}
    assert resolvers and resolvers <= {f"key:{name}" for name in keys}
    dispositions = {row["disposition"] for row in table.to_pylist()} - {None}
    assert dispositions and dispositions <= set(timeless_rules().dispositions)


def test_simulate_agents_creates_agent_keys_and_says_when_nothing_worked(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", store.engine.url.render_as_string(False))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    nobody = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app,
        ["simulate", "agents", "--agents", "2", "--rounds", "1", "--every", "0", "--url", nobody],
    )
    assert result.exit_code == 1
    assert "no action succeeded" in result.output and "no answer" in result.output
    created = ApiKeys(store.engine).list()
    assert [(k.name.split("-")[1], k.role) for k in created] == [("ana", "agent"), ("bo", "agent")]
