"""Real rows for the access matrix to point its requests at: a customer with a conversation, an
orphaned (failed) interaction, a subscription with a delivery; fresh targets on demand for the
routes that destroy theirs."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from runtime.simulate import sign_twilio, sms_fields
from switchboard.contract import (
    REOPEN,
    RESOLVE,
    ConversationState,
    Identity,
    IdentityKind,
    InteractionResult,
    ReopenInput,
    ResolveInput,
    conversation_workflow_id,
    interaction_workflow_id,
)
from switchboard.store import ApiKeys, ConversationStore, Store, suggestions
from switchboard.store.engine import write_transaction
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.suggestions import MergeSuggestions
from tests.support.builders import post_email, random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN, load_fixture
from tests.support.pipeline import interaction_result, threaded_conversation

OUR_NUMBER = "+14155550100"
# Subscriptions point here: nothing listens, and no delivery worker runs in the matrix.
HOOK_URL = "http://127.0.0.1:9/matrix"
# The Inbound Parse credentials the matrix's app takes, for an email with an attachment.
PARSE = ("matrix", secrets.token_urlsafe(12))


@dataclass
class World:
    store: Store
    temporal: Client
    since: datetime
    phone: str
    customer_id: str
    interaction_id: str
    conversation_id: str
    failure_id: str
    subscription_id: str
    delivery_id: str
    # An email with one attachment (file 0).
    email_interaction_id: str

    def fresh_customer(self) -> str:
        return self.store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))

    def fresh_split(self) -> tuple[str, str]:
        """A customer with a phone and an email address, and the address to split off."""
        customer_id, address = self.fresh_customer(), unique_email()
        assert self.store.link_identity(customer_id, Identity(IdentityKind.EMAIL, address))
        return customer_id, address

    def fresh_suggestion(self) -> str:
        """A merge suggestion: a claim of a fresh customer's number by another one."""
        phone = random_phone()
        owner = self.store.resolve_customer(Identity(IdentityKind.PHONE, phone))
        claim = Identity(IdentityKind.PHONE, phone, verified=False)
        interaction_id, claimant = str(uuid.uuid4()), self.fresh_customer()
        with write_transaction(self.store.engine) as conn:
            suggestions.suggest(conn, interaction_id, claimant, [claim])
        (found,) = [
            s
            for s in MergeSuggestions(self.store.engine).suggestions(500)
            if s["interaction_id"] == interaction_id and s["other_customer_id"] == owner
        ]
        return str(found["suggestion_id"])

    def fresh_key(self) -> str:
        name = "doomed-" + secrets.token_hex(6)
        ApiKeys(self.store.engine).create(name, "analyst")
        return name

    def fresh_subscription(self) -> str:
        row = SubscriptionStore(self.store.engine).create(HOOK_URL, ["*"], None, False)
        return str(row["subscription_id"])

    async def conversation(self, status: str) -> str:
        """The conversation, made `open` or `resolved` first, so every caller's action is
        one the conversation can take."""
        found = ConversationStore(self.store.engine).get(self.conversation_id)
        assert found is not None
        if found["status"] != status:
            handle = self.temporal.get_workflow_handle(conversation_workflow_id(self.customer_id))
            update, arg = (
                (REOPEN, ReopenInput("matrix"))
                if status == "open"
                else (RESOLVE, ResolveInput("matrix"))
            )
            await handle.execute_update(update, arg, result_type=ConversationState)
        return self.conversation_id


async def _post_signed(http: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]) -> None:
    signed = sign_twilio(FIXTURE_PUBLIC_URL + path, fields, FIXTURE_TOKEN)
    response = await http.post(path, content=signed.body, headers=signed.headers)
    assert response.status_code == 200, response.text


async def _orphaned_recording(http: httpx.AsyncClient, temporal: Client) -> str:
    """A recording for a call never seen: orphaned after the app's orphan wait, so listed as
    a failure and retried from its archived raw event."""
    call_sid, recording_sid = "CA" + secrets.token_hex(16), "RE" + secrets.token_hex(16)
    params: dict[str, Any] = load_fixture("twilio_voice.json")["recording_status_completed"]
    fields = params["params"] | {"CallSid": call_sid, "RecordingSid": recording_sid}
    await _post_signed(http, "/webhooks/twilio/voice/recording", list(fields.items()))
    workflow_id = interaction_workflow_id(
        "twilio", f"{call_sid}:recording:{recording_sid}:completed"
    )
    handle = temporal.get_workflow_handle(workflow_id, result_type=InteractionResult)
    assert (await handle.result()).orphaned
    return workflow_id


async def build_world(http: httpx.AsyncClient, temporal: Client, store: Store) -> World:
    """Everything through the real pipeline, as in service: an SMS opens a conversation."""
    since = datetime.now(UTC)
    phone, sid = random_phone(), "SM" + secrets.token_hex(16)
    subscriptions = SubscriptionStore(store.engine)
    subscription_id = str(subscriptions.create(HOOK_URL, ["*"], None, False)["subscription_id"])
    await _post_signed(
        http, "/webhooks/twilio/sms", sms_fields(sid, phone, OUR_NUMBER, "where is my parcel")
    )
    conversation_id = await threaded_conversation(temporal, store, "twilio", sid)
    found = store.find_interaction_key("twilio", sid)
    assert found is not None
    interaction = store.get_interaction(found[0])
    assert interaction is not None
    # The events the SMS wrote, as deliveries to the subscription (no relay runs here).
    delivery_ids = subscriptions.replay(subscription_id, since)
    assert delivery_ids, "the SMS wrote no events out"
    message_id = f"{uuid.uuid4().hex}@mail.example.com"
    attachment = ("label.pdf", "application/pdf", b"%PDF-1.7 matrix")
    await post_email(http, PARSE, message_id, unique_email(), "Label", "here", [attachment])
    email = await interaction_result(temporal, "sendgrid", message_id)
    return World(
        store=store,
        temporal=temporal,
        since=since,
        phone=phone,
        customer_id=interaction.customer_id,
        interaction_id=interaction.interaction_id,
        conversation_id=conversation_id,
        failure_id=await _orphaned_recording(http, temporal),
        subscription_id=subscription_id,
        delivery_id=delivery_ids[0],
        email_interaction_id=email.interaction_id,
    )


def unique_email() -> str:
    return f"matrix.{uuid.uuid4().hex[:10]}@example.com"
