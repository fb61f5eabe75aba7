"""Builders shared by tests: raw events and signed requests with the tests' own secrets."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

import httpx
from temporalio.client import Client

from runtime.simulate import (
    SignedRequest,
    inbound_parse_form,
    new_message_sid,
    sign_twilio,
    sms_fields,
)
from switchboard.contract import (
    InteractionInput,
    InteractionResult,
    Provider,
    RawEvent,
    interaction_workflow_id,
)
from switchboard.store import Store
from tests.conftest import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from workflows import InteractionWorkflow

SMS_PATH = "/webhooks/twilio/sms"


def sms_raw(
    sender: str = "+14155550123", body: str = "hi", message_sid: str | None = None
) -> RawEvent:
    sid = message_sid or new_message_sid()
    return RawEvent(
        provider=Provider.TWILIO,
        kind="sms",
        event_key=sid,
        received_at=datetime.now(UTC),
        url=FIXTURE_PUBLIC_URL + SMS_PATH,
        content_type="application/x-www-form-urlencoded",
        fields=sms_fields(sid, sender, "+14155550100", body),
    )


def sms_input(**kwargs: str) -> InteractionInput:
    return InteractionInput(raw=sms_raw(**kwargs))


def signed_sms(
    sender: str = "+14155550123",
    body: str = "hello",
    message_sid: str | None = None,
    token: str = FIXTURE_TOKEN,
) -> tuple[str, SignedRequest]:
    sid = message_sid or new_message_sid()
    request = sign_twilio(
        FIXTURE_PUBLIC_URL + SMS_PATH, sms_fields(sid, sender, "+14155550100", body), token
    )
    return sid, request


def random_phone() -> str:
    return "+1415555" + f"{secrets.randbelow(10_000):04d}"


async def post_email(
    http: httpx.AsyncClient,
    auth: tuple[str, str],
    message_id: str,
    sender: str,
    subject: str,
    text: str,
) -> None:
    """Post an Inbound Parse email (default mode) and check it was accepted."""
    body, content_type = inbound_parse_form(
        [
            ("headers", f"Message-ID: <{message_id}>\n"),
            ("from", sender),
            ("to", "support@parse.example.com"),
            ("subject", subject),
            ("text", text),
        ],
        boundary="b" + secrets.token_hex(4),
    )
    response = await http.post(
        "/webhooks/sendgrid/inbound",
        content=body,
        headers={"Content-Type": content_type},
        auth=auth,
    )
    assert response.status_code == 200, response.text


async def interaction_result(client: Client, provider: str, key: str) -> InteractionResult:
    """The finished InteractionWorkflow of a provider event."""
    handle = client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id(provider, key)
    )
    return await asyncio.wait_for(handle.result(), timeout=60)


async def threaded_conversation(client: Client, store: Store, provider: str, key: str) -> str:
    """The conversation a provider event was threaded into, as the store records it.

    The interaction workflow signals the conversation and ends; the conversation threads the
    interaction a moment later.
    """
    result = await interaction_result(client, provider, key)
    for _ in range(300):
        interaction = store.get_interaction(result.interaction_id)
        if interaction is not None and interaction.conversation_id:
            return interaction.conversation_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"{result.interaction_id} was not threaded into a conversation in 30 s")
