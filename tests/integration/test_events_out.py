"""Events out through `switchboard up` (what `make run` runs): one stack for every case here.

A receiver on 127.0.0.1 (private addresses allowed by the setting) subscribes through the
API; signed SMS come in through the real webhook; agent actions go through the API; the
receiver checks every event with the reference Standard Webhooks library.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from runtime.simulate import sign_twilio, sms_fields
from tests.support.builders import random_phone
from tests.support.processes import Up, free_port
from tests.support.provider_double import ProviderDouble, provider_double
from tests.support.receiver import Received, Receiver, receiver

TOKEN, API_KEY = secrets.token_hex(16), secrets.token_hex(16)
ACCOUNT, OUR_NUMBER = "AC" + secrets.token_hex(16), "+14155550100"


@dataclass
class Stack:
    api: httpx.Client
    hooks: Receiver
    double: ProviderDouble
    secret: str  # the subscription's signing secret

    def sms(self, text: str) -> str:
        """A signed inbound SMS through the real webhook; its MessageSid."""
        sid = "SM" + secrets.token_hex(16)
        url = f"{self.api.base_url}/webhooks/twilio/sms"
        request = sign_twilio(url, sms_fields(sid, random_phone(), OUR_NUMBER, text), TOKEN)
        response = self.api.post(url, content=request.body, headers=request.headers)
        assert response.status_code == 200, response.text
        return sid

    def verified(self, event: Received) -> dict[str, Any]:
        body: dict[str, Any] = standardwebhooks.Webhook(self.secret).verify(
            event.body, event.headers
        )
        return body

    def conversation_of(self, customer_id: str, timeout_s: float = 30) -> str:
        """The conversation the customer's message was threaded into (a moment after it was
        persisted), as the API shows it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            page = self.api.get(f"/api/customers/{customer_id}/interactions").json()
            threaded = [i["conversation_id"] for i in page["items"] if i["conversation_id"]]
            if threaded:
                return str(threaded[0])
            time.sleep(0.2)
        raise AssertionError(f"no conversation for {customer_id} in {timeout_s} s")


def wait_for(hooks: Receiver, event_type: str, timeout_s: float, **data: Any) -> Received:
    """The first event of this type whose data has these values."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for event in hooks.of_type(event_type):
            if all(event.event["data"].get(k) == v for k, v in data.items()):
                return event
        time.sleep(0.05)
    raise AssertionError(f"no {event_type} with {data} in {timeout_s} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("events-up")
    ingress_port = free_port()
    env = {
        "SWITCHBOARD_DATA_DIR": str(tmp / "data"),
        "SWITCHBOARD_DATABASE_URL": "",
        "SWITCHBOARD_PUBLIC_URL": "",
        "SWITCHBOARD_INGRESS_PORT": str(ingress_port),
        "SWITCHBOARD_TEMPORAL_PORT": str(free_port()),
        "SWITCHBOARD_TEMPORAL_UI_PORT": str(free_port()),
        "SWITCHBOARD_WORKER_METRICS_PORT": str(free_port()),
        "SWITCHBOARD_DASHBOARD_PORT": str(free_port()),
        "SWITCHBOARD_DEMO": "0",
        "SWITCHBOARD_EXPORT_INTERVAL_S": "3600",
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": TOKEN,
        "SWITCHBOARD_API_KEYS": API_KEY,
        "SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE": "1",
    }
    with receiver() as hooks, provider_double() as double:
        env |= {  # agent replies go out through the real twilio library, to the double
            "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT,
            "SWITCHBOARD_TWILIO_FROM_NUMBER": OUR_NUMBER,
            "SWITCHBOARD_TWILIO_API_BASE_URL": double.url,
        }
        up = Up(env, tmp)
        try:
            up.wait_ready()
            with httpx.Client(
                base_url=f"http://127.0.0.1:{ingress_port}",
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=30,
            ) as api:
                created = api.post(
                    "/api/subscriptions",
                    json={
                        "url": hooks.url,
                        "events": [
                            "interaction.persisted",
                            "conversation.resolved",
                            "conversation.replied",
                        ],
                    },
                )
                assert created.status_code == 201, created.text
                yield Stack(api, hooks, double, created.json()["secret"])
            assert up.interrupt() == 0
        finally:
            up.kill()


def test_sms_in_persisted_event_out_signed_then_resolved(stack: Stack) -> None:
    sent_at = time.monotonic()
    sid = stack.sms("where is my parcel")
    persisted = wait_for(
        stack.hooks, "interaction.persisted", timeout_s=5.0, provider_message_id=sid
    )
    assert time.monotonic() - sent_at < 5.0
    event = stack.verified(persisted)
    assert event["type"] == "interaction.persisted"
    assert event["data"]["channel"] == "sms" and event["data"]["direction"] == "inbound"

    conversation_id = stack.conversation_of(event["data"]["customer_id"])
    resolved = stack.api.post(
        f"/api/conversations/{conversation_id}/resolve", json={"code": "answered"}
    )
    assert resolved.status_code == 200, resolved.text
    out = wait_for(
        stack.hooks, "conversation.resolved", timeout_s=5.0, conversation_id=conversation_id
    )
    body = stack.verified(out)
    assert body["data"]["customer_id"] == event["data"]["customer_id"]
    assert body["data"]["detail"] == {"code": "answered"}


def test_agent_reply_is_a_replied_event(stack: Stack) -> None:
    sid = stack.sms("can I change the address?")
    persisted = wait_for(stack.hooks, "interaction.persisted", 10.0, provider_message_id=sid)
    customer_id = persisted.event["data"]["customer_id"]
    conversation_id = stack.conversation_of(customer_id)
    replied = stack.api.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": "Yes, until noon."}
    )
    assert replied.status_code == 200, replied.text
    out = wait_for(
        stack.hooks, "conversation.replied", timeout_s=5.0, conversation_id=conversation_id
    )
    body = stack.verified(out)
    assert body["data"]["customer_id"] == customer_id
    assert body["data"]["interaction_id"] == replied.json()["interaction_ids"][-1]
    assert "content" not in body["data"]  # the subscription did not ask for it
    # The reply went out through the provider, once.
    assert [r.form()["Body"] for r in stack.double.requests] == ["Yes, until noon."]
