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
        # IPv6 addresses carrying an IPv4 address: the one inside decides, or they are refused.
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::8.8.8.8", True),  # NAT64, as DNS64 answers on an IPv6-only network
        ("64:ff9b::169.254.169.254", False),
        ("64:ff9b::10.0.0.1", False),
        ("64:ff9b::127.0.0.1", False),
        ("::169.254.169.254", False),  # IPv4-compatible: `[::a9fe:a9fe]`
        ("::8.8.8.8", False),  # IPv4-compatible is refused whatever it holds
        ("64:ff9b:1::8.8.8.8", False),  # NAT64 local use
        ("2002:a9fe:a9fe::1", False),  # 6to4 of the metadata address
        ("2002:808:808::1", False),  # 6to4 whatever it holds
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert egress.is_public(address) is public


async def test_a_name_is_resolved_and_checked_each_time() -> None:
    with pytest.raises(egress.RefusedUrl, match="not public"):
        await egress.resolve("https://localhost/hooks", allow_private=False)
    with pytest.raises(egress.RefusedUrl, match="https"):
        await egress.resolve("http://example.com/hooks", allow_private=False)
    with pytest.raises(egress.RefusedUrl, match="credentials"):
        await egress.resolve("https://user:pw@example.com/hooks", allow_private=False)
    allowed = await egress.resolve("http://localhost:8443/hooks", allow_private=True)
    assert allowed.url == "http://localhost:8443/hooks"


# Egress cases: (url, allow_private, None when it may be called, else what the refusal says).
# IP literals need no DNS, so the table runs on a machine without internet.
EGRESS_CASES = [
    ("https://8.8.8.8/hooks", False, None),
    ("https://8.8.8.8:443/hooks", False, None),
    ("https://[2606:4700::1111]/hooks", False, None),
    ("https://[64:ff9b::808:808]/hooks", False, None),
    ("https://[::ffff:808:808]/hooks", False, None),
    ("https://[::a9fe:a9fe]/latest/meta-data", False, "not public"),
    ("https://[::ffff:a9fe:a9fe]/latest/meta-data", False, "not public"),
    ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", False, "not public"),
    ("https://[64:ff9b::7f00:1]/hooks", False, "not public"),
    ("https://[64:ff9b:1::808:808]/hooks", False, "not public"),
    ("https://[2002:a9fe:a9fe::1]/hooks", False, "not public"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks", False, "not public"),
    ("https://8.8.8.8:22/hooks", False, "port 443"),
    ("https://8.8.8.8:8443/hooks", False, "port 443"),
    ("https://8.8.8.8:99999/hooks", False, "port is not a number from 1 to 65535"),
    ("https://8.8.8.8:http/hooks", False, "port is not a number from 1 to 65535"),
    ("https://8.8.8.8:0/hooks", False, "port 0"),
    ("https://[::1/hooks", False, "not valid"),
    ("https://" + "a" * 64 + ".example/hooks", False, "does not resolve"),
    ("http://8.8.8.8/hooks", False, "https"),
    # Development: plain http, private addresses and other ports, but still a valid port.
    ("http://127.0.0.1:8080/hooks", True, None),
    ("http://127.0.0.1:99999/hooks", True, "port is not a number from 1 to 65535"),
]


@pytest.mark.parametrize(("url", "allow_private", "refused"), EGRESS_CASES)
async def test_egress_cases(url: str, allow_private: bool, refused: str | None) -> None:
    if refused is None:
        await egress.resolve(url, allow_private)
    else:
        with pytest.raises(egress.RefusedUrl, match=refused):
            await egress.resolve(url, allow_private)


async def test_a_public_name_is_called_at_the_address_that_was_checked() -> None:
    # An IP literal needs no DNS on a machine without internet; the pinning is the same.
    target = await egress.resolve("https://8.8.8.8:443/h?x=1", allow_private=False)
    assert target.url == "https://8.8.8.8:443/h?x=1"
    assert target.host_header == "8.8.8.8:443" and target.sni_hostname == "8.8.8.8"


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
