"""Durations (``30s``, ``5m``, ``24h``, ``7d``), dates and the stored time format."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_LONGEST = 36_500 * 86_400
DURATION_HELP = "a duration such as 30s, 5m, 24h, 7d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``24h``, ``7d``, ``2w`` or combinations like ``1h30m``."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not {DURATION_HELP}")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > _LONGEST:  # "now - duration" must stay a date
        raise ValueError(f"{text!r} is longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_db(moment: datetime) -> str:
    """The stored form of a time: UTC, whole seconds, ``2026-01-31T08:00:00Z``.

    One fixed width, so text order is time order and range queries use indexes.
    """
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
