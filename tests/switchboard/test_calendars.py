"""Business-hours calendars: due times and business time across nights, weekends, holidays and
daylight-saving changes (New York: clocks go forward on Sun 2027-03-14, back on Sun
2026-11-01)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from switchboard.calendars import BusinessHours, add_business_time, business_time

NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = BusinessHours(NEW_YORK, frozenset(range(5)), time(9), time(17))
EVERY_DAY = BusinessHours(NEW_YORK, frozenset(range(7)), time(9), time(17))
H = timedelta(hours=1)


def ny(y: int, m: int, d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=NEW_YORK)


def test_a_target_runs_over_the_weekend_from_friday_to_monday() -> None:
    # Fri 2026-11-20 16:00 + 2 business hours: 1 h on Friday, 1 h on Monday.
    assert add_business_time(ny(2026, 11, 20, 16), 2 * H, WEEKDAYS) == ny(2026, 11, 23, 10)
    assert business_time(ny(2026, 11, 20, 16), ny(2026, 11, 23, 10), WEEKDAYS) == 2 * H


def test_spring_forward_over_the_weekend_keeps_opening_at_nine_local() -> None:
    due = add_business_time(ny(2027, 3, 12, 16), 2 * H, WEEKDAYS)
    assert due == datetime(2027, 3, 15, 14, tzinfo=UTC)  # Mon 10:00 EDT (UTC-4)
    assert due - datetime(2027, 3, 12, 21, tzinfo=UTC) == 65 * H  # the weekend lost an hour


def test_fall_back_over_the_weekend_keeps_opening_at_nine_local() -> None:
    due = add_business_time(ny(2026, 10, 30, 16), 2 * H, WEEKDAYS)
    assert due == datetime(2026, 11, 2, 15, tzinfo=UTC)  # Mon 10:00 EST (UTC-5)
    assert due - datetime(2026, 10, 30, 20, tzinfo=UTC) == 67 * H  # the weekend gained one


@pytest.mark.parametrize("day", [date(2027, 3, 14), date(2026, 11, 1)])
def test_a_day_the_clocks_change_is_still_eight_business_hours(day: date) -> None:
    start = datetime.combine(day, time(0), NEW_YORK)
    assert business_time(start, start + 24 * H, EVERY_DAY) == 8 * H
    assert add_business_time(start, 8 * H, EVERY_DAY) == datetime.combine(day, time(17), NEW_YORK)


def test_holidays_are_closed_days() -> None:
    christmas = BusinessHours(
        NEW_YORK, frozenset(range(5)), time(9), time(17), frozenset({date(2026, 12, 25)})
    )
    # Thu 24 16:00 + 2 h: Thursday's last hour, then not Friday 25 (closed): Monday 28 10:00.
    assert add_business_time(ny(2026, 12, 24, 16), 2 * H, christmas) == ny(2026, 12, 28, 10)
    assert business_time(ny(2026, 12, 24, 0), ny(2026, 12, 29, 0), christmas) == 16 * H


def test_a_target_that_starts_when_closed_starts_counting_at_the_opening() -> None:
    assert add_business_time(ny(2026, 11, 21, 12), 30 * timedelta(minutes=1), WEEKDAYS) == ny(
        2026, 11, 23, 9, 30
    )
    assert business_time(ny(2026, 11, 21, 12), ny(2026, 11, 22, 12), WEEKDAYS) == timedelta()


def test_a_target_that_ends_at_closing_time_is_due_at_closing_time() -> None:
    assert add_business_time(ny(2026, 11, 23, 16), H, WEEKDAYS) == ny(2026, 11, 23, 17)


def test_due_times_and_business_time_agree() -> None:
    start = ny(2026, 10, 29, 13, 17)
    for hours in (0.5, 3, 8, 19, 41, 200):
        target = timedelta(hours=hours)
        assert business_time(start, add_business_time(start, target, WEEKDAYS), WEEKDAYS) == target


def test_a_calendar_that_never_opens_has_no_due_time() -> None:
    never = BusinessHours(NEW_YORK, frozenset(), time(9), time(17))
    with pytest.raises(ValueError, match="no business hours"):
        add_business_time(ny(2026, 11, 23, 9), H, never)
