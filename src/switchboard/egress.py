"""Calls out to subscribers' URLs made safe: public addresses only, and Standard Webhooks signing.

A subscription URL is checked when it is created and again at every delivery, against the
addresses its name resolves to then, and the request goes to the address that was checked: a
name re-pointed at an inside address after the check (DNS rebinding) cannot be reached.
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


def check_shape(url: str, allow_private: bool) -> None:
    """https with a host (http too when private addresses are allowed, for development)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise RefusedUrl(f"the URL must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise RefusedUrl("the URL has no host")
    if parts.username or parts.password:
        raise RefusedUrl("credentials in the URL are not allowed; the body is signed")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
    except socket.gaierror as exc:
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
