"""`switchboard keys`: named API keys with a role, stored only as hashes."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from runtime.cli._base import app, console, load_settings
from switchboard.permissions import Role
from switchboard.settings import CommonSettings
from switchboard.store import ApiKeys, AuditEntry, AuditLog, KeyNameTaken, Store

keys_app = typer.Typer(help="Create, list and revoke named API keys (each with a role).")
app.add_typer(keys_app, name="keys", rich_help_panel="Access")


@contextmanager
def _store() -> Iterator[Store]:
    settings = load_settings(CommonSettings)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    try:
        store.migrate()
        yield store
    finally:
        store.close()


def _audit(store: Store, method: str, route: str, name: str, status: int) -> None:
    # The CLI's actor is the operating-system user who ran it on the store's machine.
    AuditLog(store.engine).record(
        AuditEntry(method, route, status, actor=f"cli:{getpass.getuser()}", target=name)
    )


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="a-z, 0-9, '.', '_', '-'; e.g. the holder's name")],
    role: Annotated[Role, typer.Option(help="what the key may do (docs/security.md)")],
) -> None:
    """Create a key. It is printed once, alone on the last line; only its hash is kept."""
    with _store() as store:
        try:
            key = ApiKeys(store.engine).create(name, role)
        except (KeyNameTaken, ValueError) as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        _audit(store, "CLI", "keys create", name, 201)
    console.print(f"created key {name!r} with role {role}; it is not shown again:", soft_wrap=True)
    typer.echo(key)


@keys_app.command("list")
def list_keys() -> None:
    """Every key: name, role, created, last used, revoked. Never the key itself."""
    with _store() as store:
        keys = ApiKeys(store.engine).list()
    table = Table("name", "role", "created", "last used", "revoked")
    for k in keys:
        table.add_row(
            k.name,
            k.role,
            f"{k.created_at:%Y-%m-%d %H:%M:%S}",
            f"{k.last_used_at:%Y-%m-%d %H:%M:%S}" if k.last_used_at else "never",
            f"{k.revoked_at:%Y-%m-%d %H:%M:%S}" if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="the key's name")]) -> None:
    """Revoke a key: the next request with it is refused (401)."""
    with _store() as store:
        revoked = ApiKeys(store.engine).revoke(name)
        _audit(store, "CLI", "keys revoke", name, 204 if revoked else 404)
    if not revoked:
        console.print(f"[red]no live key named {name!r}[/]")
        raise typer.Exit(1)
    console.print(f"revoked key {name!r}")
