"""The `switchboard` command line: run the services, migrate, and send test traffic."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import httpx
import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from rich.console import Console
from rich.table import Table

from switchboard import routing
from switchboard.contract import Channel
from switchboard.routing import Rules
from switchboard.settings import (
    CommonSettings,
    DashboardSettings,
    IngressSettings,
    SimulatorSettings,
    TemporalServerSettings,
    UpSettings,
    WorkerSettings,
)

if TYPE_CHECKING:
    from temporalio.client import Client

app = typer.Typer(
    help="Switchboard: provider webhooks in, one durable customer timeline out.",
    no_args_is_help=True,
)
simulate_app = typer.Typer(help="Send correctly signed provider webhooks, as the providers would.")
app.add_typer(simulate_app, name="simulate")
console = Console()

S = TypeVar("S", bound=BaseSettings)


async def _temporal(settings: CommonSettings) -> Client:
    """A client of the configured Temporal, with the payload converter every process uses."""
    from temporalio.client import Client

    from switchboard.converter import DATA_CONVERTER

    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )


def _load(settings_class: type[S]) -> S:
    """Read settings once; a bad value ends the command with a readable message."""
    try:
        return settings_class()
    except ValidationError as exc:
        console.print(f"[red]invalid settings:[/]\n{exc}")
        raise typer.Exit(2) from exc


def _logging(settings: CommonSettings, service: str) -> None:
    from switchboard import logs

    logs.configure(settings, service)


@app.command()
def up() -> None:
    """Run everything: embedded Temporal dev server, worker and ingress (Ctrl-C stops)."""
    from runtime import up as up_module

    settings = _load(UpSettings)
    _rules(_load(WorkerSettings).routing_rules)  # refuse a bad rules file before starting
    raise typer.Exit(up_module.run(settings))


@app.command()
def temporal() -> None:
    """Run the embedded Temporal dev server alone (persistent state in the data directory)."""
    from runtime.temporal_server import dev_server_command

    command = dev_server_command(_load(TemporalServerSettings))
    os.execv(command[0], command)


@app.command()
def worker() -> None:
    """Run a Temporal worker for the pipeline's workflows and activities."""
    from runtime.worker import run_worker

    settings = _load(WorkerSettings)
    _logging(settings, "worker")
    asyncio.run(run_worker(settings, _rules(settings.routing_rules)))
    # The worker has shut down cleanly. Skip the interpreter's teardown: the SDK's Rust threads
    # can still call into Python while it finalizes, and abort the process with SIGABRT
    # ("PyGILState_Release", temporalio/sdk-python#300), turning a clean stop into a crash.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _rules(path: Path | None) -> Rules:
    """The routing rules, checked; a bad file ends the command naming the line and problem."""
    try:
        return routing.load(path)
    except routing.RulesError as exc:
        console.print(f"[red]routing rules refused:[/] {exc}")
        raise typer.Exit(2) from exc


@app.command("check-rules")
def check_rules(
    path: Annotated[
        Path | None, typer.Argument(help="rules file (default: the shipped one)")
    ] = None,
) -> None:
    """Check a routing rules file and list its rules, in the order they are tried."""
    rules = _rules(path)
    table = Table("line", "rule", "queue", "priority", "first response")
    for rule in rules.rules:
        target = rule.target
        table.add_row(
            str(rule.line),
            rule.name,
            target.queue,
            str(target.priority),
            str(target.first_response),
        )
    for channel, target in rules.defaults.items():
        table.add_row(
            "",
            f"default: {channel}",
            target.queue,
            str(target.priority),
            str(target.first_response),
        )
    console.print(table)
    console.print(f"[green]ok[/]: {path or routing.DEFAULT_RULES}")


@app.command()
def ingress() -> None:
    """Run the webhook and API server."""
    import uvicorn

    from ingress import create_app

    settings = _load(IngressSettings)
    _logging(settings, "ingress")
    # No log config of uvicorn's own: its lines go through ours, and the app writes the
    # access lines itself (inside the request's trace, without query strings).
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.ingress_port,
        log_config=None,
        access_log=False,
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the store's schema."""
    from switchboard.store import Store

    settings = _load(CommonSettings)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    store.migrate()
    store.close()
    console.print(f"store at revision head: {settings.resolved_database_url()}")


