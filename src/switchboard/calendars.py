"""Business-hours calendars: when a business-time target falls due, and how much business time
lies between two instants.

Pure functions of their arguments (no clock, no I/O beyond the timezone database `zoneinfo`
reads once per zone), so workflow code calls them with `workflow.now()` and gets the same
answer on replay. Instants are timezone-aware; results are in UTC. Opening hours are wall-clock
times in the calendar's timezone, so they follow its daylight-saving changes: a day of 09:00 to
17:00 is 8 hours on the days the clocks change too (the change happens at night).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from switchboard.contract import SlaPolicy

# A calendar that never opens (all of its days holidays) has no due time; searching stops here.
_HORIZON = timedelta(days=3 * 366)


@dataclass(frozen=True)
class BusinessHours:
    """Open `start`-`end` (wall clock in `timezone`) on `days` (0 = Monday), except `holidays`
    (dates in `timezone`)."""

    timezone: ZoneInfo
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.timezone)
        return self._open_on(local.date()) and self.start <= local.time() < self.end

    def _open_on(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals (UTC) from the day of `since` on, those that end after it."""
        day = since.astimezone(self.timezone).date()
        last = day + _HORIZON
        while day <= last:
            if self._open_on(day):
                opens = datetime.combine(day, self.start, self.timezone).astimezone(UTC)
                closes = datetime.combine(day, self.end, self.timezone).astimezone(UTC)
                if closes > since:
                    yield max(opens, since), closes
            day += timedelta(days=1)


def business_time(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """The part of [start, end) inside business hours."""
    total = timedelta()
    if end <= start:
        return total
    for opens, closes in hours.intervals(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def add_business_time(start: datetime, duration: timedelta, hours: BusinessHours) -> datetime:
    """The instant (UTC) at which `duration` of business time has passed since `start`.

    A target that starts outside business hours starts counting when they open; one that
    ends exactly at closing time is due then, not at the next opening.
    """
    if duration <= timedelta():
        return start.astimezone(UTC)
    left = duration
    for opens, closes in hours.intervals(start):
        if closes - opens >= left:
            return opens + left
        left -= closes - opens
    raise ValueError("the calendar has no business hours within three years")


def calendar_of(policy: SlaPolicy) -> BusinessHours:
    """The calendar an SLA policy names (built once per distinct calendar)."""
    return _calendar(
        policy.timezone,
        tuple(policy.days),
        policy.opens,
        policy.closes,
        tuple(policy.holidays),
    )


@lru_cache(maxsize=64)
def _calendar(
    zone: str, days: tuple[int, ...], opens: str, closes: str, holidays: tuple[str, ...]
) -> BusinessHours:
    return BusinessHours(
        ZoneInfo(zone),
        frozenset(days),
        time.fromisoformat(opens),
        time.fromisoformat(closes),
        frozenset(date.fromisoformat(d) for d in holidays),
    )


def due(start: datetime, seconds: float, policy: SlaPolicy) -> datetime:
    """When a target of `seconds` business seconds, started at `start`, falls due."""
    return add_business_time(start, timedelta(seconds=seconds), calendar_of(policy))


def elapsed(start: datetime, end: datetime, policy: SlaPolicy) -> float:
    """Business seconds between `start` and `end` on the policy's calendar."""
    return business_time(start, end, calendar_of(policy)).total_seconds()
