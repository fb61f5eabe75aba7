"""Every state change a known caller asks of the API or the codec server (and the reads whose
route asks), recorded in the audit log once it has its answer: failures too (a 4xx, or a 500
when the route broke).

A caller nobody could identify changed nothing: refused anonymous calls are counted in the
metrics (`switchboard_auth_refusals_total`), never written as rows, so strangers cannot
flood the table. A route may add non-personal detail (counts) with
`request.state.audit_detail = {...}`, and name its target with `request.state.audit_target`
when no path parameter does. Targets are ids; anything else (an address, a message id that
holds one) is kept as the keyed hash the exports use for addresses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from analytics.privacy import Privacy
from ingress.metrics import route_template
from switchboard.store import AuditEntry, AuditLog

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_PREFIXES = ("/api/", "/codec/")
# Ids as Switchboard makes them: uuids, key names, workflow ids of ids. A bare run of digits
# could be a phone number.
_ID = re.compile(r"[A-Za-z0-9._:-]{1,255}")
_DIGITS = re.compile(r"\d{7,}")
HASHED = "hash:"


def target_of(value: object, privacy: Privacy) -> str:
    """The target as it is kept: an id as it is, anything else as a keyed hash."""
    text = str(value)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if _ID.fullmatch(text) and not _DIGITS.fullmatch(text):
        return text
    return HASHED + (privacy.address(text) or "")


async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    if not request.url.path.startswith(AUDITED_PREFIXES):
        return await call_next(request)
    status = 500  # unless the route answers: an exception is a 500 to the caller
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        # A read is recorded when its route asks (`request.state.audited`): media, which can
        # hold what a person said or sent.
        audited = request.method in AUDITED_METHODS or getattr(request.state, "audited", False)
        principal = getattr(request.state, "principal", None)
        if audited and principal is not None:
            await _write(request, principal.actor, str(principal.role), status)


async def _write(request: Request, actor: str, role: str, status: int) -> None:
    params = request.scope.get("path_params") or {}
    target = getattr(request.state, "audit_target", None) or next(iter(params.values()), None)
    entry = AuditEntry(
        method=request.method,
        route=route_template(request.scope),
        status=status,
        actor=actor,
        role=role,
        target=None if target is None else target_of(target, request.app.state.privacy),
        detail=dict(getattr(request.state, "audit_detail", None) or {}),
    )
    await run_in_threadpool(AuditLog(request.app.state.store.engine).record, entry)
