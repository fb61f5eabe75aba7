"""One valid request per API route, pointing at the real rows of a `World`: what an allowed
caller sends in tests/ingress/test_auth_matrix.py, and must get a 2xx for. A new route needs a
builder here (`@builds(method, path template)`), or the matrix fails naming it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.access_world import HOOK_URL, World, unique_email


@dataclass
class Call:
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)


Builder = Callable[[World], Awaitable[Call]]
BUILDERS: dict[tuple[str, str], Builder] = {}


def builds(method: str, path: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        BUILDERS[(method, path)] = builder
        return builder

    return register


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PLAIN_PAYLOADS = {"payloads": [{"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(b"1")}]}


@builds("GET", "/api/customers")
async def _find_customer(w: World) -> Call:
    return Call("/api/customers", params={"phone": w.phone})


@builds("POST", "/api/customers/{customer_id}/identities")
async def _link(w: World) -> Call:
    body = {"kind": "email", "value": unique_email()}
    return Call(f"/api/customers/{w.customer_id}/identities", body)


@builds("GET", "/api/customers/{customer_id}/interactions")
async def _timeline(w: World) -> Call:
    return Call(f"/api/customers/{w.customer_id}/interactions")


@builds("GET", "/api/customers/{customer_id}")
async def _customer(w: World) -> Call:
    return Call(f"/api/customers/{w.customer_id}")


@builds("POST", "/api/customers/{customer_id}/merge")
async def _merge(w: World) -> Call:
    return Call(f"/api/customers/{w.fresh_customer()}/merge", {"from": w.fresh_customer()})


@builds("POST", "/api/customers/{customer_id}/split")
async def _split(w: World) -> Call:
    customer_id, address = w.fresh_split()
    body = {"identities": [{"kind": "email", "value": address}]}
    return Call(f"/api/customers/{customer_id}/split", body)


@builds("GET", "/api/merge-suggestions")
async def _suggestions(w: World) -> Call:
    return Call("/api/merge-suggestions")


@builds("POST", "/api/merge-suggestions/{suggestion_id}/dismiss")
async def _dismiss(w: World) -> Call:
    return Call(f"/api/merge-suggestions/{w.fresh_suggestion()}/dismiss")


@builds("GET", "/api/interactions/{interaction_id}")
async def _interaction(w: World) -> Call:
    return Call(f"/api/interactions/{w.interaction_id}")


@builds("GET", "/api/interactions/{interaction_id}/media/{index}")
async def _media(w: World) -> Call:
    return Call(f"/api/interactions/{w.email_interaction_id}/media/0")


@builds("DELETE", "/api/customers/{customer_id}")
async def _erase(w: World) -> Call:
    return Call(f"/api/customers/{w.fresh_customer()}")


@builds("GET", "/api/conversations")
async def _conversations(w: World) -> Call:
    return Call("/api/conversations")


@builds("GET", "/api/conversations/{conversation_id}")
async def _conversation(w: World) -> Call:
    return Call(f"/api/conversations/{w.conversation_id}")


@builds("POST", "/api/conversations/{conversation_id}/assign")
async def _assign(w: World) -> Call:
    return Call(f"/api/conversations/{await w.conversation('open')}/assign", {})


@builds("POST", "/api/conversations/{conversation_id}/reply")
async def _reply(w: World) -> Call:
    return Call(f"/api/conversations/{await w.conversation('open')}/reply", {"text": "On it."})


@builds("POST", "/api/conversations/{conversation_id}/resolve")
async def _resolve(w: World) -> Call:
    path = f"/api/conversations/{await w.conversation('open')}/resolve"
    return Call(path, {"code": "answered"})


@builds("POST", "/api/conversations/{conversation_id}/reopen")
async def _reopen(w: World) -> Call:
    path = f"/api/conversations/{await w.conversation('resolved')}/reopen"
    return Call(path, {"reason": "customer wrote back"})


@builds("POST", "/api/conversations/{conversation_id}/transfer")
async def _transfer(w: World) -> Call:
    path = f"/api/conversations/{await w.conversation('open')}/transfer"
    return Call(path, {"queue": "billing", "agent": "ana"})


@builds("POST", "/api/conversations/{conversation_id}/labels")
async def _labels(w: World) -> Call:
    return Call(f"/api/conversations/{w.conversation_id}/labels", {"add": ["vip"]})


@builds("POST", "/api/conversations/{conversation_id}/csat")
async def _csat(w: World) -> Call:
    path = f"/api/conversations/{await w.conversation('resolved')}/csat"
    return Call(path, {"score": 4})


@builds("GET", "/api/failures")
async def _failures(w: World) -> Call:
    # Only this module's: the session's Temporal holds other tests' failures.
    return Call("/api/failures", params={"since": w.since.isoformat()})


@builds("POST", "/api/failures/retry")
async def _retry_matching(w: World) -> Call:
    return Call("/api/failures/retry", {"since": w.since.isoformat()})


@builds("POST", "/api/failures/{workflow_id:path}/retry")
async def _retry_one(w: World) -> Call:
    return Call(f"/api/failures/{w.failure_id}/retry")


@builds("GET", "/api/keys")
async def _keys(w: World) -> Call:
    return Call("/api/keys")


@builds("POST", "/api/keys")
async def _create_key(w: World) -> Call:
    return Call("/api/keys", {"name": "new-" + uuid.uuid4().hex[:8], "role": "analyst"})


@builds("DELETE", "/api/keys/{name}")
async def _revoke_key(w: World) -> Call:
    return Call(f"/api/keys/{w.fresh_key()}")


@builds("GET", "/api/audit")
async def _audit(w: World) -> Call:
    return Call("/api/audit")


@builds("POST", "/api/subscriptions")
async def _subscribe(w: World) -> Call:
    return Call("/api/subscriptions", {"url": HOOK_URL, "events": "*"})


@builds("GET", "/api/subscriptions")
async def _subscriptions(w: World) -> Call:
    return Call("/api/subscriptions")


@builds("GET", "/api/subscriptions/{subscription_id}")
async def _subscription(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.subscription_id}")


@builds("PATCH", "/api/subscriptions/{subscription_id}")
async def _change_subscription(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.subscription_id}", {"enabled": True})


@builds("DELETE", "/api/subscriptions/{subscription_id}")
async def _unsubscribe(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.fresh_subscription()}")


@builds("POST", "/api/subscriptions/{subscription_id}/rotate-secret")
async def _rotate(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.subscription_id}/rotate-secret")


@builds("GET", "/api/subscriptions/{subscription_id}/deliveries")
async def _deliveries(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.subscription_id}/deliveries")


@builds("POST", "/api/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry")
async def _retry_delivery(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.subscription_id}/deliveries/{w.delivery_id}/retry")


@builds("POST", "/api/subscriptions/{subscription_id}/replay")
async def _replay(w: World) -> Call:
    return Call(f"/api/subscriptions/{w.subscription_id}/replay", {"since": w.since.isoformat()})


# The codec's loopback exception (`make run`) cannot apply: the matrix calls from outside.
@builds("POST", "/codec/decode")
async def _decode(w: World) -> Call:
    return Call("/codec/decode", PLAIN_PAYLOADS)


@builds("POST", "/codec/encode")
async def _encode(w: World) -> Call:
    return Call("/codec/encode", PLAIN_PAYLOADS)
