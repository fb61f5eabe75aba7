"""DELETE /api/customers/{customer_id}: erase one customer everywhere (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status

from ingress import problems
from ingress.auth import Permission, require
from ingress.deps import ErasureDep, TemporalDep
from switchboard.erasure import erase_customer

router = APIRouter(prefix="/api", tags=["api"])


@router.delete(
    "/customers/{customer_id}",
    dependencies=[Depends(require(Permission.CUSTOMERS_ERASE))],
    responses=problems.responses(*problems.AUTHENTICATED, 404),
)
async def erase(
    customer_id: str, request: Request, temporal: TemporalDep, erasure: ErasureDep
) -> dict[str, int]:
    """Erase the customer: store rows, blobs, workflow histories; exports at the next export.

    Returns what was removed, as counts. A redelivery of one of their messages stays erased.
    """
    counts = await erase_customer(temporal, erasure, customer_id)
    if counts is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    # Non-personal detail for the audit log (issue 17 records it with the call).
    request.state.audit_detail = counts.as_dict()
    return counts.as_dict()
