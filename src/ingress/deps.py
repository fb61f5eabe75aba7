"""Dependencies the routes declare: settings, the store, the Temporal client, the clock.

Who may call a route is declared with `ingress.auth.require`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from switchboard.routing import Rules
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.erasure import Erasure


def get_settings(request: Request) -> IngressSettings:
    settings: IngressSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def get_erasure(request: Request) -> Erasure:
    erasure: Erasure = request.app.state.erasure
    return erasure


def get_rules(request: Request) -> Rules:
    rules: Rules = request.app.state.rules
    return rules


def get_clock(request: Request) -> Callable[[], float]:
    clock: Callable[[], float] = request.app.state.clock
    return clock


SettingsDep = Annotated[IngressSettings, Depends(get_settings)]
ClockDep = Annotated[Callable[[], float], Depends(get_clock)]
StoreDep = Annotated[Store, Depends(get_store)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
RulesDep = Annotated[Rules, Depends(get_rules)]
ErasureDep = Annotated[Erasure, Depends(get_erasure)]
