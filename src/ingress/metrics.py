"""Prometheus metrics of the ingress, served at /metrics, and its access log.

Labels are route templates, providers, statuses and the standard HTTP methods only (any
other method is `OTHER`): never an address, a body, an id or anything else a caller chooses.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable

from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope

from ingress import refusals

access_log = logging.getLogger("ingress.access")

STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "switchboard_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
ACK_SECONDS = Histogram(
    "switchboard_webhook_ack_seconds",
    "Time from a webhook request to its answer, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
SIGNATURE_FAILURES = Counter(
    "switchboard_signature_failures_total",
    "Webhooks refused for a missing, forged or stale signature (or basic auth).",
    ["provider"],
)
WORKFLOW_STARTS = Counter(
    "switchboard_workflow_starts_total",
    "InteractionWorkflows started by accepted webhooks.",
    ["provider", "kind"],
)
AUTH_REFUSALS = Counter(
    "switchboard_auth_refusals_total",
    "API calls refused: missing or invalid credentials (401), a role without the permission (403).",
    ["route", "reason"],
)
ERASED_DROPS = Counter(
    "switchboard_erased_deliveries_total",
    "Accepted webhooks dropped because their message's customer was erased.",
    ["provider", "kind"],
)
DUPLICATES = Counter(
    "switchboard_duplicate_deliveries_total",
    "Accepted webhooks whose event already had its workflow (provider retries, duplicates).",
    ["provider", "kind"],
)


def method_label(method: str) -> str:
    """The method, when it is a standard one: a caller can make up any number of others."""
    return method if method in STANDARD_METHODS else "OTHER"


def route_template(scope: Scope) -> str:
    """The template of the route a request is for (`/api/keys/{name}`), never its path; also
    before routing (the gate answers before the router has run)."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    path = scope.get("path", "")
    for pattern, template in _templates(scope.get("app")):
        if pattern.fullmatch(path):
            return template
    return UNMATCHED


@functools.cache
def _templates(app: object) -> list[tuple[re.Pattern[str], str]]:
    # FastAPI keeps included routers as such; their routes are reached through contexts.
    routes = iter_route_contexts(getattr(app, "routes", []))
    return [(compile_path(route.path)[0], route.path) for route in routes if route.path]


async def observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Count every request by its route template, time the webhooks, and log the request.

    The access line is written here, inside the request's trace, rather than by uvicorn; its
    path has no query string, where the API takes phone numbers and email addresses.
    """
    started = time.perf_counter()
    response = await call_next(request)
    elapsed = time.perf_counter() - started
    template = route_template(request.scope)
    REQUESTS.labels(template, method_label(request.method), str(response.status_code)).inc()
    if template.startswith("/webhooks/"):
        ACK_SECONDS.labels(template).observe(elapsed)
        if response.status_code >= 400:
            refusals.of(request).record(
                template, refusals.reason_for(request, response.status_code)
            )
    access_log.info(
        "%s %s %d",
        method_label(request.method),
        request.url.path,
        response.status_code,
        extra={
            "http_method": method_label(request.method),
            "http_route": template,
            "http_status": response.status_code,
            "duration_ms": round(elapsed * 1000, 1),
        },
    )
    return response


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
