"""Durations (``30s``, ``5m``, ``24h``, ``7d``), dates, the stored time format,
and local days and weeks in the configured time zone (DST included).

On the start-up path of every read command: keep its imports to the standard
library's cheapest (the time zone objects are passed in, never built here).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
#: The longest duration or window a command takes (``--since``, ``--from``/``--to``):
#: a hundred years, leap days included.
LONGEST = timedelta(days=36_525)
LONGEST_TEXT = "100 years"
DURATION_HELP = "a duration such as 30s, 5m, 24h, 7d or 1h30m"
#: The dates a command takes (``--date``, ``--from``, ``--to``): far enough from
#: ``date.min`` and ``date.max`` that a day's bounds in any time zone, the days
#: and the window before it stay representable and stored with four-digit years.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(9998, 12, 31)


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``24h``, ``7d``, ``2w`` or combinations like ``1h30m``."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not {DURATION_HELP}")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > LONGEST.total_seconds():  # "now - duration" must stay a date
        raise ValueError(f"{text!r} is longer than {LONGEST_TEXT}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A duration to the second, in the form :func:`parse_duration` reads: ``1d2h``, ``15m``, ``1h30m5s``.

    The one form for settings, windows and waits (``every``, ``cooldown``,
    ``--since``, health notes), so what is printed can be typed back. Not
    :func:`monitor.kpi.display.clock`, which rounds a KPI time to two
    zero-padded units so a table column lines up (``1d02h``).
    """
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"


def parse_date(text: str) -> date:
    """A ``YYYY-MM-DD`` date from :data:`FIRST_DATE` to :data:`LAST_DATE`."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_not_a_date(text)) from None
    return check_date(day)


def _not_a_date(text: str) -> str:
    """Why ``text`` is no date: its form, or, written as one, the month or day that does not exist."""
    shape = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if shape is None:
        return f"{text!r} is not a date in the form YYYY-MM-DD"
    year, month, _ = (int(part) for part in shape.groups())
    if year == 0:
        return f"{text.strip()} is out of range: dates run from {FIRST_DATE} to {LAST_DATE}"
    if not 1 <= month <= 12:
        return f"{text!r} is not a date: there is no month {month:02d} (YYYY-MM-DD: months 01 to 12)"
    import calendar  # only when there is an error to explain

    return f"{text!r} is not a date: {calendar.month_name[month]} {year} has days 01 to {calendar.monthrange(year, month)[1]}"


def check_date(day: date) -> date:
    """``day`` if it is one the commands take (:data:`FIRST_DATE` to :data:`LAST_DATE`),
    else :class:`ValueError` saying the range."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day} is out of range: dates run from {FIRST_DATE} to {LAST_DATE}")
    return day


def ceil_second(moment: datetime) -> datetime:
    """``moment`` rounded up to a whole second (a stored retry time is never early)."""
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_db(moment: datetime) -> str:
    """The stored form of a time: UTC, whole seconds, ``2026-01-31T08:00:00Z``.

    One fixed width, so text order is time order and range queries use indexes.
    """
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The start of the local ``day`` in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the local ``day`` (23 or 25 hours long on DST days)."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def _period_first_day(moment: datetime, by: str, tz: tzinfo) -> date:
    """The first local day of the day (``by="day"``) or ISO week holding ``moment``."""
    day = moment.astimezone(tz).date()
    return day - timedelta(days=day.weekday()) if by == "week" else day


def _period_step(by: str) -> timedelta:
    return timedelta(days=7 if by == "week" else 1)


def periods(start: datetime, end: datetime, by: str, tz: tzinfo) -> list[tuple[str, datetime, datetime]]:
    """Local days (``2026-01-31``) or ISO weeks (``2026-W05``) covering ``[start, end)``,
    the first and last cut to the window."""
    out: list[tuple[str, datetime, datetime]] = []
    day = _period_first_day(start, by, tz)
    step = _period_step(by)
    while True:
        lo = local_midnight(day, tz)
        if lo >= end:
            break
        hi = local_midnight(day + step, tz)
        if by == "week":
            year, week, _ = day.isocalendar()
            key = f"{year}-W{week:02d}"
        else:
            key = day.isoformat()
        out.append((key, max(lo, start), min(hi, end)))
        day += step
    return out


def period_before(moment: datetime, by: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the whole local day or ISO week before the one holding ``moment``."""
    first = _period_first_day(moment, by, tz)
    return local_midnight(first - _period_step(by), tz), local_midnight(first, tz)


def due_day(now: datetime, tz: tzinfo, send_at: time) -> date:
    """The latest local day whose daily job at ``send_at`` is due at ``now``:
    yesterday once today's ``send_at`` has passed, else the day before yesterday.

    ``send_at`` is compared as a moment (not a wall-clock time), so in the hour
    repeated when DST ends it stays passed once it has passed.
    """
    today = now.astimezone(tz).date()
    send_time = datetime.combine(today, send_at, tzinfo=tz)
    return today - timedelta(days=1 if now >= send_time else 2)
