"""`switchboard up`: the embedded Temporal, the worker and the ingress on one machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import threading
import time

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion

from runtime import agents, demo_providers, traffic, versions
from runtime.processes import switchboard_argv
from runtime.supervisor import Child, Supervisor
from runtime.temporal_server import dev_server_command
from switchboard import routing
from switchboard.payload_keys import local_codec_token
from switchboard.settings import UpSettings
from switchboard.store import Store

console = Console()


# What the supervisor observed (up, restarts, uptime per service), for the Pipeline page.
SUPERVISOR_STATUS = "supervisor.json"


class StartupFailed(RuntimeError):
    pass


def _wait(what: str, child: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.running:
            code = child.process.returncode if child.process else None
            raise StartupFailed(f"{what} exited with code {code} while starting")
        if child.ready is None or child.ready():
            return
        time.sleep(0.25)
    raise StartupFailed(f"{what} not ready after {timeout_s:.0f}s")


def _listen(host: str, port: int) -> socket.socket:
    """The ingress's listening socket, held here and inherited by each ingress process.

    While a crashed ingress restarts, the kernel keeps accepting connections into this
    socket's backlog, so a provider's request waits for the new process instead of being
    refused (Twilio does not retry an SMS webhook that cannot connect).
    """
    listener = socket.create_server((host, port), backlog=2048)
    listener.set_inheritable(True)
    return listener


def _temporal_ready(address: str, namespace: str) -> bool:
    async def check() -> bool:
        client = await Client.connect(address, namespace=namespace)
        return await client.service_client.check_health()

    try:
        return asyncio.run(check())
    except Exception:
        return False


def _http_ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _demo(settings: UpSettings, base_url: str, stop: threading.Event) -> None:
    """Simulated traffic on every configured channel, two requests a second, through the real
    webhooks, so a newcomer sees the pipeline and the dashboards move: new customers all the
    time, some of them writing again after their conversation was resolved."""
    secrets_ = traffic.secrets_from(settings, settings.public_url or base_url)
    rng = random.Random()
    # Numbered from a random customer: a second run within a day brings new customers, not
    # the last run's writing again.
    rounds = traffic.Rounds(secrets_, rng, start=rng.randrange(0, 6000, 3))
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            plan = rounds.next()
            if not plan.requests:
                console.print("[yellow]demo traffic off: no channel has its secret set[/]")
                return
            for request in plan.requests:
                # The ingress may be stopping or restarting; the next request tries again.
                with contextlib.suppress(httpx.HTTPError):
                    http.post(
                        base_url + request.path, content=request.body, headers=request.headers
                    )
                if stop.wait(0.5):
                    return


def _demo_agents(settings: UpSettings, base_url: str, stop: threading.Event) -> None:
    """Three agents working the demo's conversations (`runtime.agents`), each with a fresh
    agent key, so the resolution figures have values within the first minutes."""
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    try:
        keys = agents.create_keys(store, 3)
    finally:
        store.close()
    desk = agents.Desk(
        base_url, keys, routing.load(settings.routing_rules), random.Random(), agents.DEMO_QUIET
    )
    asyncio.run(agents.work(desk, stop, every_s=2.0))


def _fake_providers(settings: UpSettings, stack: contextlib.ExitStack) -> dict[str, str]:
    """For the demo without provider credentials: the workers send replies to a loopback fake
    of the providers' APIs (`runtime.demo_providers`), never to a real customer."""
    twilio = not settings.twilio_account_sid
    sendgrid = settings.sendgrid_api_key is None
    if not settings.demo or not (twilio or sendgrid):
        return {}
    url = stack.enter_context(demo_providers.serve())
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    return demo_providers.worker_env(url, twilio, sendgrid, token)


def _interrupt(*_: object) -> None:
    # SIGTERM (from a supervisor) stops everything the way Ctrl-C does.
    raise KeyboardInterrupt


