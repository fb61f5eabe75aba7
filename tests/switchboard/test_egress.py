"""Calls out: only public addresses unless allowed, pinned to the address checked; signatures."""

from __future__ import annotations

import time

import pytest
import standardwebhooks

from switchboard import egress
from switchboard.store.subscriptions import new_secret


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.2.3.4", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # shared address space
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert egress.is_public(address) is public


async def test_a_name_is_resolved_and_checked_each_time() -> None:
    with pytest.raises(egress.RefusedUrl, match="not public"):
        await egress.resolve("https://localhost:8443/hooks", allow_private=False)
    with pytest.raises(egress.RefusedUrl, match="https"):
        await egress.resolve("http://example.com/hooks", allow_private=False)
    with pytest.raises(egress.RefusedUrl, match="credentials"):
        await egress.resolve("https://user:pw@example.com/hooks", allow_private=False)
    allowed = await egress.resolve("http://localhost:8443/hooks", allow_private=True)
    assert allowed.url == "http://localhost:8443/hooks"


async def test_a_public_name_is_called_at_the_address_that_was_checked() -> None:
    # An IP literal needs no DNS on a machine without internet; the pinning is the same.
    target = await egress.resolve("https://8.8.8.8:8443/h?x=1", allow_private=False)
    assert target.url == "https://8.8.8.8:8443/h?x=1"
    assert target.host_header == "8.8.8.8:8443" and target.sni_hostname == "8.8.8.8"


def test_signatures_verify_with_the_reference_library_for_each_secret() -> None:
    old, new = new_secret(), new_secret()
    body, webhook_id, timestamp = b'{"type":"sla.breached"}', "msg_1", int(time.time())
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": egress.signature([new, old], webhook_id, timestamp, body),
    }
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(body, headers) == {"type": "sla.breached"}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(body, headers)
