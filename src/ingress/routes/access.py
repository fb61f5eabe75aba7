"""Access administration for admins: named API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from ingress import pagination, problems
from ingress.auth import Permission, Role, require
from ingress.deps import StoreDep
from ingress.idempotency import Idempotent
from ingress.pagination import Cursor, Limit, Page
from ingress.params import Timestamp
from switchboard.store import ApiKeys, AuditLog, KeyNameTaken

router = APIRouter(
    prefix="/api", tags=["access"], responses=problems.responses(*problems.AUTHENTICATED)
)
MANAGE_KEYS = [Depends(require(Permission.KEYS_MANAGE))]


class KeyIn(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    role: Role


class KeyOut(BaseModel):
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewKey(KeyOut):
    key: str = Field(description="the key itself: shown this once, stored only as a hash")


class AuditOut(BaseModel):
    at: datetime
    actor: str | None
    role: str | None
    method: str
    route: str
    target: str | None
    status: int
    detail: dict[str, int | str]


@router.get("/keys", response_model=list[KeyOut], dependencies=MANAGE_KEYS)
def list_keys(store: StoreDep) -> list[KeyOut]:
    """Every named key (revoked ones too): name, role, created, last used; never the key."""
    return [KeyOut.model_validate(k, from_attributes=True) for k in ApiKeys(store.engine).list()]


@router.post(
    "/keys",
    response_model=NewKey,
    status_code=status.HTTP_201_CREATED,
    dependencies=[*MANAGE_KEYS, Idempotent],
    responses=problems.responses(409),
)
def create_key(body: KeyIn, store: StoreDep, request: Request) -> NewKey:
    keys = ApiKeys(store.engine)
    try:
        key = keys.create(body.name, body.role)
    except KeyNameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    request.state.audit_target = body.name
    created = next(k for k in keys.list() if k.name == body.name)
    return NewKey(**KeyOut.model_validate(created, from_attributes=True).model_dump(), key=key)


@router.delete(
    "/keys/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=MANAGE_KEYS,
    responses=problems.responses(404),
)
def revoke_key(name: str, store: StoreDep) -> None:
    """Revoke a key: the next request with it is refused (401)."""
    if not ApiKeys(store.engine).revoke(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no live key with that name")


@router.get(
    "/audit",
    response_model=Page[AuditOut],
    dependencies=[Depends(require(Permission.AUDIT_READ))],
)
def read_audit(
    store: StoreDep,
    since: Annotated[Timestamp | None, Query(description="from this time (inclusive)")] = None,
    until: Annotated[Timestamp | None, Query(description="before this time")] = None,
    actor: Annotated[str | None, Query(description="e.g. key:alice or oidc:<sub>")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """State-changing API calls, newest first: who, what route, which target, what outcome."""
    rows = AuditLog(store.engine).list(since, until, actor, limit + 1, pagination.position(cursor))
    return pagination.page(rows, limit, lambda row: (row["at"], row["audit_id"]))
