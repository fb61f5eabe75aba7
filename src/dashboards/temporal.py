"""The Pipeline page's view of Temporal: workflow counts by status, recent failures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import streamlit as st
from temporalio.client import Client

from dashboards.data import settings
from switchboard import failures
from switchboard.converter import data_converter
from switchboard.store import Store

STATUSES = ("Running", "Completed", "Failed", "TimedOut", "Terminated", "Canceled")
TYPES = ("InteractionWorkflow", "ConversationWorkflow", "ExportWorkflow")


@dataclass(frozen=True)
class Failure:
    workflow_id: str
    workflow_type: str
    closed_at: str
    url: str


async def _connect() -> Client:
    return await asyncio.wait_for(
        Client.connect(
            settings().temporal_address,
            namespace=settings().temporal_namespace,
            tls=settings().temporal_tls(),
            # Counts and ids only: no payload is read, so no key is needed here.
            data_converter=data_converter(None),
        ),
        3,
    )


@st.cache_data(ttl=10, show_spinner=False)
def counts() -> dict[str, dict[str, int]] | None:
    """Workflows by type and status; None when Temporal does not answer."""

    async def run() -> dict[str, dict[str, int]]:
        client = await _connect()
        return {
            kind: {
                status: (
                    await client.count_workflows(
                        f"WorkflowType = '{kind}' AND ExecutionStatus = '{status}'"
                    )
                ).count
                for status in STATUSES
            }
            for kind in TYPES
        }

    try:
        return asyncio.run(run())
    except Exception:
        return None


@st.cache_data(ttl=10, show_spinner=False)
def recent_failures(limit: int = 20) -> list[Failure] | None:
    async def run() -> list[Failure]:
        client = await _connect()
        found = []
        async for wf in client.list_workflows("ExecutionStatus = 'Failed'", limit=limit):
            found.append(
                Failure(wf.id, wf.workflow_type, str(wf.close_time)[:19], workflow_url(wf.id))
            )
        return found

    try:
        return asyncio.run(run())
    except Exception:
        return None


def workflow_url(workflow_id: str) -> str:
    base = settings().temporal_ui_url.rstrip("/")
    namespace = quote(settings().temporal_namespace, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"


@st.cache_data(ttl=10, show_spinner=False)
def interaction_failures() -> list[failures.Failure] | None:
    """Failed, orphaned and stuck interactions; None when Temporal does not answer."""

    async def run() -> list[failures.Failure]:
        store = Store.from_url(settings().resolved_database_url(), settings().sqlite_busy_timeout_s)
        try:
            found = failures.Failures(
                await _connect(),
                store,
                settings().temporal_ui_url,
                timedelta(seconds=settings().failures_stuck_after_s),
            )
            return await found.list()
        finally:
            store.close()

    try:
        return asyncio.run(run())
    except Exception:
        return None
