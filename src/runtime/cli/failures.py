"""`switchboard failures list|retry`: the failed-event console, as the API serves it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from runtime.cli._base import app, connect_temporal, console, load_settings, parse_utc
from runtime.roles import needs
from switchboard.settings import IngressSettings

if TYPE_CHECKING:
    from ingress.failures import Console as FailureConsole
    from ingress.failures import Failure
    from switchboard.store import Store

failures_app = typer.Typer(help="Failed, orphaned and stuck events: list them, retry them.")
app.add_typer(failures_app, name="failures", rich_help_panel="Data")

Provider = Annotated[str | None, typer.Option(help="twilio, sendgrid or push")]
Kind = Annotated[str | None, typer.Option(help="the webhook kind, e.g. voice_recording")]
Reason = Annotated[str | None, typer.Option(help="a part of the reason")]
Since = Annotated[str | None, typer.Option(help="first seen at or after (ISO 8601)")]
Until = Annotated[str | None, typer.Option(help="first seen before (ISO 8601)")]


async def _open(settings: IngressSettings) -> tuple[Store, FailureConsole]:
    from ingress.failures import Console
    from switchboard.store import Store

    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    client = await connect_temporal(settings)
    return store, Console(
        client,
        store,
        settings.task_queue,
        settings.temporal_ui_url,
        timedelta(seconds=settings.failures_stuck_after_s),
        settings.orphan_callback_wait_s,
    )


@failures_app.command("list")
def list_(
    provider: Provider = None,
    kind: Kind = None,
    reason: Reason = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """List failed, orphaned and stuck interaction workflows, newest first."""
    with needs("ingress"):
        from ingress.failures import Filter

    settings = load_settings(IngressSettings)
    only = Filter(provider, kind, reason, parse_utc(since, "--since"), parse_utc(until, "--until"))

    async def run() -> list[Failure]:
        store, failures = await _open(settings)
        try:
            return await failures.list(only)
        finally:
            store.close()

    found = asyncio.run(run())
    rows = [
        (
            f.workflow_id,
            f.state,
            f.kind,
            f"{f.first_seen:%Y-%m-%d %H:%M:%S}",
            str(f.attempts),
            f.reason,
        )
        for f in found
    ]
    if not console.is_terminal:
        # Piped or captured: one tab-separated line each, a workflow id never folded to the
        # width of a terminal there is not (`failures retry ID` takes it as printed).
        for row in rows:
            print("\t".join(row))
        return
    table = Table("workflow id", "state", "kind", "first seen", "attempts", "reason")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"{len(found)} failures. Retry: switchboard failures retry [ID] or a filter")


@failures_app.command("retry")
def retry(
    workflow_id: Annotated[
        str | None, typer.Argument(help="one workflow id; without it, every match of the filter")
    ] = None,
    provider: Provider = None,
    kind: Kind = None,
    reason: Reason = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Re-run failed or orphaned events from their archived raw events (dedupe intact)."""
    with needs("ingress"):
        from ingress.failures import Filter

    settings = load_settings(IngressSettings)
    only = Filter(provider, kind, reason, parse_utc(since, "--since"), parse_utc(until, "--until"))

    async def run() -> dict[str, int]:
        store, failures = await _open(settings)
        try:
            if workflow_id is not None:
                return {await failures.retry(workflow_id): 1}
            counts = await failures.retry_matching(only)
            return {"matched": counts.matched, **counts.by_outcome}
        finally:
            store.close()

    for outcome, n in asyncio.run(run()).items():
        console.print(f"{outcome}: {n}")