def run(settings: UpSettings) -> int:
    """Start everything, print where it is, and run until Ctrl-C; return the exit code."""
    temporal_address = f"{settings.temporal_host}:{settings.temporal_port}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_TEMPORAL_UI_URL": f"http://{settings.temporal_host}:{settings.temporal_ui_port}",
    }
    me = switchboard_argv()
    base_url = f"http://{settings.host}:{settings.ingress_port}"
    dashboards_url = f"http://{settings.dashboard_host}:{settings.dashboard_port}"
    supervisor = Supervisor(console, settings.data_dir / SUPERVISOR_STATUS)
    stop_demo = threading.Event()
    fakes = contextlib.ExitStack()
    listener: socket.socket | None = None
    # Installed explicitly: a shell starts background jobs with SIGINT ignored, and Python
    # then never raises KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        console.print("starting Temporal dev server…")
        temporal = supervisor.add(
            Child(
                "Temporal",
                # Temporal UI decodes payloads through the ingress: no extra step to read them.
                # The UI's codec URL carries the machine's codec token, which the ingress
                # reads from the same data directory (an ingress beyond loopback ignores it).
                dev_server_command(
                    settings,
                    f"http://{settings.host}:{settings.ingress_port}/codec/local/"
                    + local_codec_token(settings.data_dir),
                ),
                env,
                lambda: _temporal_ready(temporal_address, settings.temporal_namespace),
            )
        )
        _wait("Temporal", temporal, 90)
        # Migrate once here, before two processes could race to create the schema.
        store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
        store.migrate()
        store.close()
        senders = _fake_providers(settings, fakes)
        release = versions.release_of(settings)
        # `up` makes the version current itself, after the runs of the previous one.
        workers_env = {"SWITCHBOARD_BUILD_ID": release.build_id, "SWITCHBOARD_PROMOTE_VERSION": "0"}
        for i in range(settings.workers):
            port = settings.worker_metrics_port_of(i)
            supervisor.add(
                Child(
                    "worker" if settings.workers == 1 else f"worker {i + 1}",
                    [*me, "worker", "--role", "intake"],
                    {**env, **senders, **workers_env, "SWITCHBOARD_WORKER_METRICS_PORT": str(port)},
                )
            )
        # The export and retention in a process of their own: a burst of messages never
        # waits behind an export's minute of CPU, and the intake workers stay small.
        port = settings.worker_metrics_port_of(settings.workers)
        supervisor.add(
            Child(
                "analytics worker",
                [*me, "worker", "--role", "analytics"],
                {**env, **workers_env, "SWITCHBOARD_WORKER_METRICS_PORT": str(port)},
            )
        )
        # One version at a time: this release's, once its workers poll (`runtime.versions`).
        console.print(f"making version {versions.label(release)} current…")
        moved = _release(settings, temporal_address, release)
        if moved:
            console.print(f"moved {len(moved)} running workflow(s) of the previous version")
        listener = _listen(settings.host, settings.ingress_port)
        ingress = supervisor.add(
            Child(
                "ingress",
                [*me, "ingress", "--fd", str(listener.fileno())],
                env,
                lambda: _http_ready(base_url + "/healthz"),
                pass_fds=(listener.fileno(),),
            )
        )
        # Started before the ingress is ready, not after: neither needs the other, and their
        # imports (most of a start) then overlap on a second core.
        dashboards = supervisor.add(
            Child(
                "dashboards",
                [*me, "dashboards"],
                env,
                lambda: _http_ready(dashboards_url + "/_stcore/health"),
            )
        )
        _wait("ingress", ingress, 60)
        _wait("dashboards", dashboards, 60)
        _print_ready(settings, base_url)
        if settings.demo:
            for demo in (_demo, _demo_agents):
                threading.Thread(
                    target=demo, args=(settings, base_url, stop_demo), daemon=True
                ).start()
        # From here on a child that exits is restarted; only Ctrl-C or SIGTERM ends `up`.
        while True:
            supervisor.tick()
            time.sleep(0.2)
    except StartupFailed as exc:
        console.print(f"[red]startup failed: {exc}[/]")
        return 1
    except versions.VersionRefused as exc:
        console.print(f"[red]release refused:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    finally:
        stop_demo.set()
        supervisor.stop()
        fakes.close()
        if listener is not None:
            listener.close()


def _release(
    settings: UpSettings, temporal_address: str, release: WorkerDeploymentVersion
) -> list[versions.InFlight]:
    """`versions.promote` with this machine's keys (the runs' histories are sealed)."""
    from runtime.worker import ALL_WORKFLOWS
    from switchboard.converter import data_converter
    from switchboard.payload_keys import load_keyring

    keyring = load_keyring(settings, settings.host, settings.temporal_host, settings.dashboard_host)
    queues = [settings.task_queue, settings.events_task_queue(), settings.analytics_task_queue()]

    async def promote() -> list[versions.InFlight]:
        client = await Client.connect(
            temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(keyring),
        )
        try:
            return await versions.promote(client, release, ALL_WORKFLOWS, queues)
        except TimeoutError as exc:
            raise StartupFailed(str(exc)) from exc

    return asyncio.run(promote())


def _print_ready(settings: UpSettings, base_url: str) -> None:
    table = Table(title="Switchboard is running", show_header=False)
    table.add_row("Webhooks and API", base_url)
    table.add_row("API docs (OpenAPI)", base_url + "/docs")
    table.add_row("Dashboards", f"http://{settings.dashboard_host}:{settings.dashboard_port}")
    table.add_row("Temporal UI", f"http://{settings.temporal_host}:{settings.temporal_ui_port}")
    table.add_row("Temporal gRPC", f"{settings.temporal_host}:{settings.temporal_port}")
    table.add_row("Data directory", str(settings.data_dir.resolve()))
    workers = f"{settings.workers} (SWITCHBOARD_WORKERS)"
    if settings.worker_metrics_port:
        workers += ", metrics " + ", ".join(
            f"http://{settings.worker_metrics_host}:{settings.worker_metrics_port_of(i)}/metrics"
            for i in range(settings.workers)
        )
    table.add_row("Workers", workers)
    analytics = "export and retention"
    if settings.worker_metrics_port:
        port = settings.worker_metrics_port_of(settings.workers)
        analytics += f", metrics http://{settings.worker_metrics_host}:{port}/metrics"
    table.add_row("Analytics worker", analytics)
    table.add_row(
        "Demo traffic",
        "customers and three agents (SWITCHBOARD_DEMO=0 turns it off)" if settings.demo else "off",
    )
    console.print(table)
    console.print("Ctrl-C stops everything.")
