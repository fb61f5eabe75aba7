"""OIDC bearer tokens: signed JWTs checked by PyJWT against the issuer's published keys.

PyJWT checks the signature, `exp`, `nbf`, `iss` and `aud`. The keys (the issuer's discovery
document, then its JWKS) are fetched by one task at a time, off the request path: a request
only waits, without holding a thread or a lock, for a fetch already under way. A token naming
a key id not seen yet asks for a fetch at most once per cooldown (the issuer rotated its
keys); a failed fetch is remembered and retried with exponential backoff, so while the issuer
is down a burst of made-up tokens is refused at once and never queues anyone else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from switchboard.permissions import Role
from switchboard.settings import IngressSettings

log = logging.getLogger(__name__)

# Asymmetric algorithms only: `none` and HMAC (a shared secret an attacker could guess or use
# the public key as) are never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
LEEWAY_S = 30
FETCH_TIMEOUT_S = 5.0
KEYS_LIFESPAN_S = 3600.0
# A request whose key is not known waits at most this long for a fetch under way.
KEY_WAIT_S = 2.0
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 300.0


class InvalidToken(Exception):
    """The token is not one the configured issuer signed for this audience, now."""


class NoRole(Exception):
    """The token is valid but names no Switchboard role."""


class OidcVerifier:
    """Built once per process, used from its event loop; `close()` at shutdown."""

    def __init__(
        self, settings: IngressSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise ValueError("OIDC needs SWITCHBOARD_OIDC_ISSUER and SWITCHBOARD_OIDC_AUDIENCE")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.roles_claim = settings.oidc_roles_claim
        self._jwks_url = settings.oidc_jwks_url
        self._cooldown_s = settings.oidc_jwks_refetch_cooldown_s
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S)
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._fetch: asyncio.Task[None] | None = None
        self._failures = 0
        self._retry_at = 0.0

    async def close(self) -> None:
        if self._fetch is not None:
            self._fetch.cancel()
        await self._http.aclose()

    def refresh(self) -> asyncio.Task[None] | None:
        """The fetch under way, or a new one when the cooldown and any backoff allow it."""
        if self._fetch is not None and not self._fetch.done():
            return self._fetch
        now = self._clock()
        if now < self._retry_at:
            return None
        if self._fetched_at is not None and now - self._fetched_at < self._cooldown_s:
            return None
        self._fetch = asyncio.create_task(self._fetch_keys())
        return self._fetch

    async def _fetch_keys(self) -> None:
        try:
            url = self._jwks_url or await self._discover()
            response = await self._http.get(url)
            response.raise_for_status()
            published = PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, KeyError, jwt.PyJWTError) as exc:
            self._failures += 1
            backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
            self._retry_at = self._clock() + backoff
            log.warning(
                "OIDC keys not fetched (%s); next try in %.0f s", type(exc).__name__, backoff
            )
            return
        self._keys = {
            key.key_id: key
            for key in published.keys
            if key.key_id and key.public_key_use in ("sig", None)
        }
        self._fetched_at, self._failures, self._retry_at = self._clock(), 0, 0.0

    async def _discover(self) -> str:
        """The `jwks_uri` of the issuer's discovery document (kept once found)."""
        response = await self._http.get(f"{self.issuer}/.well-known/openid-configuration")
        response.raise_for_status()
        self._jwks_url = str(response.json()["jwks_uri"])
        return self._jwks_url

    async def _key(self, kid: str) -> PyJWK:
        fetched = self._fetched_at
        if fetched is not None and self._clock() - fetched > KEYS_LIFESPAN_S:
            self.refresh()  # in the background: the keys held still serve meanwhile
        key = self._keys.get(kid)
        if key is None:
            fetch = self.refresh()
            if fetch is not None:
                # Shielded: a request giving up (or cancelled) never cancels the fetch.
                await asyncio.wait({asyncio.shield(fetch)}, timeout=KEY_WAIT_S)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        return key

    async def verify(self, token: str) -> tuple[str, Role]:
        """The token's subject and its most powerful Switchboard role."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str):
                raise InvalidToken("no key id")
            key = await self._key(kid)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidToken(type(exc).__name__) from exc
        roles = self._roles(claims)
        for role in reversed(Role):
            if role.value in roles:
                return str(claims["sub"]), role
        raise NoRole(f"no Switchboard role in the token's {self.roles_claim!r} claim")

    def _roles(self, claims: dict[str, Any]) -> list[str]:
        value: Any = claims
        for part in self.roles_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value.split()
        return [str(v) for v in value] if isinstance(value, list) else []


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
