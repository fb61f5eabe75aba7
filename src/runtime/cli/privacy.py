"""Privacy commands: erase one customer."""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import Annotated

import typer

from runtime.cli._base import app, connect_temporal, console, is_uuid, load_settings
from switchboard.settings import CommonSettings


@app.command(rich_help_panel="Data")
def erase(
    customer: Annotated[str, typer.Option("--customer", help="the customer id to erase")],
) -> None:
    """Erase a customer: store rows, blobs and workflow histories now, exports at the next
    export. Prints what was removed, as counts; exit 1 if there is no such customer.

    Recorded in the audit log like the API's erasure: the operating-system user as the actor
    (`cli:<user>`), the customer id and the counts, nothing the rows held."""
    from analytics.privacy import load_key
    from switchboard import twilio_files
    from switchboard.blobs import BlobStore
    from switchboard.erasure import erase_customer
    from switchboard.store import AuditEntry, AuditLog, Store
    from switchboard.store.erasure import Erasure

    settings = load_settings(CommonSettings)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    hash_key = settings.export_hash_key.get_secret_value() if settings.export_hash_key else None
    erasure = Erasure(
        store.engine,
        load_key(hash_key, settings.resolved_export_dir()),
        BlobStore(settings.data_dir / "blobs"),
        twilio_files.from_settings(settings),
    )

    async def run() -> None:
        client = await connect_temporal(settings)
        counts = await erase_customer(client, erasure, customer)
        entry = AuditEntry(
            "CLI",
            "erase",
            404 if counts is None else 200,
            actor=f"cli:{getpass.getuser()}",
            # Customer ids are uuids; anything else typed here might be an address.
            target=customer if is_uuid(customer) else None,
            detail=dict(counts.as_dict()) if counts else {},
        )
        await asyncio.to_thread(AuditLog(store.engine).record, entry)
        if counts is None:
            console.print("[red]no such customer[/]")
            raise typer.Exit(1)
        print(json.dumps(counts.as_dict()))

    try:
        asyncio.run(run())
    finally:
        store.close()
