"""Checks an operator runs before and after a change: check-rules, replay-check and bench."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from runtime.cli._base import (
    app,
    connect_temporal,
    console,
    load_keyring,
    load_rules,
    load_settings,
)
from runtime.roles import needs
from switchboard import routing
from switchboard.settings import (
    CommonSettings,
)


@app.command("check-rules", rich_help_panel="Checks")
def checkload_rules(
    path: Annotated[
        Path | None, typer.Argument(help="rules file (default: the shipped one)")
    ] = None,
) -> None:
    """Check a routing rules file and list its rules, in the order they are tried."""
    rules = load_rules(path)
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


@app.command("replay-check", rich_help_panel="Checks")
def replay_check(
    limit: Annotated[int, typer.Option(min=1, help="recent executions per workflow type")] = 100,
    histories: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="replay the histories recorded in this directory (*.json) instead",
        ),
    ] = None,
) -> None:
    """Replay recent workflow histories against this code; exit 1 if any would break."""
    with needs("worker"):
        from runtime.replay_check import replay_recent, replay_recorded

    async def check() -> None:
        if histories is not None:
            from switchboard.converter import data_converter

            report = await replay_recorded(
                histories, data_converter(load_keyring(load_settings(CommonSettings)))
            )
        else:
            client = await connect_temporal(load_settings(CommonSettings))
            report = await replay_recent(client, limit)
        for workflow_id, failure in report.failures:
            console.print(f"[red]{workflow_id}[/]: {failure}")
        console.print(f"replayed {report.replayed} histories, {len(report.failures)} failed")
        if report.failures:
            raise typer.Exit(1)

    asyncio.run(check())


@app.command("bench", rich_help_panel="Checks")
def bench_command(
    count: Annotated[int, typer.Option(min=50, help="messages per run")] = 1000,
    rate: Annotated[
        float,
        typer.Option(min=0, help="rate for the latencies (0: half Switchboard's maximum)"),
    ] = 0,
    store: Annotated[
        list[str] | None,
        typer.Option(help="sqlite and/or postgresql (default: both, one after the other)"),
    ] = None,
    out: Annotated[Path, typer.Option(help="where to write the figures")] = Path(
        "bench-result.json"
    ),
) -> None:
    """Benchmark Switchboard against a hand-written intake and bare Temporal, side by side."""
    import json

    with needs("embedded"):
        from runtime.benchmark.report import rows
        from runtime.benchmark.run import STORES, bench

    stores = tuple(store or STORES)
    if unknown := set(stores) - set(STORES):
        raise typer.BadParameter(
            f"unknown store {', '.join(sorted(unknown))}", param_hint="--store"
        )
    with console.status("benchmarking (embedded stacks of its own, several minutes each)…"):
        try:
            result = asyncio.run(bench(count, rate or None, stores))
        except RuntimeError as exc:
            console.print(f"[red]benchmark failed:[/] {exc}")
            raise typer.Exit(1) from exc
    for name in stores:
        table = Table("figure", "bare", "minimal app", "Switchboard", "target", title=name)
        for row in rows(result[name]):
            table.add_row(*row)
        console.print(table)
    encryption = result["encryption"]
    console.print(
        "payload encryption, converter CPU per message off / on: "
        f"{encryption['converter_cpu_us_per_message_encryption_off']} / "
        f"{encryption['converter_cpu_us_per_message_encryption_on']} µs; p50 off / on, ack; "
        f"receipt→persisted (ms): {_codec_latency(encryption['latency'])}"
    )
    out.write_text(json.dumps(result, indent=2))
    console.print(f"written to {out}")


def _codec_latency(latency: dict[str, Any]) -> str:
    off, on = latency["encryption_off"], latency["encryption_on"]
    return (
        f"{off['ack']['p50_ms']} / {on['ack']['p50_ms']}; "
        f"{off['receipt_to_persisted']['p50_ms']} / {on['receipt_to_persisted']['p50_ms']}"
    )
