"""Local days, weeks and the daily send time, in a time zone with DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor.timeutil import day_bounds, due_day, period_before, periods

NEW_YORK = ZoneInfo("America/New_York")


def test_days_and_weeks_follow_dst():
    start, end = day_bounds(date(2024, 3, 10), NEW_YORK)  # clocks go forward: a 23-hour day
    assert end.astimezone(timezone.utc) - start.astimezone(timezone.utc) == timedelta(hours=23)
    window = datetime(2024, 3, 6, 12, tzinfo=timezone.utc), end
    assert [(key, lo.isoformat(), hi.isoformat()) for key, lo, hi in periods(*window, "week", NEW_YORK)] == [
        ("2024-W10", "2024-03-06T12:00:00+00:00", "2024-03-11T00:00:00-04:00")]  # cut to the window
    assert [key for key, _, _ in periods(*window, "day", NEW_YORK)][-2:] == ["2024-03-09", "2024-03-10"]
    before = period_before(window[0], "week", NEW_YORK)
    assert [t.isoformat() for t in before] == ["2024-02-26T00:00:00-05:00", "2024-03-04T00:00:00-05:00"]


def test_send_time_once_passed_stays_passed_in_the_repeated_hour():
    at = time(1, 30)
    first_pass = datetime(2024, 11, 3, 5, 40, tzinfo=timezone.utc)  # 01:40 EDT
    second_pass = datetime(2024, 11, 3, 6, 10, tzinfo=timezone.utc)  # 01:10 EST, an hour later
    before = datetime(2024, 11, 3, 5, 20, tzinfo=timezone.utc)  # 01:20 EDT
    assert due_day(before, NEW_YORK, at) == date(2024, 11, 1)
    assert due_day(first_pass, NEW_YORK, at) == due_day(second_pass, NEW_YORK, at) == date(2024, 11, 2)
