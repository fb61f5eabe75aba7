"""Dependencies the routes declare: settings, the store, the Temporal client, the API key."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from switchboard.settings import IngressSettings
from switchboard.store import Store


def get_settings(request: Request) -> IngressSettings:
    settings: IngressSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def get_clock(request: Request) -> Callable[[], float]:
    clock: Callable[[], float] = request.app.state.clock
    return clock


SettingsDep = Annotated[IngressSettings, Depends(get_settings)]
ClockDep = Annotated[Callable[[], float], Depends(get_clock)]
StoreDep = Annotated[Store, Depends(get_store)]
TemporalDep = Annotated[Client, Depends(get_temporal)]

_bearer = HTTPBearer(auto_error=False, description="An API key from SWITCHBOARD_API_KEYS")


def require_api_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the bearer token is one of the configured API keys.

    Every key is compared, in constant time, so the answer's timing says nothing about which
    key came close.
    """
    presented = credentials.credentials.encode() if credentials else b""
    matched = False
    for key in settings.api_keys:
        matched |= hmac.compare_digest(presented, key.get_secret_value().encode())
    if not credentials or not matched:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="a valid API key is required in 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiKey = Depends(require_api_key)
