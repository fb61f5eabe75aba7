"""The figures of `switchboard bench` as rows: bare | minimal app | Switchboard | target."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str, str]
NONE = "—"


def _p(figures: dict[str, Any], name: str) -> str:
    if name not in figures:
        return NONE
    return f"{figures[name]['p50_ms']:.0f} / {figures[name]['p99_ms']:.0f}"


def _cpu(figures: dict[str, Any]) -> str:
    cpu = figures["cpu_ms_per_message"]
    return " / ".join(
        f"{cpu[r]:.0f}" if r in cpu else NONE
        for r in ("temporal", "worker", "ingress", "analytics")
    )


def _rss(figures: dict[str, Any], role: str) -> str:
    return str(figures["peak_rss_mb"].get(role, NONE))


def _through(system: dict[str, Any]) -> str:
    phases = ("max_rate", "half_rate", "burst")
    return " / ".join(f"{system[p]['through']} of {system[p]['messages']}" for p in phases)


def rows(result: dict[str, Any]) -> list[Row]:
    """One store's result (`run.bench_store`) as rows of the table the CLI prints."""
    bare, minimal, ours = result["bare"], result["minimal"], result["switchboard"]
    half = ours["half_rate"]["rate_per_s"]
    burst = ours["burst"]["rate_per_s"]
    surge = ours["surge_3x_10s"]
    return [
        (
            "maximum rate (messages/s)",
            str(bare["messages_per_s"]),
            str(minimal["max_rate"]["messages_per_s"]),
            str(ours["max_rate"]["messages_per_s"]),
            "",
        ),
        (
            "ratio Switchboard / minimal app",
            "",
            "",
            str(result["ratio_switchboard_to_minimal"]),
            "≥ 0.8",
        ),
        ("ratio Switchboard / bare", "", "", str(result["ratio_switchboard_to_bare"]), ""),
        (
            f"ack p50 / p99 at {half}/s (ms)",
            NONE,
            _p(minimal["half_rate"], "ack"),
            _p(ours["half_rate"], "ack"),
            "p99 ≤ 50",
        ),
        (
            f"receipt→persisted p50 / p99 at {half}/s (ms)",
            NONE,
            _p(minimal["half_rate"], "receipt_to_persisted"),
            _p(ours["half_rate"], "receipt_to_persisted"),
            "p99 ≤ 250",
        ),
        (
            f"receipt→threaded p50 / p99 at {half}/s (ms)",
            NONE,
            NONE,
            _p(ours["half_rate"], "receipt_to_threaded"),
            "p99 ≤ 500",
        ),
        (
            "CPU ms per message at max rate: temporal / worker / ingress / analytics worker",
            _cpu(bare),
            _cpu(minimal["max_rate"]),
            _cpu(ours["max_rate"]),
            "",
        ),
        (
            f"burst at {burst}/s: worker peak RSS (MB)",
            NONE,
            _rss(minimal["burst"], "worker"),
            _rss(ours["burst"], "worker"),
            "≤ 300",
        ),
        (
            f"burst at {burst}/s: analytics worker peak RSS (MB)",
            NONE,
            NONE,
            _rss(ours["burst"], "analytics"),
            "",
        ),
        (
            f"burst at {burst}/s: ingress peak RSS (MB)",
            NONE,
            _rss(minimal["burst"], "ingress"),
            _rss(ours["burst"], "ingress"),
            "",
        ),
        (
            f"{surge['messages']} at {surge['rate_per_s']}/s (3 times the maximum, 10 s): 503s",
            NONE,
            NONE,
            str(surge["refused_then_retried"]),
            "0",
        ),
        (
            "messages through within 10 min: max / half / burst",
            NONE,
            _through(minimal),
            _through(ours),
            "all",
        ),
        ("load average (1, 5, 15 min) at the end", "", "", str(result["load_average"]), ""),
    ]
