"""`switchboard up`: the embedded Temporal, the worker and the ingress on one machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from runtime import traffic
from runtime.processes import switchboard_argv
from runtime.temporal_server import dev_server_command
from switchboard.settings import UpSettings
from switchboard.store import Store

console = Console()


class StartupFailed(RuntimeError):
    pass


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session of its own: the terminal's Ctrl-C reaches only `up`, which then stops the
    # children in order (ingress, worker, Temporal) instead of all at once.
    return subprocess.Popen(args, env=env, start_new_session=True)


def _wait(
    what: str, ready: Callable[[], bool], child: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise StartupFailed(f"{what} exited with code {child.returncode} while starting")
        if ready():
            return
        time.sleep(0.25)
    raise StartupFailed(f"{what} not ready after {timeout_s:.0f}s")


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


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in reversed(children.values()):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _demo(settings: UpSettings, base_url: str, stop: threading.Event) -> None:
    """Simulated traffic on every configured channel, two requests a second, through the real
    webhooks, so a newcomer sees the pipeline and the dashboards move."""
    secrets_ = traffic.secrets_from(settings, settings.public_url or base_url)
    rng = random.Random()
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            plan = traffic.plan(3, secrets_, rng)
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
    # The children by name, in start order (they are stopped in reverse).
    children: dict[str, subprocess.Popen[bytes]] = {}
    stop_demo = threading.Event()
    # Installed explicitly: a shell starts background jobs with SIGINT ignored, and Python
    # then never raises KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        console.print("starting Temporal dev server…")
        children["Temporal"] = _spawn(dev_server_command(settings), env)
        _wait(
            "Temporal",
            lambda: _temporal_ready(temporal_address, settings.temporal_namespace),
            children["Temporal"],
            90,
        )
        # Migrate once here, before two processes could race to create the schema.
        store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
        store.migrate()
        store.close()
        for i in range(settings.workers):
            port = settings.worker_metrics_port_of(i)
            children["worker" if settings.workers == 1 else f"worker {i + 1}"] = _spawn(
                [*me, "worker"], {**env, "SWITCHBOARD_WORKER_METRICS_PORT": str(port)}
            )
        children["ingress"] = _spawn([*me, "ingress"], env)
        _wait("ingress", lambda: _http_ready(base_url + "/healthz"), children["ingress"], 60)
        children["dashboards"] = _spawn([*me, "dashboards"], env)
        dashboards_url = f"http://{settings.dashboard_host}:{settings.dashboard_port}"
        _wait(
            "dashboards",
            lambda: _http_ready(dashboards_url + "/_stcore/health"),
            children["dashboards"],
            60,
        )
        _print_ready(settings, base_url)
        if settings.demo:
            threading.Thread(
                target=_demo, args=(settings, base_url, stop_demo), daemon=True
            ).start()
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        name, code = next((n, c.returncode) for n, c in children.items() if c.poll() is not None)
        console.print(f"[red]{name} exited with code {code}; stopping the rest[/]")
        return 1
    except StartupFailed as exc:
        console.print(f"[red]startup failed: {exc}[/]")
        return 1
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    finally:
        stop_demo.set()
        _stop(children)


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
    table.add_row(
        "Demo traffic", "on (SWITCHBOARD_DEMO=0 turns it off)" if settings.demo else "off"
    )
    console.print(table)
    console.print("Ctrl-C stops everything.")
