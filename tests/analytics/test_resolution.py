"""Resolution metrics against the hand-computed values of tests/support/scenario.py: per
conversation, in the marts, through `switchboard metrics --json`, all from one definition."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from typer.testing import CliRunner

from analytics import export, metrics
from analytics.export.schemas import CONVERSATIONS_SCHEMA
from analytics.privacy import Privacy
from analytics.resolution import load, per_conversation
from runtime.cli import app
from switchboard import calendars, routing
from switchboard.calendars import BusinessHours, business_time
from switchboard.store import Store
from tests.support.scenario import (
    CONTACTS,
    EVENTS,
    HOURS,
    NEW_YORK_SLA,
    NOW,
    OVERALL,
    at,
    build_snapshot,
    scenario_table,
    utc,
    write_scenario,
)


def test_per_conversation_values_match_the_hand_computed_ones() -> None:
    outcomes = {m.conversation_id: m for m in per_conversation(EVENTS, CONTACTS, HOURS, NOW)}
    h, m = timedelta(hours=1), timedelta(minutes=1)
    expected = {
        # answered, resolved_by, first response, resolution, business, reopened, FCR, SLA, agent
        "c1": (True, "agent", 30 * m, 24 * h, 8 * h, True, False, True, "ana"),
        "c2": (True, "agent", 65 * h + 30 * m, 66 * h, 2 * h, False, True, False, "bo"),
        "c3": (True, "agent", 10 * m, 20 * m, 20 * m, False, False, True, "ana"),
        "c4": (False, None, None, None, None, False, None, False, None),
        "c5": (False, "auto", None, None, None, False, False, False, None),
        "c6": (True, "agent", 20 * m, h, h, False, True, True, "bo"),
        "c7": (True, "agent", 5 * m, 69 * h, 5 * h, False, None, True, "ana"),
        "c8": (True, "agent", h, 72 * h, 8 * h, False, True, True, "bo"),
        "c9": (True, "agent", 30 * m, 93 * h + 30 * m, 16 * h, False, True, True, "ana"),
    }
    for conversation, values in expected.items():
        got = outcomes[conversation]
        assert (
            got.answered,
            got.resolved_by,
            got.first_response,
            got.resolution,
            got.resolution_business,
            got.reopened,
            got.fcr,
            got.sla_attained,
            got.agent,
        ) == values, conversation


def test_each_sla_target_is_met_missed_or_not_measured_as_computed_by_hand() -> None:
    outcomes = per_conversation(EVENTS, CONTACTS, HOURS, NOW)
    attained = {
        m.conversation_id: (m.sla_attained, m.next_response_attained, m.resolution_attained)
        for m in outcomes
    }
    assert attained == {
        "c1": (True, True, True),
        "c2": (False, None, None),  # opened before SLA policies: no next/resolution target
        "c3": (True, None, None),
        "c4": (False, None, None),
        "c5": (False, None, None),
        "c6": (True, None, None),
        "c7": (True, None, None),
        "c8": (True, False, True),
        "c9": (True, False, False),
    }


def test_the_scenario_s_breaches_fall_when_the_calendar_says() -> None:
    """The New York due times by hand (tests/support/scenario.py), from the calendar: over a
    weekend and the DST change (c8), over a weekend with the clock paused meanwhile (c9)."""
    ny = ZoneInfo("America/New_York")
    sla = NEW_YORK_SLA

    def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, month, day, hour, minute, tzinfo=ny)

    # c8: F writes on Saturday; one business hour later is Monday 10:00 EST (15:00 UTC).
    assert calendars.due(local(10, 31, 12), 3600, sla) == utc(11, 2, 15)
    # c8's resolution clock: 1 h used on Friday, 5 h left from Saturday: Mon 14:00 EST; and
    # never paused, it would have been due Mon 13:00 EST, before bo resolved it at 14:00 EST.
    assert calendars.elapsed(local(10, 30, 15), local(10, 30, 16), sla) == 3600
    assert calendars.due(local(10, 31, 12), 5 * 3600, sla) == local(11, 2, 14)
    assert calendars.due(local(10, 30, 15), 6 * 3600, sla) == local(11, 2, 13)
    # c9: G writes Fri 16:00 EST: next response due at 17:00 EST; 4 h 45 min of resolution
    # left (30 min Thursday, 45 min Friday morning used) runs to Mon 12:45 EST (17:45 UTC).
    assert calendars.due(local(11, 20, 16), 3600, sla) == utc(11, 20, 22)
    used = calendars.elapsed(local(11, 19, 16), local(11, 19, 16, 30), sla) + calendars.elapsed(
        local(11, 20, 9), local(11, 20, 9, 45), sla
    )
    assert used == 75 * 60
    assert calendars.due(local(11, 20, 16), 6 * 3600 - used, sla) == utc(11, 23, 17, 45)


def test_the_overall_figures_match_the_hand_computed_ones() -> None:
    assert metrics.overall(scenario_table()) == OVERALL


def test_an_unanswered_auto_resolution_is_no_first_contact_resolution() -> None:
    """Before the fix it counted as FCR and its resolution time held the whole window."""
    (c5,) = [m for m in per_conversation(EVENTS, CONTACTS, HOURS, NOW) if m.conversation_id == "c5"]
    assert (c5.fcr, c5.resolution, c5.answered, c5.resolved_by) == (False, None, False, "auto")


def test_fcr_is_undecided_inside_the_window_and_decided_by_a_contact_in_it() -> None:
    early = datetime(2026, 11, 26, tzinfo=UTC)  # three days after B's resolution
    outcomes = {m.conversation_id: m for m in per_conversation(EVENTS, CONTACTS, HOURS, early)}
    assert outcomes["c2"].fcr is None
    assert outcomes["c1"].fcr is False  # a reopened conversation is decided at once
    assert outcomes["c3"].fcr is False  # C came back on Wed 25: decided before the window ends


def test_business_time_skips_nights_weekends_and_follows_the_timezone() -> None:
    assert business_time(at(20, 16), at(23, 10), HOURS) == timedelta(hours=2)
    new_york = BusinessHours(ZoneInfo("America/New_York"), frozenset(range(5)), time(9), time(17))
    # 14:00-22:00 UTC on a Monday is 09:00-17:00 in New York (EST, UTC-5): all of it counts.
    assert business_time(at(23, 14), at(23, 22), new_york) == timedelta(hours=8)


def mart(snapshot: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_marts_hold_the_hand_computed_figures(tmp_path: Path) -> None:
    snapshot = build_snapshot(tmp_path, scenario_table())
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        overall = con.execute("SELECT * FROM resolution_overall")
        names = [c[0] for c in overall.description or []]
        assert [dict(zip(names, row, strict=True)) for row in overall.fetchall()] == [OVERALL]
        by_agent = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT agent, conversations, first_response_mean_s, resolution_mean_s, "
                "fcr_rate, reopen_rate, sla_attainment, next_response_attainment, "
                "resolution_attainment FROM resolution_by_agent"
            ).fetchall()
        }
        by_queue = con.execute("SELECT queue, conversations FROM resolution_by_queue").fetchall()
    finally:
        con.close()
    assert by_agent == {
        "ana": (4, 1_125.0, 168_150.0, 1 / 3, 1 / 4, 1.0, 0.5, 0.5),
        "bo": (3, 80_200.0, 166_800.0, 1.0, 0.0, 2 / 3, 0.0, 1.0),
        None: (2, None, None, 0.0, 0.0, 0.0, None, None),
    }
    assert by_queue == [("escalations", 1), ("support", 3), ("unknown", 5)]


def test_the_overall_mart_has_one_row_even_without_conversations(tmp_path: Path) -> None:
    snapshot = build_snapshot(tmp_path, CONVERSATIONS_SCHEMA.empty_table())
    row = mart(snapshot, "SELECT conversations, fcr_rate, reopen_rate FROM resolution_overall")
    assert row == [(0, None, None)]


def test_the_store_gives_the_scenario_s_outcomes(store: Store) -> None:
    customers = write_scenario(store)
    events, contacts = load(store.engine)
    assert per_conversation(events, contacts, HOURS, NOW) == per_conversation(
        [replace(e, customer_id=customers[e.customer_id]) for e in EVENTS],
        [replace(c, customer_id=customers[c.customer_id]) for c in CONTACTS],
        HOURS,
        NOW,
    )


def test_metrics_json_is_the_overall_mart_of_the_same_data(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_scenario(store)
    root = tmp_path / "exports"
    staged = export.stage(
        store.engine, root, Privacy(b"k", False), routing.load().hours, datetime.now(UTC)
    )
    snapshot = export.publish(root, staged, [])
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", store.engine.url.render_as_string(False))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)  # one JSON object, nothing else
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM resolution_overall")
        names = [c[0] for c in cursor.description or []]
        row = cursor.fetchone()
    finally:
        con.close()
    assert row is not None
    assert printed == dict(zip(names, row, strict=True))
    assert printed["conversations"] == 9 and printed["unanswered"] == 1
    assert (printed["next_response_attainment"], printed["resolution_attainment"]) == (
        OVERALL["next_response_attainment"],
        OVERALL["resolution_attainment"],
    )
    assert "NaN" not in result.stdout


def test_the_agent_is_who_resolved_it_when_events_carry_their_actor() -> None:
    events = [
        replace(e, actor="key:cy") if (e.conversation_id, e.kind) == ("c1", "resolved") else e
        for e in EVENTS
    ]
    outcomes = {m.conversation_id: m for m in per_conversation(events, CONTACTS, HOURS, NOW)}
    assert (outcomes["c1"].agent, outcomes["c3"].agent) == ("key:cy", "ana")


def test_time_in_queue_handle_time_and_agent_actions_match_the_hand_computed_ones() -> None:
    outcomes = {m.conversation_id: m for m in per_conversation(EVENTS, CONTACTS, HOURS, NOW)}
    h, m = timedelta(hours=1), timedelta(minutes=1)
    expected = {
        # time in queue, handle time, transfers, labels, disposition, CSAT
        "c1": (25 * m, 25 * m, 0, ("vip",), "answered", 4),
        "c2": (65 * h, h, 0, (), None, None),
        "c3": (7 * m, 13 * m, 1, (), None, None),
        "c4": (None, None, 0, (), None, None),
        "c5": (None, None, 0, (), None, None),
        "c6": (10 * m, 50 * m, 0, (), "refund_issued", 5),
        "c7": (m, 68 * h + 59 * m, 0, (), None, None),
        "c8": (30 * m, 49 * h, 0, (), None, None),
        "c9": (10 * m, 70 * h + 5 * m, 0, (), None, None),
    }
    got = {
        c: (o.time_in_queue, o.handle_time, o.transfers, o.labels, o.disposition, o.csat_score)
        for c, o in outcomes.items()
    }
    assert got == expected
