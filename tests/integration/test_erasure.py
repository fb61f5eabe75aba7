"""Erasure of one customer, end to end on both store backends: the API, the CLI, Temporal, the
blobs, the exports, the originals at Twilio, and redeliveries that must not bring anything
back, for every kind of event a customer leaves behind."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import getpass
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from activities.export import ExportActivities
from analytics import export
from analytics.privacy import Privacy
from runtime.cli import app
from runtime.simulate import (
    public_key_b64,
    sendgrid_event_batch,
    sign_sendgrid_events,
    sign_standard_webhook,
    sms_fields,
)
from switchboard import routing
from switchboard.contract import PublishInput, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.builders import (
    ACCOUNT_SID,
    INBOUND_PATH,
    RECORDING_PATH,
    SMS_PATH,
    VOICE_PATH,
    call_fields,
    email_form,
    media_path,
    mms_fields,
    post_email,
    random_phone,
    recording_fields,
    recording_path,
    signed_sms,
    signed_twilio,
    twilio_sid,
)
from tests.support.export_runs import HASH_KEY, run_export
from tests.support.holders import files_holding, rows_holding
from tests.support.keys import PAYLOAD_KEYS
from tests.support.pipeline import (
    interaction_result,
    running_worker,
    threaded_conversation,
    twilio_media,
)
from tests.support.provider_double import ProviderDouble, provider_double
from tests.support.settings import ingress_settings

PARSE = ("parse", secrets.token_urlsafe(12))
PUSH_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def twilio() -> Iterator[ProviderDouble]:
    with provider_double() as double:
        yield double


@pytest.fixture
def settings(task_queue: str, tmp_path: Path, twilio: ProviderDouble) -> IngressSettings:
    return ingress_settings(
        task_queue,
        data_dir=tmp_path / "data",
        export_dir=tmp_path / "exports",
        export_hash_key=HASH_KEY.decode(),
        sendgrid_inbound_user=PARSE[0],
        sendgrid_inbound_password=PARSE[1],
        push_webhook_secret=PUSH_SECRET,
        sendgrid_event_public_key=public_key_b64(SENDGRID_KEY),
        twilio_account_sid=ACCOUNT_SID,
        twilio_api_base_url=twilio.url,
    )


@pytest.fixture
async def worker(
    client: Client,
    store: Store,
    task_queue: str,
    settings: IngressSettings,
    twilio: ProviderDouble,
) -> AsyncIterator[Worker]:
    media = twilio_media(store, settings.data_dir, twilio.url, 1024 * 1024)
    async with running_worker(client, store, task_queue, media=media) as running:
        yield running


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
    privacy = Privacy(HASH_KEY)
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
        "SWITCHBOARD_EXPORT_HASH_KEY": HASH_KEY.decode(),
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


@dataclass
class Delivery:
    """One webhook as a provider sent it, to send again after the erasure."""

    path: str
    body: bytes
    headers: dict[str, str]
    workflow_ids: list[str]
    auth: tuple[str, str] | None = None


def push_delivery(kind: str, data: dict[str, str]) -> Delivery:
    """A signed push event; its workflow is keyed by its webhook-id (not the message's id)."""
    body = json.dumps({"type": kind, "timestamp": "2026-12-07T10:00:00Z", "data": data}).encode()
    webhook_id = "msg_" + secrets.token_hex(12)
    headers = sign_standard_webhook(PUSH_SECRET, body, webhook_id, int(time.time()))
    return Delivery("/webhooks/push", body, headers, [interaction_workflow_id("push", webhook_id)])


async def deliver(http: httpx.AsyncClient, delivery: Delivery) -> httpx.Response:
    response = await http.post(
        delivery.path, content=delivery.body, headers=delivery.headers, auth=delivery.auth
    )
    assert response.is_success, (delivery.path, response.status_code, response.text)
    return response


async def settle(client: Client, workflow_id: str) -> None:
    """Wait for the workflow's end, whether it completed or failed."""
    handle = client.get_workflow_handle(workflow_id)
    with contextlib.suppress(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=60)


async def history_gone(client: Client, workflow_id: str) -> bool:
    """Whether the workflow's history is deleted (the server deletes asynchronously, within
    seconds to tens of seconds on the dev server)."""
    for _ in range(600):
        try:
            await client.get_workflow_handle(workflow_id).fetch_history()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return True
            raise
        await asyncio.sleep(0.1)
    return False


async def test_every_kind_of_event_is_erased_by_its_links_and_stays_erased(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    settings: IngressSettings,
    twilio: ProviderDouble,
    auth: dict[str, str],
) -> None:
    phone, email = random_phone(), f"erased-{secrets.token_hex(4)}@example.com"
    user = f"user-{secrets.token_hex(6)}"
    texts = {f"text {n}": f"secret-{n}-{secrets.token_hex(6)}" for n in range(7)}
    ip = f"198.51.100.{secrets.randbelow(250) + 1}"
    image, recording = media_path(twilio_sid("MM")), recording_path()
    files = {
        "image": secrets.token_bytes(1500),
        "recording": secrets.token_bytes(3000),
        "attachment": secrets.token_bytes(700),
    }
    twilio.files[image] = (files["image"], "image/jpeg")
    twilio.files[recording] = (files["recording"], "audio/x-wav")
    deliveries: list[Delivery] = []

    def twilio_delivery(path: str, fields: list[tuple[str, str]], *ids: str) -> Delivery:
        signed = signed_twilio(path, fields)
        return Delivery(
            path, signed.body, signed.headers, [interaction_workflow_id("twilio", i) for i in ids]
        )

    # An SMS opens the customer; their email address and push user are linked to them.
    sms_sid = twilio_sid("SM")
    deliveries.append(
        twilio_delivery(
            SMS_PATH, sms_fields(sms_sid, phone, "+14155550100", texts["text 0"]), sms_sid
        )
    )
    await deliver(http, deliveries[-1])
    await threaded_conversation(client, store, "twilio", sms_sid)
    customer_id = (await interaction_result(client, "twilio", sms_sid)).customer_id
    for kind, value in (("email", email), ("push_user", user)):
        linked = await http.post(
            f"/api/customers/{customer_id}/identities",
            json={"kind": kind, "value": value},
            headers=auth,
        )
        assert linked.status_code == 201, linked.text

    # An MMS with an image, a call with its voicemail (both copied from Twilio).
    mms_sid, call_sid = twilio_sid("MM"), twilio_sid("CA")
    recording_key = f"{call_sid}:recording:{recording.rsplit('/', 1)[1]}:completed"
    deliveries += [
        twilio_delivery(
            SMS_PATH, mms_fields(mms_sid, phone, texts["text 1"], [(image, "image/jpeg")]), mms_sid
        ),
        twilio_delivery(VOICE_PATH, call_fields(call_sid, phone), call_sid),
        twilio_delivery(RECORDING_PATH, recording_fields(call_sid, recording), recording_key),
    ]
    # An email with an attachment.
    message_id = f"{secrets.token_hex(8)}@mail.example.com"
    body, content_type = email_form(
        message_id,
        email,
        "Help",
        texts["text 2"],
        [("id.pdf", "application/pdf", files["attachment"])],
    )
    deliveries.append(
        Delivery(
            INBOUND_PATH,
            body,
            {"Content-Type": content_type},
            [interaction_workflow_id("sendgrid", message_id)],
            auth=PARSE,
        )
    )
    # A push reply, a push status, and a push reply PostgreSQL refuses (its text takes no
    # NUL; SQLite keeps it): a failed interaction there, its history indexed by the customer.
    reply_id, notification_id, poison_id = (f"r-{secrets.token_hex(6)}" for _ in range(3))
    deliveries += [
        push_delivery(
            "push.replied",
            {
                "user_id": user,
                "app_id": "parcels",
                "reply_id": reply_id,
                "reply_text": texts["text 3"],
            },
        ),
        push_delivery(
            "push.delivered",
            {"user_id": user, "app_id": "parcels", "notification_id": notification_id},
        ),
        push_delivery(
            "push.replied",
            {
                "user_id": user,
                "app_id": "parcels\x00",
                "reply_id": poison_id,
                "reply_text": texts["text 4"],
            },
        ),
    ]
    # SendGrid events about an email sent to them (with their address and client IP).
    sg_message = secrets.token_hex(11)
    events = [
        {
            "email": email,
            "timestamp": int(time.time()),
            "event": name,
            "sg_event_id": f"ev-{secrets.token_hex(8)}",
            "sg_message_id": f"{sg_message}.filter0001.1.0",
            **({"ip": ip, "useragent": texts["text 5"]} if name == "open" else {}),
        }
        for name in ("delivered", "open")
    ]
    batch = sendgrid_event_batch(events)
    deliveries.append(
        Delivery(
            "/webhooks/sendgrid/events",
            batch,
            sign_sendgrid_events(SENDGRID_KEY, batch, int(time.time())),
            [interaction_workflow_id("sendgrid", e["sg_event_id"]) for e in events],
        )
    )
    for delivery in deliveries[1:]:
        await deliver(http, delivery)
        for workflow_id in delivery.workflow_ids:
            await settle(client, workflow_id)

    # Another number of theirs was a customer of its own until an agent merged it into them:
    # erased with them, its id and its conversation's history too.
    other_phone, other_sid = random_phone(), twilio_sid("SM")
    deliveries.append(
        twilio_delivery(
            SMS_PATH, sms_fields(other_sid, other_phone, "+14155550100", texts["text 6"]), other_sid
        )
    )
    await deliver(http, deliveries[-1])
    await threaded_conversation(client, store, "twilio", other_sid)
    other_id = (await interaction_result(client, "twilio", other_sid)).customer_id
    merged = await http.post(
        f"/api/customers/{customer_id}/merge", json={"from": other_id}, headers=auth
    )
    assert merged.status_code == 200, merged.text

    # All of it is the one customer's; the Twilio files were copied, the poison one failed.
    timeline = (await http.get(f"/api/customers/{customer_id}/interactions", headers=auth)).json()
    assert len(timeline["items"]) == 9, [i["channel"] for i in timeline["items"]]
    refuses_nul = store.engine.dialect.name == "postgresql"
    assert sum(i["status"] == "failed" for i in timeline["items"]) == int(refuses_nul)
    assert any(r.method == "GET" and r.path == recording for r in twilio.requests)
    root = settings.resolved_export_dir()
    run_export(store, root)
    blobs = settings.data_dir / "blobs"
    needles = {
        "phone": phone,
        "email": email,
        "push user": user,
        "customer id": customer_id,
        "merged phone": other_phone,
        "merged customer id": other_id,
        "client ip": ip,
        **texts,
    }
    assert files_holding(root, {k: v.encode() for k, v in needles.items()})  # it was there

    erased = await http.delete(f"/api/customers/{customer_id}", headers=auth)
    assert erased.status_code == 200, erased.text
    counts = erased.json()
    assert counts["provider_files_deleted"] == 2 and counts["provider_files_not_deleted"] == 0
    assert twilio.deleted() >= {image, recording}
    assert counts["raw_events"] == 11, counts  # every webhook but the two linkings

    # The next export rewrites every partition they were in.
    exports = ExportActivities(store, root, Privacy(HASH_KEY), routing.load().hours)
    ActivityEnvironment().run(exports.publish, PublishInput(exports.stage()))
    # Temporal keeps no history of theirs: not the failed one, not the events about them, not
    # their conversation (deleted at once; visibility follows in seconds).
    ids = [i for d in deliveries for i in d.workflow_ids]
    ids += [f"conversation:{customer_id}", f"conversation:{other_id}"]
    for workflow_id in ids:
        assert await history_gone(client, workflow_id), workflow_id

    # Every event, delivered again, and new events about their messages (a late SendGrid
    # event, another push status): acknowledged, dropped, nothing written.
    late = {**events[1], "sg_event_id": f"ev-{secrets.token_hex(8)}", "event": "click"}
    late_batch = sendgrid_event_batch([late])
    deliveries += [
        Delivery(
            "/webhooks/sendgrid/events",
            late_batch,
            sign_sendgrid_events(SENDGRID_KEY, late_batch, int(time.time())),
            [interaction_workflow_id("sendgrid", late["sg_event_id"])],
        ),
        push_delivery(
            "push.opened",
            {"user_id": user, "app_id": "parcels", "notification_id": notification_id},
        ),
    ]
    ids += [i for d in deliveries[-2:] for i in d.workflow_ids]
    for delivery in deliveries:
        await deliver(http, delivery)
    for workflow_id in ids:
        with pytest.raises(RPCError) as info:
            await client.get_workflow_handle(workflow_id).describe()
        assert info.value.status == RPCStatusCode.NOT_FOUND, workflow_id

    # Byte by byte: no row (the audit log keeps the ids whom an erasure and a merge concerned),
    # blob or export file.
    spare = {"audit_log": {"customer id", "merged customer id"}}
    assert rows_holding(store, needles, spare) == []
    assert not any(p.is_file() for p in blobs.rglob("*"))
    file_needles = {k: v.encode() for k, v in needles.items()} | files
    assert files_holding(root, file_needles) == []
