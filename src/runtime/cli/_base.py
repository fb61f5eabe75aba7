"""The CLI's shared pieces: the app, its console, settings, logging and the Temporal client."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from rich.console import Console

from switchboard import routing
from switchboard.codec import Keyring, KeyringError
from switchboard.routing import Rules
from switchboard.settings import (
    CommonSettings,
)

if TYPE_CHECKING:
    from temporalio.client import Client

app = typer.Typer(
    help="Switchboard: provider webhooks in, one durable customer timeline out.",
    no_args_is_help=True,
)
simulate_app = typer.Typer(help="Send correctly signed provider webhooks, as the providers would.")
app.add_typer(simulate_app, name="simulate", rich_help_panel="Data")
console = Console()
err_console = Console(stderr=True)

S = TypeVar("S", bound=BaseSettings)


async def connect_temporal(settings: CommonSettings) -> Client:
    """A client of the configured Temporal, with the payload converter every process uses."""
    from temporalio.client import Client

    from switchboard.converter import data_converter

    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=settings.temporal_tls(),
        data_converter=data_converter(load_keyring(settings)),
    )


def load_keyring(settings: CommonSettings, *bound_hosts: str) -> Keyring:
    """The payload keys; missing or malformed ones end the command with a readable message."""
    from switchboard.payload_keys import load_keyring as load

    try:
        return load(settings, *bound_hosts)
    except KeyringError as exc:
        console.print(f"[red]payload keys refused:[/] {exc}")
        raise typer.Exit(2) from exc


def load_settings(settings_class: type[S]) -> S:
    """Read settings once; a bad value ends the command with a readable message."""
    try:
        return settings_class()
    except ValidationError as exc:
        console.print(f"[red]invalid settings:[/]\n{exc}")
        raise typer.Exit(2) from exc


def refuse_exposed_dev_secrets(settings: BaseSettings, binds: dict[str, str]) -> None:
    """Exit 2 when the process binds beyond loopback with a published, empty or weak secret,
    a weak payload key, or a development switch (`exposure.unsafe_settings`).

    `binds` maps each address setting's variable to its value. The message names variables only.
    """
    from switchboard import exposure

    exposed = {name: host for name, host in binds.items() if not exposure.is_loopback_bind(host)}
    if not exposed:
        return
    problems = exposure.unsafe_settings(settings)
    if problems:
        where = ", ".join(f"{host} ({name})" for name, host in exposed.items())
        err_console.print(f"[red]refusing to listen on {where}:[/]")
        for problem in problems:
            err_console.print(f"  {problem}")
        raise typer.Exit(2)


def configure_logging(settings: CommonSettings, service: str) -> None:
    from switchboard import logs

    logs.configure(settings, service)


def load_rules(path: Path | None) -> Rules:
    """The routing rules, checked; a bad file ends the command naming the line and problem."""
    try:
        return routing.load(path)
    except routing.RulesError as exc:
        console.print(f"[red]routing rules refused:[/] {exc}")
        raise typer.Exit(2) from exc


def parse_utc(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time from the command line; one without an offset is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        console.print(f"[red]{option}: not an ISO 8601 date or time:[/] {value!r}")
        raise typer.Exit(2) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_uuid(value: str) -> bool:
    """Whether `value` is a uuid, as customer ids are: what else an operator types there
    might be an address, and is kept out of the audit log."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
