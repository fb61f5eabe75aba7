"""POST /webhooks/sendgrid/inbound: Inbound Parse in default and raw mode, byte-exact.

The captured multipart bodies are replayed as they are; unique ids are swapped in where a
test needs its own message (the session's Temporal server is shared).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.blobs import BlobStore
from switchboard.contract import Identity, IdentityKind, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events
from tests.support.app import app_client
from tests.support.builders import post_email
from tests.support.fixtures import load_fixture
from tests.support.pipeline import assert_nothing_started
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

PARSE = load_fixture("sendgrid_inbound_parse.json")
PATH = "/webhooks/sendgrid/inbound"
USER, PASSWORD = "parse-" + secrets.token_hex(4), secrets.token_urlsafe(16)
FIXTURE_MESSAGE_ID = b"CAN_P_JMvV7ZpAQhOnDienypLrJmuhN=LQWweu4yScw4jQyXY2w@mail.gmail.com"


@pytest.fixture
def settings(task_queue: str, tmp_path: Any) -> IngressSettings:
    return ingress_settings(
        task_queue,
        sendgrid_inbound_user=USER,
        sendgrid_inbound_password=PASSWORD,
        data_dir=tmp_path / "data",
    )


def fixture_body(name: str) -> tuple[bytes, str]:
    multipart = PARSE[name]["multipart"]
    return base64.b64decode(multipart["body_b64"]), multipart["content_type"]


def unique(body: bytes) -> tuple[bytes, str]:
    """The body with a Message-ID (or, lacking one, a recipient) of its own."""
    tag = secrets.token_hex(6)
    if FIXTURE_MESSAGE_ID in body:
        return body.replace(
            FIXTURE_MESSAGE_ID, f"{tag}@mail.example.com".encode()
        ), f"{tag}@mail.example.com"
    return body.replace(b"inbox@parse.example.com", f"inbox+{tag}@parse.example.com".encode()), tag


async def post(
    http: httpx.AsyncClient, body: bytes, content_type: str, auth: Any = (USER, PASSWORD)
) -> httpx.Response:
    return await http.post(PATH, content=body, headers={"Content-Type": content_type}, auth=auth)


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def stored_email(client: Client, store: Store, body: bytes, key: str | None = None) -> Any:
    """The stored email; its key is its Message-ID, or else the SHA-256 of the post."""
    key = key or hashlib.sha256(body).hexdigest()
    result = await client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id("sendgrid", key)
    ).result()
    return store.get_interaction(result.interaction_id)


async def test_SG_PARSE_03_default_mode_with_attachments_as_blob_references(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, settings: IngressSettings
) -> None:
    body, content_type = fixture_body("default_mode")
    body, message_id = unique(body)
    response = await post(http, body, content_type)
    assert response.status_code == 200, response.text
    mail = await stored_email(client, store, body, message_id)
    assert mail.channel == "email" and mail.direction == "inbound"
    assert mail.provider_message_id == message_id
    assert mail.from_address == "sender@example.com"
    assert mail.content.subject == "Different File Types"
    assert mail.content.message_id == message_id
    files = PARSE["default_mode"]["files"]
    assert [m.filename for m in mail.content.media] == [f["filename"] for f in files.values()]
    assert [m.content_type for m in mail.content.media] == [
        f["content_type"] for f in files.values()
    ]
    blobs = BlobStore(settings.data_dir / "blobs")
    for media in mail.content.media:
        assert media.url.startswith("blob:sha256:")
        assert len(blobs.get(media.url)) == media.size_bytes
    with store.engine.connect() as conn:
        fields = dict(conn.execute(select(raw_events.c.fields)).scalar_one())
    # The whole post is kept, byte for byte, for re-deriving the interaction later.
    assert blobs.get(fields["raw"]) == body


async def test_SG_PARSE_03_raw_mode_is_parsed_from_the_mime_message(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    body, content_type = fixture_body("raw_mode")
    body, _ = unique(body)
    assert (await post(http, body, content_type)).status_code == 200
    mail = await stored_email(client, store, body)
    assert mail.content.subject == "Hello"
    assert mail.from_address == "sender@example.com"
    assert mail.content.text and mail.content.text.strip()
    assert [m.filename for m in mail.content.media] == ["note.txt"]


async def test_SG_PARSE_02_text_is_decoded_with_the_charsets_field(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    body, content_type = fixture_body("non_utf8_charsets")
    body, _ = unique(body)
    assert (await post(http, body, content_type)).status_code == 200
    mail = await stored_email(client, store, body)
    expected = PARSE["non_utf8_charsets"]["expected_decoded"]
    assert mail.content.text == expected["text"]
    assert mail.content.subject == expected["subject"]
    assert mail.from_address == "jurgen@example.de"


async def test_a_long_text_keeps_its_beginning_exactly_in_a_stateful_charset(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    # Only the kept beginning of a long text is decoded, in pieces; iso-2022-jp switches
    # between ASCII and JIS with escape sequences that the pieces' borders cut through.
    text = "".join(f"line {i}: お問い合わせありがとうございます。\r\n" for i in range(8000))
    boundary = "b" + secrets.token_hex(8)
    parts = [
        (b"from", f"jp.{secrets.token_hex(3)}@example.jp".encode()),
        (b"to", b"inbox@parse.example.com"),
        (b"charsets", b'{"text": "iso-2022-jp", "from": "UTF-8"}'),
        (b"text", text.encode("iso-2022-jp")),
    ]
    body = (
        b"".join(
            b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (boundary.encode(), name, value)
            for name, value in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    assert len(text) > 64 * 1024  # longer than the workflow keeps
    response = await post(http, body, f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200, response.text
    mail = await stored_email(client, store, body)
    assert mail.content.text == text[: 64 * 1024]


@pytest.mark.parametrize(
    "auth",
    [None, (USER, "wrong"), ("someone", PASSWORD), ("", "")],
    ids=["none", "password", "user", "empty"],
)
async def test_SG_PARSE_04_basic_auth_is_required(
    auth: Any, http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    body, content_type = fixture_body("default_mode")
    response = await post(http, body, content_type, auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_SG_PARSE_01_parts_over_starlettes_1_MiB_are_accepted_and_the_limit_is_413(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    task_queue: str,
    tmp_path: Any,
) -> None:
    boundary = "b" + secrets.token_hex(8)
    html = "<p>" + "x" * (3 * 1024 * 1024) + "</p>"
    parts = {
        "from": f"Big <big.{secrets.token_hex(3)}@example.com>",
        "to": "inbox@parse.example.com",
        "subject": "big",
        "text": "see html",
        "html": html,
    }
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in parts.items()
        ).encode()
        + f"--{boundary}--\r\n".encode()
    )
    content_type = f"multipart/form-data; boundary={boundary}"
    assert (await post(http, body, content_type)).status_code == 200
    mail = await stored_email(client, store, body)
    assert mail.content.subject == "big"

    small = ingress_settings(
        task_queue,
        sendgrid_inbound_user=USER,
        sendgrid_inbound_password=PASSWORD,
        sendgrid_inbound_max_bytes=1024 * 1024,
        data_dir=tmp_path / "small",
    )
    async with app_client(small, client, store) as h:
        assert (await post(h, body, content_type)).status_code == 413
    assert count(store, raw_events) == 1


async def test_malformed_posts_are_refused_and_start_nothing(
    http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    body, _ = fixture_body("default_mode")
    assert (await post(http, body, "application/json")).status_code == 415
    assert (await post(http, body, "multipart/form-data")).status_code == 400  # no boundary
    no_sender = b'--x\r\nContent-Disposition: form-data; name="to"\r\n\r\na@b.c\r\n--x--\r\n'
    response = await post(http, no_sender, "multipart/form-data; boundary=x")
    assert response.status_code == 400 and "sender" in response.json()["detail"]
    bad_mime = b'--x\r\nContent-Disposition: form-data; name="email"\r\n\r\n\r\n--x--\r\n'
    assert (await post(http, bad_mime, "multipart/form-data; boundary=x")).status_code == 400
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_redelivery_and_threading(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    tag = secrets.token_hex(5)
    headers = (
        f"Message-ID: <reply-{tag}@mail.example.com>\nIn-Reply-To: <orig-{tag}@x>\n"
        f"References: <root-{tag}@x> <orig-{tag}@x>\n"
    )
    parts = {
        "headers": headers,
        "from": "Pat <PAT@Example.com>",
        "to": "support@parse.example.com",
        "subject": "Re: order",
        "text": "Any news?",
    }
    body = (
        "".join(
            f'--x\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in parts.items()
        ).encode()
        + b"--x--\r\n"
    )
    for _ in range(3):  # SendGrid retries whatever it did not see answered
        assert (await post(http, body, "multipart/form-data; boundary=x")).status_code == 200
    mail = await stored_email(client, store, body, f"reply-{tag}@mail.example.com")
    assert count(store, interactions) == 1
    assert mail.from_address == "pat@example.com"
    assert mail.content.in_reply_to == f"orig-{tag}@x"
    assert mail.content.references == [f"root-{tag}@x", f"orig-{tag}@x"]


async def test_a_sender_only_an_aligned_verdict_verifies_joins_the_customer_it_names(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    address = f"dana.{secrets.token_hex(3)}@example.com"
    owner = store.resolve_customer(Identity(IdentityKind.EMAIL, address))

    # SPF fail, no signature: anyone could have written it. It stays out of Dana's timeline.
    forged = f"forged-{secrets.token_hex(4)}@mail.example.com"
    await post_email(
        http, (USER, PASSWORD), forged, f"Dana <{address}>", "Refund", "wire it to me", spf="fail"
    )
    claimed = await stored_email(client, store, b"", forged)
    assert claimed.customer_id != owner
    assert (claimed.identity_verified, claimed.from_address) == (False, address)
    shown = (await http.get(f"/api/interactions/{claimed.interaction_id}", headers=auth)).json()
    assert shown["identity_verified"] is False
    assert shown["claimed_identities"] == [{"kind": "email", "value": address, "verified": False}]
    timeline = await http.get(f"/api/customers/{owner}/interactions", headers=auth)
    assert timeline.json()["items"] == []
    assert store.find_customer(Identity(IdentityKind.EMAIL, address))["customer_id"] == owner  # type: ignore[index]
    suggestions = (await http.get("/api/merge-suggestions", headers=auth)).json()["items"]
    (suggestion,) = [s for s in suggestions if s["interaction_id"] == claimed.interaction_id]
    assert (suggestion["customer_id"], suggestion["other_customer_id"]) == (
        claimed.customer_id,
        owner,
    )
    assert suggestion["claim_kind"] == "email" and address not in json.dumps(suggestion)

    # The same email signed by the From domain (SPF failing, as after a forward) is Dana's.
    signed = f"signed-{secrets.token_hex(4)}@mail.example.com"
    await post_email(
        http,
        (USER, PASSWORD),
        signed,
        f"Dana <{address}>",
        "Refund",
        "wire it to me",
        spf="fail",
        dkim="{@example.com : pass}",
    )
    verified = await stored_email(client, store, b"", signed)
    assert (verified.customer_id, verified.identity_verified) == (owner, True)
    timeline = await http.get(f"/api/customers/{owner}/interactions", headers=auth)
    assert [i["interaction_id"] for i in timeline.json()["items"]] == [verified.interaction_id]
