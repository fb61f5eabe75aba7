"""Merge and split customers, and the merge suggestions claims leave (agents and admins).

Audited like every state-changing API call (`ingress.audit`), with counts as detail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from ingress import pagination, problems
from ingress.auth import Permission, Principal, require
from ingress.deps import StoreDep
from ingress.idempotency import Idempotent
from ingress.pagination import Cursor, Limit, Page
from ingress.routes.api import Customer, IdentityIn, identity_from
from switchboard.store.merges import Conflict, CustomerMerges, NotFound
from switchboard.store.suggestions import MergeSuggestions

router = APIRouter(
    prefix="/api", tags=["customers"], responses=problems.responses(*problems.AUTHENTICATED)
)
Merger = Annotated[Principal, Depends(require(Permission.CUSTOMERS_MERGE))]
READ = [Depends(require(Permission.READ))]


class MergeBody(BaseModel):
    from_: str = Field(
        alias="from", min_length=1, max_length=64, description="the customer merged away"
    )


class SplitBody(BaseModel):
    identities: list[IdentityIn] = Field(min_length=1, max_length=100)


class SplitOut(Customer):
    interactions_moved: int
    conversations_moved: int


class MergeSuggestion(BaseModel):
    suggestion_id: str
    customer_id: str = Field(description="the customer the claiming interaction went to")
    other_customer_id: str = Field(description="the customer who owns the claimed identity")
    claim_kind: str = Field(description="the kind of identity claimed (its value is not shown)")
    interaction_id: str = Field(description="the interaction that made the claim")
    created_at: datetime
    dismissed_at: datetime | None = None
    dismissed_by: str | None = None


def _merges(store: StoreDep) -> CustomerMerges:
    return CustomerMerges(store.engine)


def _suggestions(store: StoreDep) -> MergeSuggestions:
    return MergeSuggestions(store.engine)


MergesDep = Annotated[CustomerMerges, Depends(_merges)]
SuggestionsDep = Annotated[MergeSuggestions, Depends(_suggestions)]
# No such customer (or it was erased): 404; not possible as asked: 409, the detail says why.
_ERRORS = problems.responses(404, 409)


@router.post(
    "/customers/{customer_id}/merge",
    response_model=Customer,
    dependencies=[Idempotent],
    responses=_ERRORS,
)
def merge(
    customer_id: str, body: MergeBody, merges: MergesDep, caller: Merger, request: Request
) -> Customer:
    """Merge the customer `from` into this one, which keeps everything of both.

    `from` then answers with `merged_into`; its timeline is this one's. Repeating a merge
    answers the same.
    """
    request.state.audit_detail = {"merged_customer_id": body.from_}
    try:
        survivor = merges.merge(customer_id, body.from_, caller.actor)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return Customer.model_validate(survivor)


@router.post(
    "/customers/{customer_id}/split",
    response_model=SplitOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Idempotent],
    responses=_ERRORS,
)
def split(
    customer_id: str,
    body: SplitBody,
    merges: MergesDep,
    store: StoreDep,
    caller: Merger,
    request: Request,
) -> SplitOut:
    """A new customer with these identities of this one, the interactions that came from or
    went to them, and the conversations left holding only those."""
    moving = [identity_from(i.kind, i.value) for i in body.identities]
    try:
        result = merges.split(customer_id, moving, caller.actor)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    request.state.audit_detail = {
        "new_customer_id": result.customer_id,
        "identities": len(moving),
        "interactions": result.interactions,
        "conversations": result.conversations,
    }
    found = store.get_customer(result.customer_id)
    assert found is not None
    return SplitOut.model_validate(
        {
            **found,
            "interactions_moved": result.interactions,
            "conversations_moved": result.conversations,
        }
    )


@router.get("/merge-suggestions", response_model=Page[MergeSuggestion], dependencies=READ)
def suggestions(
    found: SuggestionsDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    dismissed: Annotated[bool, Query(description="include dismissed ones")] = False,
) -> dict[str, Any]:
    """Interactions that claimed an identity another customer owns, newest first."""
    rows = found.suggestions(limit + 1, dismissed, pagination.position(cursor))
    return pagination.page(rows, limit, lambda s: (s["created_at"], s["suggestion_id"]))


@router.post(
    "/merge-suggestions/{suggestion_id}/dismiss",
    response_model=MergeSuggestion,
    dependencies=[Idempotent],
    responses=problems.responses(404),
)
def dismiss(suggestion_id: str, suggestions: SuggestionsDep, caller: Merger) -> MergeSuggestion:
    """Dismiss a suggestion: the two stay apart (it stays listed with `dismissed=true`)."""
    found = suggestions.dismiss(suggestion_id, caller.actor)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown merge suggestion")
    return MergeSuggestion.model_validate(found)
