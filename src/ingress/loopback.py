"""/metrics and the OpenAPI docs: open on loopback, closed to others when so configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ingress import problems
from switchboard.settings import IngressSettings, is_loopback

OPS_PATHS = frozenset({"/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    settings: IngressSettings = request.app.state.settings
    if (
        settings.ops_loopback_only
        and request.url.path in OPS_PATHS
        and not is_loopback(request.client.host if request.client else None)
    ):
        return problems.problem_response(404, "only served on loopback")
    return await call_next(request)
