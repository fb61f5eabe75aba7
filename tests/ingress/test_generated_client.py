"""An integrator's client, generated from the live OpenAPI document, drives the README's flow.

`openapi-python-client` (from the lock, offline) generates the package into tmp_path; every
answer the flow meets, errors included, is a typed response of that client: it raises on any
status the document does not name (`raise_on_unexpected_status`).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.app import app_client
from tests.support.builders import random_phone
from tests.support.provider_double import ProviderDouble
from tests.support.replies import converse_by_sms
from tests.support.settings import API_KEY

PACKAGE = "switchboard_client"


def generate(document: dict[str, Any], into: Path) -> None:
    (into / "openapi.json").write_text(json.dumps(document))
    (into / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: it is not read
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
            "--config",
            "config.yaml",
        ],
        cwd=into,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # A warning means a piece of the document the generator could not turn into code.
    assert "Warning" not in done.stdout, done.stdout


@pytest.fixture
async def generated(http: httpx.AsyncClient, tmp_path: Path) -> AsyncIterator[ModuleType]:
    """The generated package, imported from tmp_path."""
    document = (await http.get("/openapi.json")).json()
    await asyncio.to_thread(generate, document, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def operation(package: ModuleType, tag: str, name: str) -> Any:
    """An operation's module: `asyncio_detailed` calls it and parses every documented answer."""
    return importlib.import_module(f"{package.__name__}.api.{tag}.{name}")


async def test_the_readme_flow_through_a_generated_client(
    generated: ModuleType,
    http: httpx.AsyncClient,
    settings: IngressSettings,
    client: Client,
    store: Store,
    double: ProviderDouble,
    replying: Worker,
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    Problem = models.Problem
    list_customers = operation(generated, "api", "list_customers_api_customers_get")
    timeline = operation(
        generated, "api", "customer_interactions_api_customers_customer_id_interactions_get"
    )
    conversations = "conversations"
    assign = operation(
        generated, conversations, "assign_api_conversations_conversation_id_assign_post"
    )
    reply = operation(
        generated, conversations, "reply_api_conversations_conversation_id_reply_post"
    )
    resolve = operation(
        generated, conversations, "resolve_api_conversations_conversation_id_resolve_post"
    )
    get_conversation = operation(
        generated, conversations, "get_conversation_api_conversations_conversation_id_get"
    )
    auth = {"Authorization": f"Bearer {API_KEY}"}
    async with app_client(settings, client, store, headers=auth) as transport:
        api = generated.AuthenticatedClient(
            base_url=str(transport.base_url), token=API_KEY, raise_on_unexpected_status=True
        )
        api.set_async_httpx_client(transport)
        anonymous = generated.Client(base_url=str(http.base_url), raise_on_unexpected_status=True)
        anonymous.set_async_httpx_client(http)

        # A customer writes (the provider's signed webhook), and the agent finds them.
        phone = random_phone()
        await converse_by_sms(http, client, store, phone)
        found = (await list_customers.asyncio_detailed(client=api, phone=phone)).parsed
        [customer] = found.items
        page = (await timeline.asyncio_detailed(customer.customer_id, client=api)).parsed
        [message] = page.items
        assert message.channel == "sms" and page.next_cursor is None
        conversation_id = message.conversation_id

        assigned = await assign.asyncio_detailed(
            conversation_id, client=api, body=models.AssignBody(agent="ada")
        )
        assert assigned.status_code == 200 and assigned.parsed.assignee == "ada"

        key = str(uuid.uuid4())
        body = models.ReplyText(text="It ships today.")
        replies = [
            await reply.asyncio_detailed(
                conversation_id, client=api, body=body, idempotency_key=key
            )
            for _ in range(2)
        ]
        assert [r.status_code for r in replies] == [200, 200]
        assert replies[0].parsed.interaction_ids == replies[1].parsed.interaction_ids
        assert len(double.requests) == 1  # one SMS

        resolved = await resolve.asyncio_detailed(
            conversation_id, client=api, body=models.ResolveBody(code="answered")
        )
        assert resolved.parsed.status == "resolved"

        # Every error the flow can meet is a typed problem of the client.
        errors = [
            await reply.asyncio_detailed(
                conversation_id,
                client=api,
                body=models.ReplyText(text="Another text."),
                idempotency_key=key,
            ),
            await get_conversation.asyncio_detailed(str(uuid.uuid4()), client=api),
            await list_customers.asyncio_detailed(client=anonymous, phone=phone),
            await list_customers.asyncio_detailed(client=api, email="not an address"),
        ]
        assert [(e.status_code, type(e.parsed)) for e in errors] == [
            (422, Problem),
            (404, Problem),
            (401, Problem),
            (422, Problem),
        ]
        assert errors[3].parsed.errors[0].location == ["query", "email"]
