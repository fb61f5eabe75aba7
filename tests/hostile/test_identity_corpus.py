"""Hostile input for verified identities and for merge and split.

- Verdicts a sender could shape (a lookalike envelope domain, a signature by a lookalike or a
  parent domain, garbage in `dkim` or `envelope`) never verify a From: the email is accepted,
  as SendGrid may legitimately post any such value, and kept as a claim.
- Malformed merge, split and dismiss requests are refused with their 4xx, and change nothing.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.contract import Identity, IdentityKind, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import customer_changes, customers, identities
from tests.support.builders import post_email
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

AUTH = ("parse", secrets.token_urlsafe(12))
SENDER = "amelia@example.com"
# (SPF, dkim, envelope) as a sender who does not hold example.com could have them posted.
FORGED_VERDICTS = {
    "lookalike envelope domain": ("pass", "none", '{"from": "x@example.com.evil.test"}'),
    "suffix-sharing envelope domain": ("pass", "none", '{"from": "x@badexample.com"}'),
    "lookalike signer": ("fail", "{@evil-example.com : pass}", '{"from": "x@evil.test"}'),
    "signer is the suffix": ("fail", "{@com : pass}", "{}"),
    "result is not pass": ("softfail", "{@example.com : passed}", "{}"),
    "envelope not JSON": ("pass", "none", "example.com"),
    "envelope sender not a string": ("pass", "none", '{"from": ["x@example.com"]}'),
    "no envelope at all": ("pass", "", ""),
    "garbage verdicts": ("\x7f" * 40, "{{{@@@:::}}}", "[" * 100),
}


@pytest.fixture
def settings(task_queue: str, tmp_path: Any) -> IngressSettings:
    return ingress_settings(
        task_queue,
        sendgrid_inbound_user=AUTH[0],
        sendgrid_inbound_password=AUTH[1],
        data_dir=tmp_path / "data",
    )


async def test_forged_verdicts_are_accepted_as_claims_never_verified(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    owner = store.resolve_customer(Identity(IdentityKind.EMAIL, SENDER))
    sent = {}
    for case, (spf, dkim, envelope) in FORGED_VERDICTS.items():
        message_id = f"{secrets.token_hex(6)}@mail.example.com"
        # post_email checks the answer: 200, accepted.
        await post_email(
            http,
            AUTH,
            message_id,
            f"Amelia <{SENDER}>",
            "Refund",
            "send it here",
            spf=spf,
            dkim=dkim,
            envelope=envelope,
        )
        sent[case] = message_id
    for case, message_id in sent.items():
        result = await client.get_workflow_handle_for(
            InteractionWorkflow.run, interaction_workflow_id("sendgrid", message_id)
        ).result()
        stored = store.get_interaction(result.interaction_id)
        assert stored is not None
        assert (stored.identity_verified, stored.customer_id != owner) == (False, True), case
    assert store.list_interactions(owner, 50) == []


def _count(store: Store) -> tuple[int, ...]:
    with store.engine.connect() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (customers, identities, customer_changes)
        )


async def test_malformed_merge_split_and_dismiss_requests_are_4xx_and_change_nothing(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    kim = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550341"))
    merge, split = f"/api/customers/{kim}/merge", f"/api/customers/{kim}/split"
    before = _count(store)
    many = [{"kind": "phone", "value": f"+1415555{n:04d}"} for n in range(101)]
    attempts: list[tuple[str, str, Any, int]] = [
        ("merge", merge, b"{not json", 422),
        ("merge", merge, {"from": "x" * 10_000}, 422),
        ("merge", merge, {"from": ["a"]}, 422),
        ("merge", merge, {"from": ""}, 422),
        ("merge", "/api/customers/..%2F..%2Fetc/merge", {"from": kim}, 404),
        ("merge", merge, {"from": "' OR 1=1 --"}, 404),
        ("split", split, {"identities": "phone"}, 422),
        ("split", split, {"identities": many}, 422),
        ("split", split, {"identities": [{"kind": "fax", "value": "1"}]}, 422),
        ("split", split, {"identities": [{"kind": "phone", "value": "\x00"}]}, 422),
        ("split", split, {"identities": [{"kind": "push_user", "value": "   "}]}, 422),
        ("split", "/api/customers/nobody/split", {"identities": many[:1]}, 404),
        ("dismiss", "/api/merge-suggestions/%00/dismiss", None, 404),
    ]
    wrong = []
    for label, path, body, expected in attempts:
        if isinstance(body, bytes):
            headers = {**auth, "Content-Type": "application/json"}
            response = await http.post(path, content=body, headers=headers)
        else:
            response = await http.post(path, json=body, headers=auth)
        if response.status_code != expected:
            wrong.append(f"{label} {path} {json.dumps(body)[:60]}: {response.status_code}")
    assert wrong == []
    assert _count(store) == before
