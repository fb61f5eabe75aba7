"""OIDC bearer tokens: signed JWTs checked by PyJWT against the issuer's published keys.

PyJWT checks the signature, `exp`, `nbf`, `iss` and `aud`; its JWKS client caches the keys and
fetches them again when a token names a key id it has not seen (the issuer rotated its keys).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import jwt
from jwt import PyJWKClient

from switchboard.permissions import Role
from switchboard.settings import IngressSettings

# Asymmetric algorithms only: `none` and HMAC (a shared secret an attacker could guess or use
# the public key as) are never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
LEEWAY_S = 30


class InvalidToken(Exception):
    """The token is not one the configured issuer signed for this audience, now."""


class NoRole(Exception):
    """The token is valid but names no Switchboard role."""


class OidcVerifier:
    """Built once per process; thread-safe (sync dependencies run in a thread pool)."""

    def __init__(self, settings: IngressSettings) -> None:
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise ValueError("OIDC needs SWITCHBOARD_OIDC_ISSUER and SWITCHBOARD_OIDC_AUDIENCE")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.roles_claim = settings.oidc_roles_claim
        self._jwks_url = settings.oidc_jwks_url
        self._cooldown_s = settings.oidc_jwks_refetch_cooldown_s
        self._client: PyJWKClient | None = None
        self._lock = threading.Lock()

    def _jwks(self) -> PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self._jwks_url or self._discover()
                self._client = PyJWKClient(
                    url,
                    cache_keys=True,
                    lifespan=3600,
                    timeout=5,
                    cooldown_duration=self._cooldown_s,
                )
            return self._client

    def _discover(self) -> str:
        """The `jwks_uri` of the issuer's discovery document."""
        response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        return str(response.json()["jwks_uri"])

    def verify(self, token: str) -> tuple[str, Role]:
        """The token's subject and its most powerful Switchboard role."""
        try:
            key = self._jwks().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, httpx.HTTPError, KeyError, ValueError) as exc:
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
