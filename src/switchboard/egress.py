"""Calls out to subscribers' URLs made safe: public addresses only, and Standard Webhooks signing.

A subscription URL is checked when it is created and again at every delivery, against the
addresses its name resolves to then, and the request goes to the address that was checked: a
name re-pointed at an inside address after the check (DNS rebinding) cannot be reached.

An IPv6 address may carry an IPv4 address inside it that a translator, a tunnel or the host's
own stack delivers to: such an address is public only if the IPv4 inside is (see `is_public`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class RefusedUrl(ValueError):
    """A subscription URL that may not be called (the message says why, without secrets)."""


@dataclass(frozen=True)
class Target:
    """Where to send: the URL to connect to, and the Host and TLS name to present."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


# The only port a subscription may name unless private addresses are allowed: a receiver of
# webhooks is a web server, and any other port (22, 25, 6379…) is a way to reach something else.
HTTPS_PORT = 443

# IPv6 addresses whose last 32 bits are an IPv4 address that the packet is delivered to:
# IPv4-mapped (the host's own stack) and NAT64's well-known prefix (what a DNS64 resolver
# answers for an IPv4-only name on an IPv6-only network, so refusing it would refuse every
# subscriber there). Public only when the IPv4 inside is.
_EMBEDDING = (
    ipaddress.IPv6Network("::ffff:0:0/96"),
    ipaddress.IPv6Network("64:ff9b::/96"),
)
# Refused whatever they hold: IPv4-compatible (deprecated since RFC 4291; `::a9fe:a9fe` is the
# cloud metadata address), 6to4 (RFC 7526) and Teredo tunnels, which carry an IPv4 address in
# bits of their own, and NAT64's local-use prefix (RFC 8215), whose layout is the network's.
_REFUSED = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("2002::/16"),
    ipaddress.IPv6Network("2001::/32"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)


def check_shape(url: str, allow_private: bool) -> None:
    """https on port 443 with a host (http and any valid port too when private addresses are
    allowed, for development)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, a broken [IPv6] literal
        raise RefusedUrl(f"the URL is not valid: {_reason(exc)}") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise RefusedUrl(f"the URL must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise RefusedUrl("the URL has no host")
    if parts.username or parts.password:
        raise RefusedUrl("credentials in the URL are not allowed; the body is signed")
    if port == 0:
        raise RefusedUrl("the URL is not valid: port 0")
    if not allow_private and port not in (None, HTTPS_PORT):
        raise RefusedUrl(f"the URL must use port {HTTPS_PORT} (https's own)")


def _reason(exc: ValueError) -> str:
    # urllib's messages name the problem, never more of the URL than the port it read.
    text = str(exc)
    return "the port is not a number from 1 to 65535" if "port" in text.lower() else text


def is_public(address: str) -> bool:
    """Whether `address` is on the public internet, and so is whatever IPv4 address it carries
    inside it (see `_EMBEDDING`, `_REFUSED`)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED):
            return False
        if any(ip in net for net in _EMBEDDING):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # Loopback, private, link-local (the cloud metadata address among them), shared (CGNAT),
    # reserved and multicast ranges are all not global.
    return ip.is_global and not ip.is_multicast


async def resolve(url: str, allow_private: bool) -> Target:
    """The address to call for `url`; RefusedUrl unless every address it resolves to is public.

    With private addresses allowed (development, tests) the URL is used as it is.
    """
    check_shape(url, allow_private)
    if allow_private:
        return Target(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # not found, or a name no resolver takes (idna)
        raise RefusedUrl("the URL's host does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(is_public(address) for address in addresses):
        raise RefusedUrl("the URL's host resolves to an address that is not public")
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = f"{host}:{parts.port}" if parts.port else host
    return Target(pinned, host_header=host_header, sni_hostname=host)


def signature(secrets: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        mac = hmac.new(key, signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(mac).decode())
    return " ".join(parts)
