"""Routing rules: matching, business hours, and bad files refused with the line and problem."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime.processes import switchboard_argv
from switchboard import routing
from switchboard.routing import RulesError

HEADER = """version = 1
[business_hours]
timezone = "Europe/Berlin"
days = ["mon", "tue", "wed", "thu", "fri"]
start = "09:00"
end = "17:00"
[defaults.voice]
queue = "voice"
[defaults.sms]
queue = "messaging"
first_response = "1h"
[defaults.email]
queue = "email"
[defaults.push]
queue = "push"
"""


def rules_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(HEADER + body)
    return path


def test_the_shipped_rules_load() -> None:
    rules = routing.load()
    assert [r.name for r in rules.rules] == [
        "billing questions",
        "order status",
        "after-hours texts",
    ]


def test_first_matching_rule_wins_and_defaults_catch_the_rest(tmp_path: Path) -> None:
    rules = routing.load(
        rules_file(
            tmp_path,
            """
[[rules]]
name = "vip"
from_domains = ["bigcorp.com"]
queue = "vip"
priority = 1
first_response = "15m"
[[rules]]
name = "orders"
channels = ["email", "sms"]
regex = "order\\\\s*#?\\\\d+"
keywords = ["late"]
queue = "orders"
""",
        )
    )
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    vip = rules.route("email", at, text="order #123 is late", from_address="ceo@bigcorp.com")
    assert (vip.queue, vip.priority, vip.sla_due_at) == ("vip", 1, at + timedelta(minutes=15))
    assert rules.route("sms", at, text="Order 4567 is LATE").queue == "orders"
    assert rules.route("sms", at, text="order 4567 arrived").queue == "messaging"  # no keyword
    assert rules.route("sms", at, text="chocolate order 12 latest").queue == "messaging"
    assert rules.route("voice", at, text="order 1 late").queue == "voice"  # channel excluded


def test_business_hours_follow_the_timezone_and_daylight_saving(tmp_path: Path) -> None:
    rules = routing.load(
        rules_file(
            tmp_path,
            """
