"""Checks an operator runs before and after a change: check-rules, replay-check and bench."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

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
        float, typer.Option(min=0, help="fixed rate per second (0: half the baseline's)")
    ] = 0,
    out: Annotated[Path, typer.Option(help="where to write the figures")] = Path(
        "bench-result.json"
    ),
) -> None:
    """Benchmark the pipeline against bare Temporal on an embedded stack of its own."""
    import json

    with needs("embedded"):
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
        "payload encryption, converter CPU per message off / on (µs)": (
            f"{result['encryption']['converter_cpu_us_per_message_encryption_off']} / "
            f"{result['encryption']['converter_cpu_us_per_message_encryption_on']}"
        ),
    }
    for name, value in rows.items():
        table.add_row(name, str(value))
    console.print(table)
    out.write_text(json.dumps(result, indent=2))
    console.print(f"written to {out}")
