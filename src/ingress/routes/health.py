"""Liveness and readiness."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ingress.deps import StoreDep, TemporalDep

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    ready: bool
    temporal: str = Field(description="`ok`, or `unavailable: <why>`")
    store: str = Field(description="`ok`, or `unavailable: <why>`")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"description": "ready", "model": Readiness},
        503: {"description": "not ready: the check that failed says why", "model": Readiness},
    },
)
async def readyz(store: StoreDep, temporal: TemporalDep) -> JSONResponse:
    """Ready when both Temporal and the store answer; 503 names the one that does not."""
    checks: dict[str, str] = {}
    try:
        serving = await temporal.service_client.check_health(timeout=timedelta(seconds=2))
        checks["temporal"] = "ok" if serving else "unavailable: not serving"
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        checks["temporal"] = f"unavailable: {type(exc).__name__}"
    try:
        await run_in_threadpool(store.ping)
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)
