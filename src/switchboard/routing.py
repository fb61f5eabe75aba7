"""Routing rules: which queue an interaction goes to, with what priority and SLA targets.

Rules live in a versioned TOML file (`SWITCHBOARD_ROUTING_RULES`; the defaults ship with the
project). The first rule that matches wins; an interaction no rule matches takes its
channel's default. A rule matches on any combination of:

- `channels`: the interaction's channel is one of these;
- `keywords`: the text or subject contains one of these words (case-insensitive);
- `regex`: the text or subject matches this regular expression (case-insensitive);
- `from_domains` / `from_numbers`: the sender's email domain or phone number (customer
  attributes we know at routing time);
- `business_hours`: true inside the business hours of `[business_hours]`, false outside.

A rule's (or default's) SLA targets — `first_response`, `next_response` (after each customer
message that follows an agent reply; the first-response target when not given) and
`resolution` — are business time on the rule's calendar: `[business_hours]` (its timezone,
days, hours and `holidays`), or the `[calendars.<name>]` table (the same keys) its `calendar`
names. `switchboard.calendars` turns them into due times.

`[queues.<name>]` tables give the targets of queues no rule routes to (agents transfer
conversations there); `dispositions` lists what an agent may resolve a conversation with;
`[rate_card]` prices messages and calls (`switchboard.costs`).

A bad file is refused when it is loaded, with an error naming the line and the problem.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard import costs
from switchboard.calendars import BusinessHours, add_business_time
from switchboard.contract import Channel, Route, SlaPolicy

DEFAULT_RULES = Path(__file__).with_name("routing_rules.toml")
SUPPORTED_VERSION = 1
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class RulesError(ValueError):
    """A routing rules file that cannot be used; the message names the line and the problem."""


@dataclass(frozen=True)
class Target:
    queue: str
    priority: int
    first_response: timedelta
    resolution: timedelta | None = None
    next_response: timedelta | None = None
    # The calendar the targets are measured on; None: the file's [business_hours].
    calendar: BusinessHours | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    line: int
    target: Target
    channels: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    from_domains: frozenset[str] = frozenset()
    from_numbers: frozenset[str] = frozenset()
    business_hours: bool | None = None


@dataclass(frozen=True)
class Rules:
    version: int
    hours: BusinessHours
    defaults: dict[str, Target]
    rules: tuple[Rule, ...] = field(default=())
    # What `resolve` accepts as a disposition (none listed: none accepted).
    dispositions: tuple[str, ...] = ()
    # Queues no rule routes to that agents may transfer to (`[queues.<name>]`).
    transfer_queues: dict[str, Target] = field(default_factory=dict)
    # What messages and calls cost (`switchboard.costs`).
    rate_card: costs.RateCard = field(default_factory=costs.RateCard)

    def route(
        self,
        channel: str,
        at: datetime,
        text: str = "",
        subject: str = "",
        from_address: str = "",
    ) -> Route:
        """The route of an interaction received `at` (UTC)."""
        target = self.defaults[channel]
        for rule in self.rules:
            if _matches(rule, channel, at, f"{subject}\n{text}", from_address, self.hours):
                target = rule.target
                break
        hours = target.calendar or self.hours
        return Route(
            queue=target.queue,
            priority=target.priority,
            sla_due_at=add_business_time(at, target.first_response, hours),
            resolution_due_at=(
                add_business_time(at, target.resolution, hours) if target.resolution else None
            ),
            sla=self.policy(target),
        )

    def queues(self) -> dict[str, Target]:
        """Every queue a conversation may be in or be transferred to, with its targets: the
        `[queues.<name>]` tables, else the first default or rule that routes to it."""
        found: dict[str, Target] = {}
        for target in (*self.defaults.values(), *(rule.target for rule in self.rules)):
            found.setdefault(target.queue, target)
        return {**found, **self.transfer_queues}

    def policy(self, target: Target) -> SlaPolicy:
        """The SLA targets of a queue and the calendar they are measured on, as plain data."""
        hours = target.calendar or self.hours
        return SlaPolicy(
            first_response_s=target.first_response.total_seconds(),
            next_response_s=(target.next_response or target.first_response).total_seconds(),
            resolution_s=target.resolution.total_seconds() if target.resolution else None,
            timezone=hours.timezone.key,
            days=sorted(hours.days),
            opens=hours.start.isoformat("minutes"),
            closes=hours.end.isoformat("minutes"),
            holidays=sorted(d.isoformat() for d in hours.holidays),
        )


def _matches(
    rule: Rule, channel: str, at: datetime, text: str, sender: str, hours: BusinessHours
) -> bool:
    lowered = text.lower()
    if rule.channels and channel not in rule.channels:
        return False
    if rule.keywords and not any(re.search(rf"\b{re.escape(k)}\b", lowered) for k in rule.keywords):
        return False
    if rule.regex is not None and not rule.regex.search(text):
        return False
    if rule.from_domains and sender.rpartition("@")[2] not in rule.from_domains:
        return False
    if rule.from_numbers and sender not in rule.from_numbers:
        return False
    return rule.business_hours is None or hours.contains(at) == rule.business_hours


def load(path: Path | None = None) -> Rules:
    """Read and check a rules file (the shipped defaults without one); `RulesError` if bad."""
    path = path or DEFAULT_RULES
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc
    # tomllib keeps no positions: the Nth [[rules]] header is where rule N begins.
    rule_lines = [
        n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[rules]]"
    ]
    try:
        return _parse(data, rule_lines)
    except RulesError as exc:
        raise RulesError(f"{path}: {exc}") from exc


# Channels added after rules files were written, and the channel whose defaults they take
# when a file has none of their own.
_DEFAULTS_FALLBACK = {Channel.WHATSAPP.value: Channel.SMS.value}


def _parse(data: dict[str, object], rule_lines: list[int]) -> Rules:
    version = data.get("version")
    if version != SUPPORTED_VERSION:
        raise RulesError(f"version must be {SUPPORTED_VERSION}, got {version!r}")
    hours = _hours(_table(data, "business_hours", "business_hours"), "[business_hours]")
    named = data.get("calendars", {})
    if not isinstance(named, dict) or not all(isinstance(t, dict) for t in named.values()):
        raise RulesError("[calendars.<name>] must be tables like [business_hours]")
    calendars = {name: _hours(table, f"[calendars.{name}]") for name, table in named.items()}
    defaults_table = _table(data, "defaults", "defaults")
    defaults = {}
    for channel in Channel:
        entry = defaults_table.get(channel.value)
        if entry is None and channel.value in _DEFAULTS_FALLBACK:
            # A rules file written before the channel existed routes it as its elder.
            entry = defaults_table.get(_DEFAULTS_FALLBACK[channel.value])
        if not isinstance(entry, dict):
            raise RulesError(f"[defaults.{channel.value}] is missing")
        defaults[channel.value] = _target(entry, f"[defaults.{channel.value}]", calendars)
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RulesError("rules must be an array of [[rules]] tables")
    rules = tuple(
        _rule(entry, index, rule_lines[index] if index < len(rule_lines) else 0, calendars)
        for index, entry in enumerate(raw_rules)
    )
    dispositions = data.get("dispositions", [])
    if not isinstance(dispositions, list) or not all(
        isinstance(d, str) and d.strip() for d in dispositions
    ):
        raise RulesError("dispositions must be a list of names")
    queues = data.get("queues", {})
    if not isinstance(queues, dict) or not all(isinstance(t, dict) for t in queues.values()):
        raise RulesError("[queues.<name>] must be tables with a queue's targets")
    transfer_queues = {
        name: _target({"queue": name, **table}, f"[queues.{name}]", calendars)
        for name, table in queues.items()
    }
    return Rules(
        version=SUPPORTED_VERSION,
        hours=hours,
        defaults=defaults,
        rules=rules,
        dispositions=tuple(d.strip() for d in dispositions),
        transfer_queues=transfer_queues,
        rate_card=_rate_card(data.get("rate_card")),
    )


def _rate_card(table: object) -> costs.RateCard:
    try:
        return costs.parse(table)
    except costs.RateCardError as exc:
        raise RulesError(str(exc)) from exc


def _table(data: dict[str, object], key: str, where: str) -> dict[str, object]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise RulesError(f"[{where}] is missing")
    return value


def _hours(table: dict[str, object], where: str) -> BusinessHours:
    try:
        zone = ZoneInfo(str(table.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RulesError(f"{where} unknown timezone {table.get('timezone')!r}") from exc
    days = table.get("days", list(DAYS[:5]))
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise RulesError(f"{where} days must be a list of {', '.join(DAYS)}")
    try:
        start = time.fromisoformat(str(table.get("start", "09:00")))
        end = time.fromisoformat(str(table.get("end", "17:00")))
    except ValueError as exc:
        raise RulesError(f"{where} start and end are HH:MM: {exc}") from exc
    if end <= start:
        raise RulesError(f"{where} end must be after start")
    if not days:
        raise RulesError(f"{where} days must name at least one day")
    holidays = table.get("holidays", [])
    try:
        if not isinstance(holidays, list):
            raise ValueError(holidays)
        closed = frozenset(
            h if isinstance(h, date) else date.fromisoformat(str(h)) for h in holidays
        )
    except ValueError as exc:
        raise RulesError(f"{where} holidays must be a list of dates (2026-12-25)") from exc
    return BusinessHours(zone, frozenset(DAYS.index(d) for d in days), start, end, closed)


def _duration(value: object, where: str) -> timedelta:
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise RulesError(f"{where}: durations are like '30m', '4h', '2d', got {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _target(entry: dict[str, object], where: str, calendars: dict[str, BusinessHours]) -> Target:
    queue = entry.get("queue")
    if not isinstance(queue, str) or not queue.strip():
        raise RulesError(f"{where}: queue is required")
    priority = entry.get("priority", 3)
    if not isinstance(priority, int) or not 1 <= priority <= 5:
        raise RulesError(f"{where}: priority must be a whole number from 1 (urgent) to 5")
    first_response = _duration(entry.get("first_response", "4h"), f"{where} first_response")
    resolution = entry.get("resolution")
    next_response = entry.get("next_response")
    calendar = entry.get("calendar")
    if calendar is not None and calendar not in calendars:
        raise RulesError(f"{where}: calendar {calendar!r} is not a [calendars.<name>] table")
    return Target(
        queue=queue.strip(),
        priority=priority,
        first_response=first_response,
        resolution=None if resolution is None else _duration(resolution, f"{where} resolution"),
        next_response=(
            None if next_response is None else _duration(next_response, f"{where} next_response")
        ),
        calendar=None if calendar is None else calendars[str(calendar)],
    )


_RULE_KEYS = {
    "name",
    "channels",
    "keywords",
    "regex",
    "from_domains",
    "from_numbers",
    "business_hours",
    "queue",
    "priority",
    "first_response",
    "next_response",
    "resolution",
    "calendar",
}


def _rule(entry: object, index: int, line: int, calendars: dict[str, BusinessHours]) -> Rule:
    where = f"line {line}: rule {index + 1}" if line else f"rule {index + 1}"
    if not isinstance(entry, dict):
        raise RulesError(f"{where}: must be a table")
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    channels = _strings(entry, "channels", where)
    bad = set(channels) - {c.value for c in Channel}
    if bad:
        raise RulesError(f"{where}: unknown channel(s) {', '.join(sorted(bad))}")
    pattern = entry.get("regex")
    try:
        regex = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else None
    except re.error as exc:
        raise RulesError(f"{where}: invalid regex {pattern!r}: {exc}") from exc
    business_hours = entry.get("business_hours")
    if business_hours is not None and not isinstance(business_hours, bool):
        raise RulesError(f"{where}: business_hours must be true or false")
    return Rule(
        name=str(entry.get("name", f"rule {index + 1}")),
        line=line,
        target=_target(entry, where, calendars),
        channels=frozenset(channels),
        keywords=tuple(k.lower() for k in _strings(entry, "keywords", where)),
        regex=regex,
        from_domains=frozenset(d.lower() for d in _strings(entry, "from_domains", where)),
        from_numbers=frozenset(_strings(entry, "from_numbers", where)),
        business_hours=business_hours,
    )


def _strings(entry: dict[str, object], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: {key} must be a list of strings")
    return value