@app.command()
def metrics(
    fcr_window_days: Annotated[
        float, typer.Option(min=0, help="first-contact resolution window")
    ] = 7,
) -> None:
    """Print the resolution metrics, computed from the store's conversation events."""
    from datetime import UTC, datetime, timedelta

    from analytics import resolution
    from switchboard.store import Store

    settings = _load(WorkerSettings)
    hours = _rules(settings.routing_rules).hours
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    store.migrate()  # a fresh data directory has no tables yet: its metrics are empty
    events, contacts = resolution.load(store.engine)
    store.close()
    summary = resolution.summarize(
        resolution.per_conversation(
            events, contacts, hours, datetime.now(UTC), timedelta(days=fcr_window_days)
        )
    )
    table = Table("metric", "value")
    for name, value in vars(summary).items():
        shown = (
            f"{value:.1%}" if isinstance(value, float) else str(value if value is not None else "-")
        )
        table.add_row(name.replace("_", " "), shown)
    console.print(table)


@app.command("replay-check")
def replay_check(
    limit: Annotated[int, typer.Option(min=1, help="recent executions per workflow type")] = 100,
) -> None:
    """Replay recent workflow histories against this code; exit 1 if any would break."""
    from runtime.replay_check import replay_recent

    settings = _load(CommonSettings)

    async def check() -> None:
        client = await _temporal(settings)
        report = await replay_recent(client, limit)
        for workflow_id, failure in report.failures:
            console.print(f"[red]{workflow_id}[/]: {failure}")
        console.print(f"replayed {report.replayed} histories, {len(report.failures)} failed")
        if report.failures:
            raise typer.Exit(1)

    asyncio.run(check())


@app.command("bench")
def bench_command(
    count: Annotated[int, typer.Option(min=50, help="messages per run")] = 1000,
    rate: Annotated[
        float, typer.Option(min=0, help="fixed rate per second (0: half the baseline's)")
    ] = 0,
    out: Annotated[Path, typer.Option(help="where to write the figures")] = Path(
        "bench-result.json"
    ),
) -> None:
    """Benchmark the pipeline against bare Temporal on an embedded stack of its own."""
    import json

    from runtime.benchmark.run import bench

    with console.status("benchmarking (an embedded stack of its own, a few minutes)…"):
        try:
            result = asyncio.run(bench(count, rate or None))
        except RuntimeError as exc:
            console.print(f"[red]benchmark failed:[/] {exc}")
            raise typer.Exit(1) from exc
    table = Table("figure", "value")
    fixed, maximum, burst = result["fixed_rate"], result["max_rate"], result["burst"]
    rows = {
        "worker processes (SWITCHBOARD_WORKERS)": result["worker_processes"],
        "bare baseline (workflows/s)": result["baseline_workflows_per_s"],
        "pipeline at max rate (messages/s)": maximum["messages_per_s"],
        "ratio pipeline / baseline": result["ratio_pipeline_to_baseline"],
        f"ack p50 / p99 at {fixed['rate_per_s']}/s (ms)": (
            f"{fixed['ack']['p50_ms']} / {fixed['ack']['p99_ms']}"
        ),
        "receipt→persisted p50 / p99 (ms)": (
            f"{fixed['receipt_to_persisted']['p50_ms']} / {fixed['receipt_to_persisted']['p99_ms']}"
        ),
        "receipt→threaded p50 / p99 (ms)": (
            f"{fixed['receipt_to_threaded']['p50_ms']} / {fixed['receipt_to_threaded']['p99_ms']}"
        ),
        "sustained at the fixed rate (messages/s)": fixed["messages_per_s"],
        "peak RSS (MB)": result["peak_rss_mb"],
        "CPU share": result["cpu_share"],
        f"burst at {burst['rate_per_s']}/s: messages/s, refused then retried": (
            f"{burst['messages_per_s']}, {burst['refused_then_retried']}"
        ),
        "burst peak RSS (MB)": burst["peak_rss_mb"],
    }
    for name, value in rows.items():
        table.add_row(name, str(value))
    console.print(table)
    out.write_text(json.dumps(result, indent=2))
    console.print(f"written to {out}")