[[rules]]
business_hours = false
queue = "after-hours"
""",
        )
    )
    # 08:30 UTC is 09:30 in Berlin in winter (CET) but 10:30 in summer (CEST).
    assert rules.route("sms", datetime(2026, 1, 14, 8, 30, tzinfo=UTC)).queue == "messaging"
    assert rules.route("sms", datetime(2026, 1, 14, 7, 30, tzinfo=UTC)).queue == "after-hours"
    assert rules.route("sms", datetime(2026, 7, 15, 7, 30, tzinfo=UTC)).queue == "messaging"
    assert rules.route("sms", datetime(2026, 7, 15, 15, 30, tzinfo=UTC)).queue == "after-hours"
    # A Saturday at noon is outside business hours.
    assert rules.route("sms", datetime(2026, 11, 28, 11, 0, tzinfo=UTC)).queue == "after-hours"


def test_sla_targets_are_business_time_on_the_calendar_with_its_holidays(tmp_path: Path) -> None:
    text = HEADER.replace(
        'end = "17:00"\n', 'end = "17:00"\nholidays = [2026-12-25, "2026-12-28"]\n'
    )
    path = tmp_path / "rules.toml"
    path.write_text(
        text + '\n[[rules]]\nkeywords = ["refund"]\nqueue = "billing"\nfirst_response = "2h"\n'
        'next_response = "30m"\nresolution = "1d"\n'
    )
    rules = routing.load(path)
    # Thu 24 Dec, 16:00 in Berlin: 1 h that day, Friday 25 and Monday 28 closed, Tue 29 10:00.
    at = datetime(2026, 12, 24, 15, tzinfo=UTC)
    billing = rules.route("sms", at, text="a refund please")
    assert billing.sla_due_at == datetime(2026, 12, 29, 9, tzinfo=UTC)
    # "1d" of business time is 24 business hours: three 8-hour days (Thu 1 h, Tue, Wed, Thu 7 h).
    assert billing.resolution_due_at == datetime(2026, 12, 31, 15, tzinfo=UTC)
    assert billing.sla is not None
    assert (billing.sla.next_response_s, billing.sla.holidays) == (
        1800,
        ["2026-12-25", "2026-12-28"],
    )
    sms = rules.route("sms", at)
    assert sms.sla is not None and sms.sla.next_response_s == 3600  # the first-response target
    path.write_text(
        text + '\n[calendars.weekend-desk]\ntimezone = "Asia/Tokyo"\ndays = ["sat", "sun"]\n'
        '\n[[rules]]\nkeywords = ["saturday"]\nqueue = "weekend"\nfirst_response = "1h"\n'
        'calendar = "weekend-desk"\n'
    )
    # The rule's own calendar: Thu 24 Dec 15:00 UTC → Sat 26 10:00 in Tokyo (01:00 UTC).
    weekend = routing.load(path).route("sms", at, text="open on saturday?")
    assert weekend.sla_due_at == datetime(2026, 12, 26, 1, tzinfo=UTC)
    assert weekend.sla is not None and weekend.sla.timezone == "Asia/Tokyo"
    path.write_text(text + '\n[[rules]]\nqueue = "x"\ncalendar = "nowhere"\n')
    with pytest.raises(RulesError, match="calendar 'nowhere' is not a"):
        routing.load(path)
    path.write_text(HEADER.replace('end = "17:00"\n', 'end = "17:00"\nholidays = ["soon"]\n'))
    with pytest.raises(RulesError, match="holidays must be a list of dates"):
        routing.load(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '\n[[rules]]\nqueue = "a"\n\n[[rules]]\nregex = "(unclosed"\nqueue = "b"\n',
            "line 20: rule 2: invalid regex",
        ),
        (
            '\n[[rules]]\nchannels = ["fax"]\nqueue = "a"\n',
            "line 17: rule 1: unknown channel(s) fax",
        ),
        ('\n[[rules]]\nqueue = "a"\nfirst_response = "soon"\n', "line 17: rule 1 first_response"),
        ('\n[[rules]]\nqueue = "a"\npriority = 9\n', "priority must be"),
        ('\n[[rules]]\nqueue = "a"\ncolour = "red"\n', "unknown key(s) colour"),
        ("\n[[rules]]\npriority = 1\n", "queue is required"),
        ("\n[[rules]\n", "line 17"),  # TOML syntax error, as tomllib reports it
    ],
)
def test_a_bad_file_is_refused_naming_the_line_and_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(RulesError) as info:
        routing.load(rules_file(tmp_path, body))
    assert message in str(info.value)
    assert str(tmp_path / "rules.toml") in str(info.value)


def test_missing_defaults_timezone_and_version_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    for text, message in [
        (HEADER.replace("version = 1", "version = 2"), "version must be 1"),
        (HEADER.replace("Europe/Berlin", "Mars/Olympus"), "unknown timezone"),
        (HEADER.replace('[defaults.push]\nqueue = "push"\n', ""), "[defaults.push] is missing"),
    ]:
        bad.write_text(text)
        with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
            routing.load(bad)


def test_the_cli_refuses_a_bad_rules_file_before_starting(tmp_path: Path) -> None:
    path = rules_file(tmp_path, '\n[[rules]]\nregex = "("\nqueue = "x"\n')
    for command in (["check-rules", str(path)], ["worker"]):
        done = subprocess.run(
            [*switchboard_argv(), *command],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"SWITCHBOARD_ROUTING_RULES": str(path), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
            timeout=60,
        )
        assert done.returncode == 2
        assert "line 17: rule 1: invalid regex" in done.stdout


def test_a_rules_file_from_before_whatsapp_routes_it_as_sms(tmp_path: Path) -> None:
    """A file written before the channel existed has no [defaults.whatsapp]: it loads, and
    WhatsApp takes the SMS defaults; the shipped file has its own."""
    rules = routing.load(rules_file(tmp_path, ""))
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert rules.route("whatsapp", at, text="hi").queue == "messaging"
    assert rules.route("whatsapp", at, text="hi").sla_due_at == at + timedelta(hours=1)
    # 05:00 in New York: the shipped after-hours rule takes WhatsApp as it takes texts.
    assert routing.load().route("whatsapp", at, text="hi").queue == "after-hours"
