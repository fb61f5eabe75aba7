"""Commands over the stored data: metrics, export and reprocess."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from runtime.cli._base import app, connect_temporal, console, load_rules, load_settings, parse_utc
from switchboard.contract import Channel
from switchboard.settings import (
    CommonSettings,
    WorkerSettings,
)


@app.command(rich_help_panel="Data")
def metrics(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="one JSON object, the columns of the resolution_overall mart"),
    ] = False,
) -> None:
    """Print the resolution metrics, the deliveries' error rate, cost and processing latency,
    computed from the store as the export computes them.

    The figures are the `resolution_overall` mart's, over the store as it is now (the export
    may be up to a minute behind); docs/analytics-and-dashboards.md gives each formula.
    """
    import json
    import secrets

    from analytics import metrics as definitions
    from analytics import resolution
    from analytics.export.counts import delivery_tables
    from analytics.export.schemas import CONVERSATIONS_SCHEMA
    from analytics.live import changed_since
    from analytics.privacy import Privacy
    from switchboard.store import Store

    settings = load_settings(WorkerSettings)
    rules = load_rules(settings.routing_rules)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    store.migrate()  # a fresh data directory has no tables yet: its metrics are empty
    try:
        table = resolution.conversations_table(
            store.engine, rules.hours, datetime.now(UTC), CONVERSATIONS_SCHEMA
        )
        deliveries = delivery_tables(store.engine)
        # Every interaction as the export writes it (its cost, its latency). No address is
        # printed: they are hashed with a key of this run's own.
        interactions = changed_since(
            store.engine, Privacy(secrets.token_bytes(32)), None, rules.rate_card
        )
    finally:
        store.close()
    figures = definitions.overall(table, deliveries, interactions)
    if as_json:
        typer.echo(json.dumps(figures, allow_nan=False))
        return
    shown = Table("metric", "value")
    for name, value in figures.items():
        if value is None:
            text = "-"
        elif name.endswith(("_rate", "_attainment")):
            text = f"{value:.1%}"
        elif name.endswith("_s"):
            text = f"{value:,.0f} s"
        elif name.endswith("_ms"):
            text = f"{value:,.0f} ms"
        else:
            text = f"{value:,}"
        shown.add_row(name.replace("_", " "), text)
    console.print(shown)


@app.command(rich_help_panel="Data")
def export(
    full: Annotated[
        bool,
        typer.Option("--full", help="rebuild every dataset from the store, not what changed"),
    ] = False,
) -> None:
    """Run one export now (what the schedule runs every minute) and wait for it.

    A worker must be running: the export runs there, as ExportWorkflow. Exit 1 if the quality
    gate refused the batch (the reasons are printed, and shown in Temporal UI).
    """
    from temporalio.client import WorkflowFailureError

    from switchboard.contract import ExportInput
    from workflows import ExportWorkflow

    settings = load_settings(CommonSettings)

    async def run() -> None:
        client = await connect_temporal(settings)
        workflow_id = "export-now-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        with console.status(f"exporting ({workflow_id})…"):
            try:
                summary = await client.execute_workflow(
                    ExportWorkflow.run,
                    ExportInput(full=full),
                    id=workflow_id,
                    task_queue=settings.analytics_task_queue(),
                )
            except WorkflowFailureError as exc:
                # The activity's error (the quality gate's reasons), under the activity's.
                cause = exc.cause
                while cause is not None and cause.__cause__ is not None:
                    cause = cause.__cause__
                console.print(f"[red]export failed:[/] {cause}")
                raise typer.Exit(1) from exc
        if not summary.published:
            console.print("nothing changed since the last export")
            return
        table = Table("dataset", "rows rewritten")
        for dataset, rows in summary.rows.items():
            table.add_row(dataset, str(rows))
        console.print(table)
        console.print(f"published {summary.snapshot}")

    asyncio.run(run())


@app.command(rich_help_panel="Data")
def reprocess(
    since: Annotated[
        str, typer.Option(help="received at or after (ISO 8601, UTC unless it has an offset)")
    ],
    until: Annotated[str | None, typer.Option(help="received before (ISO 8601)")] = None,
    channel: Annotated[
        Channel | None, typer.Option(help="only this channel (by today's parser)")
    ] = None,
    only_failed: Annotated[
        bool, typer.Option("--only-failed", help="only events that failed to process")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="workflows in flight")] = 64,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be reprocessed")
    ] = False,
) -> None:
    """Re-derive interactions from archived raw events through new workflows.

    For when normalization or routing changed: run it after deploying the new worker.
    Interaction ids stay; exit 1 if any event still fails.
    """
    from rich.progress import Progress

    from runtime import reprocess as reprocessing
    from switchboard.store import Store

    settings = load_settings(CommonSettings)
    start, end = parse_utc(since, "--since"), parse_utc(until, "--until")
    assert start is not None
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    selected = [
        (raw, found)
        for raw, _ in store.raw_events_between(start, end, only_failed)
        if (found := reprocessing.channel_of(raw)) == channel or channel is None
    ]
    store.close()
    if dry_run or not selected:
        console.print(f"{len(selected)} raw events would be reprocessed")
        return
    batch = reprocessing.new_batch()

    async def run() -> reprocessing.Report:
        client = await connect_temporal(settings)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"reprocess {batch}", total=len(selected))
            return await reprocessing.reprocess(
                client,
                settings.task_queue,
                selected,
                batch,
                concurrency,
                lambda: progress.advance(task),
            )

    report = asyncio.run(run())
    table = Table("batch", "events", "re-derived", "failed", "seconds", "events/s")
    table.add_row(
        batch,
        str(report.started),
        str(report.rederived),
        str(len(report.failed)),
        f"{report.seconds:.1f}",
        f"{report.per_second:.0f}",
    )
    console.print(table)
    for workflow_id, reason in report.failed[:20]:
        console.print(f"[red]{workflow_id}[/]: {reason}")
    if report.failed:
        raise typer.Exit(1)