@app.command()
def dashboards() -> None:
    """Serve the Streamlit dashboards over the published exports (port 8501)."""
    import dashboards as package

    settings = _load(DashboardSettings)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(Path(package.__file__).with_name("app.py")),
        "--server.address",
        settings.dashboard_host,
        "--server.port",
        str(settings.dashboard_port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    os.execv(command[0], command)


@app.command()
def export() -> None:
    """Run one export now (what the schedule runs every minute) and wait for it.

    A worker must be running: the export runs there, as ExportWorkflow. Exit 1 if the quality
    gate refused the batch (the reasons are printed, and shown in Temporal UI).
    """
    from temporalio.client import WorkflowFailureError

    from workflows import ExportWorkflow

    settings = _load(CommonSettings)

    async def run() -> None:
        client = await _temporal(settings)
        workflow_id = "export-now-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        with console.status(f"exporting ({workflow_id})…"):
            try:
                summary = await client.execute_workflow(
                    ExportWorkflow.run, id=workflow_id, task_queue=settings.task_queue
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


def _utc(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time from the command line; one without an offset is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        console.print(f"[red]{option}: not an ISO 8601 date or time:[/] {value!r}")
        raise typer.Exit(2) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
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

    settings = _load(CommonSettings)
    start, end = _utc(since, "--since"), _utc(until, "--until")
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
        client = await _temporal(settings)
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


@simulate_app.command("traffic")
def simulate_traffic(
    customers: Annotated[int, typer.Option(min=1, help="how many customers")] = 20,
    rate: Annotated[float, typer.Option(min=0.1, help="requests per second")] = 10.0,
    seed: Annotated[int | None, typer.Option(help="repeatable traffic")] = None,
    url: Annotated[
        str | None, typer.Option(help="ingress base URL (default: SWITCHBOARD_PUBLIC_URL)")
    ] = None,
) -> None:
    """Send realistic traffic on every configured channel: threads, voicemails, emails, push,
    SendGrid events, with duplicates, out-of-order callbacks and a few malformed requests."""
    import random
    from collections import Counter

    from rich.progress import Progress

    from runtime import traffic

    settings = _load(SimulatorSettings)
    base = (url or settings.target_url()).rstrip("/")
    secrets_ = traffic.secrets_from(settings, settings.target_url())
    plan = traffic.plan(customers, secrets_, random.Random(seed))
    for skipped in plan.skipped:
        console.print(f"[yellow]left out:[/] {skipped}")
    if not plan.requests:
        console.print("[red]no channel is configured: nothing to send[/]")
        raise typer.Exit(2)
    tally: Counter[tuple[str, int]] = Counter()
    wrong = 0
    with httpx.Client(timeout=20) as http, Progress(console=console) as progress:
        task = progress.add_task("sending", total=len(plan.requests))
        started = time.monotonic()
        for i, request in enumerate(plan.requests):
            time.sleep(max(0.0, started + i / rate - time.monotonic()))
            try:
                status = http.post(
                    base + request.path, content=request.body, headers=request.headers
                ).status_code
            except httpx.HTTPError as exc:
                console.print(f"[red]cannot reach {base}: {exc}[/]")
                raise typer.Exit(1) from exc
            tally[(request.kind, status)] += 1
            wrong += (status < 300) == request.expect_refusal
            progress.advance(task)
    table = Table("kind", "HTTP status", "requests")
    for (kind, status), count in sorted(tally.items()):
        table.add_row(kind, str(status), str(count))
    console.print(table)
    if wrong:
        console.print(f"[red]{wrong} requests were answered unlike a provider would expect[/]")
        raise typer.Exit(1)


@simulate_app.command("sms")
def simulate_sms(
    count: Annotated[int, typer.Option(min=1, help="how many messages")] = 1,
    from_number: Annotated[str, typer.Option("--from", help="sender")] = "+14155550123",
    to_number: Annotated[str, typer.Option("--to", help="your Twilio number")] = "+14155550100",
    body: Annotated[str, typer.Option(help="message text")] = "Hello from the simulator",
    url: Annotated[
        str | None, typer.Option(help="ingress base URL (default: SWITCHBOARD_PUBLIC_URL)")
    ] = None,
) -> None:
    """Send inbound SMS webhooks signed with SWITCHBOARD_TWILIO_AUTH_TOKEN."""
    from runtime.simulate import new_message_sid, sign_twilio, sms_fields

    settings = _load(SimulatorSettings)
    if settings.twilio_auth_token is None:
        console.print("[red]SWITCHBOARD_TWILIO_AUTH_TOKEN is not set: nothing to sign with[/]")
        raise typer.Exit(2)
    base = (url or settings.target_url()).rstrip("/")
    table = Table("MessageSid", "HTTP status", "answer")
    failures = 0
    with httpx.Client(timeout=20) as http:
        for _ in range(count):
            sid = new_message_sid()
            request = sign_twilio(
                base + "/webhooks/twilio/sms",
                sms_fields(sid, from_number, to_number, body),
                settings.twilio_auth_token.get_secret_value(),
            )
            try:
                response = http.post(request.url, content=request.body, headers=request.headers)
            except httpx.HTTPError as exc:
                console.print(f"[red]cannot reach {base}: {exc}[/]")
                raise typer.Exit(1) from exc
            failures += response.status_code >= 300
            table.add_row(sid, str(response.status_code), response.text[:80])
    console.print(table)
    if failures:
        sys.exit(1)
