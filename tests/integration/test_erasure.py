"""Erasure of one customer, end to end on both store backends: the API, the CLI, Temporal, the
blobs, the exports, and a redelivery that must not bring anything back."""

from __future__ import annotations

import asyncio
import getpass
import json
import secrets
from pathlib import Path

import duckdb
import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from activities.export import ExportActivities
from analytics import export
from analytics.privacy import Privacy
from runtime.cli import app
from switchboard import routing
from switchboard.contract import PublishInput, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.analytics.test_export import KEY, run_export
from tests.support.builders import SMS_PATH, post_email, random_phone, signed_sms
from tests.support.keys import PAYLOAD_KEYS
from tests.support.pipeline import interaction_result, threaded_conversation
from tests.support.settings import ingress_settings

PARSE = ("parse", secrets.token_urlsafe(12))


@pytest.fixture
def settings(task_queue: str, tmp_path: Path) -> IngressSettings:
    return ingress_settings(
        task_queue,
        data_dir=tmp_path / "data",
        export_dir=tmp_path / "exports",
        export_hash_key=KEY.decode(),
        sendgrid_inbound_user=PARSE[0],
        sendgrid_inbound_password=PARSE[1],
    )


async def sms(http: httpx.AsyncClient, client: Client, store: Store, phone: str, text: str) -> str:
    sid, request = signed_sms(sender=phone, body=text)
    assert (await http.post(SMS_PATH, content=request.body, headers=request.headers)).is_success
    await threaded_conversation(client, store, "twilio", sid)
    return sid


async def listed(client: Client, customer_id: str) -> list[str]:
    return [wf.id async for wf in client.list_workflows(f"CustomerId = '{customer_id}'")]


def exported_hashes(root: Path) -> set[str]:
    snapshot = export.current(root)
    rows = duckdb.connect().execute(
        f"SELECT from_hash FROM read_parquet('{snapshot}/interactions/**/*.parquet',"
        " hive_partitioning = true)"
    )
    return {row[0] for row in rows.fetchall()}


async def test_an_erased_customer_is_gone_everywhere_and_stays_gone(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    settings: IngressSettings,
    auth: dict[str, str],
) -> None:
    erased, kept, mailer = random_phone(), random_phone(), f"{secrets.token_hex(4)}@example.com"
    first_sid = await sms(http, client, store, erased, "my card was stolen")
    await sms(http, client, store, erased, "please block it")
    await sms(http, client, store, kept, "hello")
    message_id = f"{secrets.token_hex(8)}@mail.example.com"
    await post_email(http, PARSE, message_id, mailer, "Refund", "my address is 1 Main St")
    mailer_id = (await interaction_result(client, "sendgrid", message_id)).customer_id
    customer_id = (await interaction_result(client, "twilio", first_sid)).customer_id
    blobs = list((settings.data_dir / "blobs").rglob("*"))
    assert any(p.is_file() for p in blobs)

    root = settings.resolved_export_dir()
    run_export(store, root)
    privacy = Privacy(KEY)
    assert privacy.address(erased) in exported_hashes(root)
    assert len(await listed(client, customer_id)) == 3  # two messages and the conversation

    # The API, for the SMS customer.
    response = await http.delete(f"/api/customers/{customer_id}", headers=auth)
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts["interactions"] == 2 and counts["raw_events"] == 2
    assert counts["identities"] == 1 and counts["conversations"] == 1
    assert counts["workflows"] == 3
    assert erased not in response.text

    # The CLI, for the email customer (its raw email is a blob).
    env = {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "SWITCHBOARD_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_EXPORT_DIR": str(root),
        "SWITCHBOARD_EXPORT_HASH_KEY": KEY.decode(),
        "SWITCHBOARD_PAYLOAD_KEYS": PAYLOAD_KEYS,
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["erase", "--customer", mailer_id], env=env
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    assert printed["interactions"] == 1 and printed["blobs"] >= 1, printed
    assert printed["workflows"] == 2, printed
    assert mailer not in result.output
    assert not any(p.is_file() for p in (settings.data_dir / "blobs").rglob("*"))
    # Audited like the API's erasure: who, whom, the counts, and nothing the rows held.
    audit = (await http.get("/api/audit", headers=auth)).json()["items"]
    by_cli = [e for e in audit if e["route"] == "erase"]
    assert len(by_cli) == 1 and by_cli[0]["actor"] == f"cli:{getpass.getuser()}"
    assert by_cli[0]["target"] == mailer_id and by_cli[0]["status"] == 200
    assert by_cli[0]["detail"] == printed
    by_api = [e for e in audit if e["route"] == "/api/customers/{customer_id}"]
    assert [e["detail"] for e in by_api] == [counts]
    assert mailer not in json.dumps(audit) and erased not in json.dumps(audit)

    # The API finds no such customer; the other customer is untouched.
    found = await http.get("/api/customers", params={"phone": erased}, headers=auth)
    assert found.json()["items"] == []
    timeline = await http.get(f"/api/customers/{customer_id}/interactions", headers=auth)
    assert timeline.status_code == 404
    assert (await http.get("/api/customers", params={"phone": kept}, headers=auth)).json()["items"]

    # Temporal lists none of their workflows (visibility catches up, in seconds here).
    for _ in range(300):
        if not await listed(client, customer_id) and not await listed(client, mailer_id):
            break
        await asyncio.sleep(0.2)
    assert await listed(client, customer_id) == [] and await listed(client, mailer_id) == []
    assert (await http.delete(f"/api/customers/{customer_id}", headers=auth)).status_code == 404

    # The next export (as ExportWorkflow's activities run it) rewrites their partitions and
    # leaves no older copy behind.
    exports = ExportActivities(store, root, privacy, routing.load().hours)
    batch = exports.stage()
    assert batch.changed
    ActivityEnvironment().run(exports.publish, PublishInput(batch))
    hashes = exported_hashes(root)
    assert privacy.address(erased) not in hashes and privacy.address(kept) in hashes
    assert [p.name for p in (root / "snapshots").iterdir()] == [export.current(root).name]  # type: ignore[union-attr]
    assert not (root / "staging").exists() or not any((root / "staging").iterdir())
    assert not exports.stage().changed  # settled: nothing left to rewrite

    # The provider redelivers one of the erased messages: acknowledged, and dropped.
    _, again = signed_sms(sender=erased, body="my card was stolen", message_sid=first_sid)
    redelivered = await http.post(SMS_PATH, content=again.body, headers=again.headers)
    assert redelivered.status_code == 200
    await asyncio.sleep(1)
    with pytest.raises(RPCError) as info:
        await client.get_workflow_handle(interaction_workflow_id("twilio", first_sid)).describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND
    assert (await http.get("/api/customers", params={"phone": erased}, headers=auth)).json()[
        "items"
    ] == []
