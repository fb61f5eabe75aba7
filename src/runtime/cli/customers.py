"""`switchboard customers`: merge and split customers, as the API does, audited."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from runtime.cli._base import app, console, is_uuid, load_settings
from switchboard.addresses import normalize_identity
from switchboard.contract import Identity, IdentityKind
from switchboard.errors import MalformedPayload
from switchboard.settings import CommonSettings
from switchboard.store import AuditEntry, AuditLog, Store
from switchboard.store.merges import Conflict, CustomerMerges, NotFound

customers_app = typer.Typer(help="Merge and split customers (audited as the API's are).")
app.add_typer(customers_app, name="customers", rich_help_panel="Data")


def _actor() -> str:
    # The CLI's actor is the operating-system user who ran it on the store's machine.
    return f"cli:{getpass.getuser()}"


@customers_app.command("merge")
def merge(
    survivor: Annotated[str, typer.Argument(help="the customer that keeps everything")],
    other: Annotated[str, typer.Argument(help="the customer merged into it")],
) -> None:
    """Merge customer OTHER into SURVIVOR (as POST /api/customers/{SURVIVOR}/merge).

    Prints the survivor as JSON; exit 1 if either is unknown or the merge is not possible."""
    settings = load_settings(CommonSettings)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    try:
        status, message, out = 200, "", None
        try:
            out = CustomerMerges(store.engine).merge(survivor, other, _actor())
        except NotFound as exc:
            status, message = 404, str(exc)
        except Conflict as exc:
            status, message = 409, str(exc)
        _audit(store, "customers merge", survivor, status, {"merged_customer_id": other})
        if out is None:
            console.print(f"[red]{message}[/]")
            raise typer.Exit(1)
        print(json.dumps(out, default=str))
    finally:
        store.close()


@customers_app.command("split")
def split(
    customer: Annotated[str, typer.Argument(help="the customer to split")],
    identity: Annotated[
        list[str],
        typer.Option("--identity", help="kind:value, e.g. email:ana@example.com; repeatable"),
    ],
) -> None:
    """Give IDENTITIES of CUSTOMER, and the interactions that came through them, to a new
    customer (as POST /api/customers/{CUSTOMER}/split). Prints it as JSON."""
    moving = [_identity(value) for value in identity]
    settings = load_settings(CommonSettings)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    try:
        try:
            result = CustomerMerges(store.engine).split(customer, moving, _actor())
        except (NotFound, Conflict) as exc:
            _audit(store, "customers split", customer, 404 if isinstance(exc, NotFound) else 409)
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        detail: dict[str, int | str] = {
            "new_customer_id": result.customer_id,
            "identities": len(moving),
            "interactions": result.interactions,
            "conversations": result.conversations,
        }
        _audit(store, "customers split", customer, 201, detail)
        print(json.dumps(detail))
    finally:
        store.close()


def _identity(value: str) -> Identity:
    kind, sep, raw = value.partition(":")
    try:
        if not sep:
            raise MalformedPayload(f"{value!r} is not kind:value")
        parsed = IdentityKind(kind)
        return Identity(parsed, normalize_identity(parsed, raw))
    except (MalformedPayload, ValueError) as exc:
        kinds = ", ".join(k.value for k in IdentityKind)
        console.print(f"[red]--identity: {exc} (kinds: {kinds})[/]")
        raise typer.Exit(2) from exc


def _audit(
    store: Store, route: str, target: str, status: int, detail: dict[str, int | str] | None = None
) -> None:
    # Customer ids are uuids; anything else typed there might be an address: not kept.
    detail = {k: v for k, v in (detail or {}).items() if not isinstance(v, str) or is_uuid(v)}
    AuditLog(store.engine).record(
        AuditEntry(
            "CLI",
            route,
            status,
            actor=_actor(),
            target=target if is_uuid(target) else None,
            detail=detail,
        )
    )
