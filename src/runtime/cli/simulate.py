"""`switchboard simulate …`: correctly signed provider webhooks, as providers send them."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import httpx
import typer
from rich.table import Table

from runtime.cli._base import console, load_settings, simulate_app
from runtime.roles import needs
from switchboard.settings import (
    SimulatorSettings,
)


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

    with needs("ingress"):
        from runtime import traffic

    settings = load_settings(SimulatorSettings)
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
    with needs("ingress"):
        from runtime.simulate import new_message_sid, sign_twilio, sms_fields

    settings = load_settings(SimulatorSettings)
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


@simulate_app.command("agents")
def simulate_agents(
    agents: Annotated[int, typer.Option(min=1, max=3, help="how many agents (ana, bo, cy)")] = 3,
    rounds: Annotated[int, typer.Option(min=1, help="rounds of work, then stop")] = 30,
    every: Annotated[float, typer.Option(min=0.0, help="seconds between rounds")] = 2.0,
    quiet: Annotated[
        float, typer.Option(min=0.0, help="seconds a conversation is still before it is resolved")
    ] = 20.0,
    seed: Annotated[int | None, typer.Option(help="repeatable choices")] = None,
    url: Annotated[
        str | None, typer.Option(help="ingress base URL (default: SWITCHBOARD_PUBLIC_URL)")
    ] = None,
) -> None:
    """Act as a support team through the API: assign, reply, label, transfer, resolve with a
    disposition, sometimes reopen, submit CSAT. Each agent gets a fresh agent key (created in
    the store). Replies go through the worker's configured provider."""
    import asyncio
    import random
    import threading
    from datetime import timedelta

    from runtime import agents as team
    from switchboard import routing
    from switchboard.settings import CommonSettings
    from switchboard.store import Store

    settings = load_settings(SimulatorSettings)
    common = load_settings(CommonSettings)
    base = (url or settings.target_url()).rstrip("/")
    store = Store.from_url(common.resolved_database_url(), common.sqlite_busy_timeout_s)
    try:
        store.migrate()
        keys = team.create_keys(store, agents)
    finally:
        store.close()
    desk = team.Desk(
        base,
        keys,
        routing.load(common.routing_rules),
        random.Random(seed),
        timedelta(seconds=quiet),
    )
    asyncio.run(team.work(desk, threading.Event(), every, rounds))
    table = Table("action", "HTTP status", "requests")
    for (action, status), count in sorted(desk.tally.items()):
        table.add_row(action, str(status) if status else "no answer", str(count))
    console.print(table)
    if not any(200 <= status < 300 for (action, status) in desk.tally if action != "list"):
        console.print("[red]no action succeeded: is the ingress running, with a worker?[/]")
        raise typer.Exit(1)
