"""The long-running services: up, temporal, worker, ingress, dashboards, and migrate before them."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from runtime.cli._base import (
    app,
    configure_logging,
    console,
    load_keyring,
    load_rules,
    load_settings,
    refuse_exposed_dev_secrets,
)
from runtime.roles import needs
from switchboard.settings import (
    CommonSettings,
    DashboardSettings,
    IngressSettings,
    TemporalServerSettings,
    UpSettings,
    WorkerSettings,
)


@app.command(rich_help_panel="Services")
def up() -> None:
    """Run everything: embedded Temporal dev server, worker and ingress (Ctrl-C stops)."""
    with needs("embedded"):
        from runtime import up as up_module
        from runtime.temporal_server import temporal_binary

        temporal_binary()
    settings = load_settings(UpSettings)
    refuse_exposed_dev_secrets(
        settings,
        {
            "SWITCHBOARD_HOST": settings.host,
            "SWITCHBOARD_DASHBOARD_HOST": settings.dashboard_host,
            "SWITCHBOARD_TEMPORAL_HOST": settings.temporal_host,
            "SWITCHBOARD_WORKER_METRICS_HOST": settings.worker_metrics_host,
        },
    )
    # Refuse a missing key before starting anything; on loopback, generate it for all children.
    load_keyring(settings, settings.host, settings.temporal_host, settings.dashboard_host)
    load_rules(
        load_settings(WorkerSettings).routing_rules
    )  # refuse a bad rules file before starting
    raise typer.Exit(up_module.run(settings))


@app.command(rich_help_panel="Services")
def temporal() -> None:
    """Run the embedded Temporal dev server alone (persistent state in the data directory)."""
    from runtime.temporal_server import dev_server_command

    with needs("embedded"):
        command = dev_server_command(load_settings(TemporalServerSettings))
    os.execv(command[0], command)


class WorkerRole(StrEnum):
    ALL = "all"
    INTAKE = "intake"
    ANALYTICS = "analytics"


@app.command(rich_help_panel="Services")
def worker(
    role: Annotated[
        WorkerRole,
        typer.Option(
            help="intake: messages, conversations, replies and event deliveries; analytics: "
            "the scheduled export and retention (their own task queue); all: both in one "
            "process. `switchboard up` runs them as processes of their own.",
        ),
    ] = WorkerRole.ALL,
) -> None:
    """Run a Temporal worker for the pipeline's workflows and activities."""
    with needs("worker"):
        from runtime.worker import run_worker

    settings = load_settings(WorkerSettings)
    if settings.worker_metrics_port:
        refuse_exposed_dev_secrets(
            settings, {"SWITCHBOARD_WORKER_METRICS_HOST": settings.worker_metrics_host}
        )
    configure_logging(settings, "worker")
    metrics_host = (settings.worker_metrics_host,) if settings.worker_metrics_port else ()
    keyring = load_keyring(settings, *metrics_host)
    asyncio.run(
        run_worker(
            settings,
            load_rules(settings.routing_rules),
            keyring,
            intake=role is not WorkerRole.ANALYTICS,
            analytics=role is not WorkerRole.INTAKE,
        )
    )
    # The worker has shut down cleanly. Skip the interpreter's teardown: the SDK's Rust threads
    # can still call into Python while it finalizes, and abort the process with SIGABRT
    # ("PyGILState_Release", temporalio/sdk-python#300), turning a clean stop into a crash.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command(rich_help_panel="Services")
def ingress(
    fd: Annotated[
        int | None,
        typer.Option(
            help="Serve on this inherited listening socket (from `switchboard up`) instead of "
            "binding the port.",
        ),
    ] = None,
) -> None:
    """Run the webhook and API server."""
    with needs("ingress"):
        import uvicorn

        from ingress import create_app

    settings = load_settings(IngressSettings)
    binds = {"SWITCHBOARD_HOST": settings.host}
    if settings.ingress_metrics_port:
        binds["SWITCHBOARD_INGRESS_METRICS_HOST"] = settings.ingress_metrics_host
    refuse_exposed_dev_secrets(settings, binds)
    configure_logging(settings, "ingress")
    keyring = load_keyring(settings, *binds.values())
    stop_metrics = None
    if settings.ingress_metrics_port:
        from ingress.metrics_port import serve

        stop_metrics = serve(settings.ingress_metrics_host, settings.ingress_metrics_port)
    # No log config of uvicorn's own: its lines go through ours, and the app writes the
    # access lines itself (inside the request's trace, without query strings).
    try:
        uvicorn.run(
            create_app(settings, keyring=keyring),
            host=settings.host,
            port=settings.ingress_port,
            fd=fd,
            log_config=None,
            access_log=False,
        )
    finally:
        if stop_metrics is not None:
            stop_metrics()


@app.command(rich_help_panel="Services")
def dashboards() -> None:
    """Serve the Streamlit dashboards over the published exports (port 8501)."""
    with needs("dashboards"):
        import dashboards as package

    settings = load_settings(DashboardSettings)
    refuse_exposed_dev_secrets(settings, {"SWITCHBOARD_DASHBOARD_HOST": settings.dashboard_host})
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


@app.command(rich_help_panel="Services")
def migrate() -> None:
    """Create or upgrade the store's schema."""
    from switchboard.store import Store

    settings = load_settings(CommonSettings)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    store.migrate()
    store.close()
    console.print(f"store at revision head: {settings.resolved_database_url()}")
