"""Every state-changing API call (and the reads that ask), recorded in the audit log once it
has its answer.

A route may add non-personal detail (counts) with `request.state.audit_detail = {...}`, and
name its target with `request.state.audit_target` when no path parameter does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from switchboard.store import AuditEntry, AuditLog

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_PREFIXES = ("/api/",)


async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    # A read is recorded when its route asks (`request.state.audited`): media, which can hold
    # what a person said or sent.
    audited = request.method in AUDITED_METHODS or getattr(request.state, "audited", False)
    if not audited or not request.url.path.startswith(AUDITED_PREFIXES):
        return response
    principal = getattr(request.state, "principal", None)
    params = request.scope.get("path_params") or {}
    target = getattr(request.state, "audit_target", None) or next(iter(params.values()), None)
    entry = AuditEntry(
        method=request.method,
        route=getattr(request.scope.get("route"), "path", "unmatched"),
        status=response.status_code,
        actor=principal.actor if principal else None,
        role=str(principal.role) if principal else None,
        target=None if target is None else str(target)[:255],
        detail=dict(getattr(request.state, "audit_detail", None) or {}),
    )
    await run_in_threadpool(AuditLog(request.app.state.store.engine).record, entry)
    return response
