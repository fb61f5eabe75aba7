"""`require(permission)`: who is calling (an API key or an OIDC token), and may they?

No credentials or bad ones → 401; valid credentials whose role lacks the permission → 403,
whose detail names the permission; over the credential's rate limit → 429. Each refusal is
counted by route and reason.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute, RouteContext
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingress import rate_limits
from ingress.auth.oidc import InvalidToken, NoRole, OidcVerifier, looks_like_jwt
from ingress.metrics import AUTH_REFUSALS, route_template
from switchboard.permissions import Permission, Role, allows
from switchboard.settings import IngressSettings
from switchboard.store import ApiKeys

BOOTSTRAP_ACTOR = "key:bootstrap"

_bearer = HTTPBearer(
    auto_error=False,
    description="A named API key (`switchboard keys create`), a bootstrap key from "
    "SWITCHBOARD_API_KEYS, or an OIDC access token",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Principal:
    """The caller: `key:<name>` or `oidc:<sub>`, and their role."""

    actor: str
    role: Role


def _refuse(request: Request, code: int, reason: str, detail: str) -> HTTPException:
    route = route_template(request.scope)
    AUTH_REFUSALS.labels(route, reason).inc()
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(code, detail, headers=headers)


def _unauthorized(request: Request, reason: str) -> HTTPException:
    return _refuse(
        request,
        status.HTTP_401_UNAUTHORIZED,
        reason,
        "a valid API key or OIDC token is required in 'Authorization: Bearer <key>'",
    )


def _bootstrap(settings: IngressSettings, presented: str) -> bool:
    # Every key is compared, in constant time, so the timing says nothing about a near miss.
    matched = False
    for key in settings.api_keys:
        matched |= hmac.compare_digest(presented.encode(), key.get_secret_value().encode())
    return matched


async def identify(request: Request, token: str | None) -> Principal:
    """The caller behind a bearer token, or 401 (403 for a valid token with no role).

    Run by `ingress.gate` before any body is read, and by the `authenticate` dependency.
    """
    if not token:
        raise _unauthorized(request, "missing")
    if _bootstrap(request.app.state.settings, token):
        return Principal(BOOTSTRAP_ACTOR, Role.ADMIN)
    found = await run_in_threadpool(ApiKeys(request.app.state.store.engine).authenticate, token)
    if found is not None:
        return Principal(f"key:{found.name}", Role(found.role))
    verifier: OidcVerifier | None = request.app.state.oidc
    if verifier is None or not looks_like_jwt(token):
        raise _unauthorized(request, "invalid")
    try:
        subject, role = await verifier.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(request, "invalid") from exc
    except NoRole as exc:
        raise _refuse(request, status.HTTP_403_FORBIDDEN, "forbidden", str(exc)) from exc
    return Principal(f"oidc:{subject}", role)


async def authenticate(request: Request, credentials: Credentials) -> Principal:
    """The caller behind the bearer credentials (already known when the gate checked them
    before the body), or 401."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    principal = await identify(request, credentials.credentials if credentials else None)
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A route dependency: the caller, when their role has `permission`; else 401 or 403."""

    async def dependency(
        request: Request,
        response: Response,
        principal: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        if not allows(principal.role, permission):
            raise _refuse(
                request,
                status.HTTP_403_FORBIDDEN,
                "forbidden",
                f"the {principal.role} role lacks the permission '{permission}'",
            )
        # Per credential and route group (ingress.rate_limits): 429 beyond the limit.
        # The counter may be the store's (PostgreSQL): off the event loop.
        await run_in_threadpool(rate_limits.enforce, request, response, principal.actor, permission)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency


def permission_of(route: APIRoute | RouteContext) -> Permission | None:
    """The permission a route declares through `require`, wherever in its dependencies."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        found = getattr(dependant.call, "permission", None)
        if isinstance(found, Permission):
            return found
        pending.extend(dependant.dependencies)
    return None
