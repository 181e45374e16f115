"""What every export format is made of: columns, layouts, rows and value parsers.

A *layout* is one kind of file a tool writes (Zendesk's ticket export,
Intercom's conversations or CSAT dataset, ...): the columns it reads, the
headers that identify it, and a ``parse`` function from a :class:`Row` to
normalised records. Headers are matched without regard to case, spacing or
``_`` versus space, through each column's known aliases; a ``(Area/City)``
suffix names the zone of a timestamp column (Intercom) and a ``(minutes)``
style suffix the unit of a duration column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TypeVar

from monitor.kpi import formulas
from monitor.kpi.records import Record, SurveyResponse, ticket_rating_id
from monitor.timeutil import FIRST_DATE, LAST_DATE

SECOND, MINUTE, HOUR = 1.0, 60.0, 3600.0
_UNITS = {
    "s": SECOND, "sec": SECOND, "secs": SECOND, "second": SECOND, "seconds": SECOND,
    "m": MINUTE, "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR, "in hrs": HOUR,
}
_SPACES = re.compile(r"[\s_]+")
_SUFFIX = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
_ZONE = re.compile(r"^(UTC|[A-Za-z]+(?:/[A-Za-z0-9_+\-]+)+)$")
_NUMBER = re.compile(r"^[-+]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?(\d+|\d{1,3}(\.\d{3})+),\d+$")  # 4,5  8000,50  8.000,50
_GROUPED_BY_DOTS = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+$")  # 1.500: 1.5, or 1500?
_DURATION_DECIMAL_COMMA = re.compile(r"^(\d+),(\d+)(?=\s*[a-z]*$)")  # 1,5 or 1,5h
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]+)?$")
#: Statuses of tickets still being worked on, in every tool we read (lower case).
OPEN_STATUSES = frozenset({
    "new", "open", "pending", "hold", "on-hold", "on hold", "snoozed", "active",
    "waiting on customer", "waiting on third party",
})
#: Statuses of tickets a helpdesk's own reports leave out (lower case) -> why: spam and
#: deleted ones entirely (Help Scout, Freshdesk; Zendesk deletes spam), a merged one
#: because it is counted in the ticket it was merged into (Freshdesk, Zendesk).
LEFT_OUT_STATUSES = {"spam": "spam", "deleted": "deleted", "merged": "merged"}
#: The largest count read (replies, reopens, customers, contacts): exact as a float and in SQLite.
MAX_COUNT = 10**15 - 1
#: The longest duration read, in seconds: 100 years (a longer one is a unit or export error).
MAX_DURATION_S = 100 * 365.25 * 24 * HOUR
_T = TypeVar("_T")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def norm(header: str) -> str:
    """The form headers are compared in: lower case, one space for runs of spaces and ``_``."""
    return _SPACES.sub(" ", header.replace("\ufeff", "")).strip().lower()


class BadValue(ValueError):
    """A cell that cannot be read, or cannot be true; the importer adds the file and line.

    The message is ``column "X": 'value' is not <expected>``, or ``column "X": <reason>``.
    """

    def __init__(self, column: str, value: str, expected: str, *, reason: str | None = None) -> None:
        super().__init__(f'column "{column}": {reason or f"{value!r} is not {expected}"}')
        self.column = column
        self.value = value

    @classmethod
    def negative(cls, column: str, value: str) -> BadValue:
        """A count, cost or duration below 0."""
        return cls(column, value, "at least 0", reason=f"{value} is negative")


class OutOfRange(ValueError):
    """A date or time outside the dates the commands take (the message says which)."""

    def __init__(self, value: str) -> None:
        super().__init__(f"{value} is out of range: dates run from {FIRST_DATE} to {LAST_DATE}")


class SkippedTime(ValueError):
    """A wall time the clocks skipped in its zone (spring forward): the export's
    times are probably in another zone."""

    def __init__(self, value: str, tz: tzinfo, skipped: timedelta) -> None:
        minutes = int(skipped.total_seconds() // 60)
        jump = f"{minutes // 60} hour{'s' if minutes != 60 else ''}" if minutes % 60 == 0 else f"{minutes} minutes"
        super().__init__(
            f"{value} does not exist in {getattr(tz, 'key', tz)}: the clocks jumped ahead {jump} there"
            " that night; check --timezone (or [kpi] timezone): it must be the zone the export's times are in"
        )


def _in_range(day: date, value: str) -> None:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise OutOfRange(value)


@dataclass(frozen=True)
class Column:
    key: str  # our name for it
    names: tuple[str, ...]  # header spellings, in order of preference; the first is documented
    required: bool = False
    unit: float | None = None  # a duration column's unit in seconds, when the header implies one
    duration: bool = False  # a "(minutes)"-style header suffix may give the unit

    @property
    def label(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class Context:
    """What parsing needs besides the row: the zone of offset-less times, settings."""

    tz: tzinfo = timezone.utc
    ces_scale: int = 7
    warn: Callable[[str, str], None] = field(default=lambda column, value: None)
    #: Numbers are written with a decimal comma (``4,5``, ``8.000,50``): a semicolon-separated
    #: file, as Excel saves "CSV" where the comma is the decimal separator.
    decimal_comma: bool = False


@dataclass(frozen=True)
class Layout:
    format: str  # "zendesk", ...
    name: str  # "tickets", "csat", ...
    title: str  # for messages: "Zendesk ticket export"
    columns: tuple[Column, ...]
    signature: frozenset[str]  # normalised headers that identify this layout (any one)
    parse: Callable[[Row], Iterable[Record]]
    check: Callable[[Binding], str | None] | None = None  # extra header check: a problem or None

    def bind(self, header: Sequence[str]) -> Binding:
        """Map this layout's columns to ``header`` positions (missing ones are simply absent)."""
        by_name: dict[str, tuple[int, str | None]] = {}
        positions: dict[str, list[int]] = {}
        for i, h in enumerate(header):
            name = norm(h)
            by_name.setdefault(name, (i, None))
            positions.setdefault(name, []).append(i)
            found = _SUFFIX.match(name)
            if found:  # "created at (europe/london)" also answers to "created at"
                by_name.setdefault(found.group(1), (i, _SUFFIX.match(h.strip()).group(2)))  # type: ignore[union-attr]
        slots: dict[str, _Slot] = {}
        repeated: dict[str, list[int]] = {}
        for column in self.columns:
            for name in column.names:
                hit = by_name.get(norm(name))
                if hit is None:
                    continue
                index, suffix = hit
                slot = _slot(column, index, header[index], suffix)
                if slot is not None:
                    slots[column.key] = slot
                    if suffix is None and len(positions[norm(name)]) > 1:
                        repeated[header[index]] = positions[norm(name)]
                    break
        return Binding(self, list(header), slots, repeated)

    def score(self, header: Sequence[str]) -> tuple[bool, int]:
        """(carries one of the identifying headers, how many known columns it has)."""
        binding = self.bind(header)
        names = {norm(h) for h in header} | {
            m.group(1) for h in header if (m := _SUFFIX.match(norm(h)))
        }
        return bool(names & self.signature), len(binding.slots)

    def expected(self) -> str:
        required = [c.label for c in self.columns if c.required]
        optional = [c.label for c in self.columns if not c.required]
        return ", ".join(required) + (f" (optional: {', '.join(optional)})" if optional else "")


@dataclass(frozen=True)
class _Slot:
    index: int
    header: str  # as written in the file
    tz: tzinfo | None = None  # from a "(Area/City)" suffix
    unit: float | None = None


def _slot(column: Column, index: int, header: str, suffix: str | None) -> _Slot | None:
    if suffix is None:
        return _Slot(index, header, unit=column.unit)
    if _ZONE.match(suffix):
        from monitor.config import zone

        try:
            return _Slot(index, header, tz=zone(suffix), unit=column.unit)
        except ValueError:
            return _Slot(index, header, unit=column.unit)  # not a zone we know: use the configured one
    unit = _UNITS.get(norm(suffix))
    if column.duration and unit is not None:
        return _Slot(index, header, unit=unit)
    return None  # "(in hrs)" on a column that is not ours


@dataclass
class Binding:
    layout: Layout
    header: list[str]
    slots: dict[str, _Slot]
    #: Header -> its positions, for a column read that the header has more than once.
    repeated: dict[str, list[int]] = field(default_factory=dict)

    def missing(self) -> list[str]:
        return [c.label for c in self.layout.columns if c.required and c.key not in self.slots]

    def problem(self) -> str | None:
        """Why this header cannot be read with this layout, or ``None``."""
        missing = self.missing()
        if missing:
            return f"missing column(s) {', '.join(repr(m) for m in missing)}"
        return self.layout.check(self) if self.layout.check else None

    def has(self, key: str) -> bool:
        return key in self.slots


class Row:
    """One data row, read through a :class:`Binding`. Empty cells read as ``None``."""

    __slots__ = ("binding", "cells", "context")

    def __init__(self, binding: Binding, cells: list[str], context: Context) -> None:
        self.binding = binding
        self.cells = cells
        self.context = context

    def header(self, key: str) -> str:
        return self.binding.slots[key].header

    def has(self, key: str) -> bool:
        """Whether the export has this column (filled in or not)."""
        return self.binding.has(key)

    def text(self, key: str) -> str | None:
        slot = self.binding.slots.get(key)
        if slot is None or slot.index >= len(self.cells):
            return None
        value = self.cells[slot.index].strip()
        return value or None

    def raw(self) -> list[str]:
        """The row's cells as written, in the header's order (trailing empty cells dropped)."""
        cells = self.cells
        end = len(cells)
        while end and cells[end - 1] == "":
            end -= 1
        return cells[:end]

    def required(self, key: str) -> str:
        return self.filled(key, self.text(key))

    def filled(self, key: str, value: _T | None) -> _T:
        """``value``, read from column ``key``; a BadValue if the cell was empty."""
        if value is None:
            raise BadValue(self.header(key), "", "filled in (this column is required)")
        return value

    def required_time(self, key: str) -> datetime:
        return self.filled(key, self.time(key))

    def time(self, key: str, fold: int = 0) -> datetime | None:
        value = self.text(key)
        if value is None:
            return None
        slot = self.binding.slots[key]
        try:
            return parse_time(value, slot.tz or self.context.tz, fold)
        except (OutOfRange, SkippedTime) as exc:
            raise BadValue(slot.header, value, "", reason=str(exc)) from None
        except ValueError:
            raise BadValue(slot.header, value, "a date and time (e.g. 2024-03-05 14:22:10)") from None

    def time_or_day(self, key: str) -> datetime | None:
        """The time of column ``key``; a date without a time means that calendar day and is
        read as its midday in the zone (see :func:`midday`)."""
        value = self.text(key)
        if value is not None and DATE_ONLY.match(value):
            day = self.date(key)
            return midday(day, self.binding.slots[key].tz or self.context.tz)  # type: ignore[arg-type]
        return self.time(key)

    def time_after(self, key: str, start_key: str, start: datetime) -> datetime | None:
        """The time of column ``key``, which cannot be before ``start`` (read from ``start_key``):
        a ticket is answered and resolved after it was created."""
        moment = self.time(key)
        if moment is not None and moment < start:
            # A wall time the clock went through twice (autumn) is read as its first pass;
            # its second one may be the time meant: 01:10 after 01:50 in the hour repeated.
            later = self.time(key, fold=1)
            if later is not None and later >= start:
                return later
            raise BadValue(
                self.header(key), self.text(key) or "", "",
                reason=f'{self.text(key)} is before "{self.header(start_key)}" ({self.text(start_key)})',
            )
        return moment

    def date(self, key: str) -> date | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            day = date.fromisoformat(value)
            _in_range(day, value)
        except OutOfRange as exc:
            raise BadValue(self.header(key), value, "", reason=str(exc)) from None
        except ValueError:
            raise BadValue(self.header(key), value, "a date in the form YYYY-MM-DD") from None
        return day

    def number(self, key: str) -> float | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            return parse_number(value, decimal_comma=self.context.decimal_comma)
        except AmbiguousNumber as exc:
            raise BadValue(self.header(key), value, f"a number: {exc}") from None
        except ValueError:
            raise BadValue(self.header(key), value, "a number") from None

    def amount(self, key: str, *, whole: bool = False) -> float | None:
        """A number that cannot be negative: a cost, or with ``whole`` a count."""
        number = self.number(key)
        if number is None:
            return None
        text = self.text(key) or ""
        if number < 0:
            raise BadValue.negative(self.header(key), text)
        if whole and not number.is_integer():
            raise BadValue(self.header(key), text, "a whole number")
        if whole and number > MAX_COUNT:
            raise BadValue(self.header(key), text, "", reason=f"{text} is too large for a count (at most {MAX_COUNT})")
        return number

    def int(self, key: str) -> int | None:
        """A count: a whole number, not negative."""
        number = self.amount(key, whole=True)
        return None if number is None else int(number)

    def bool(self, key: str) -> bool | None:
        value = self.text(key)
        if value is None:
            return None
        lowered = value.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise BadValue(self.header(key), value, "true or false")

    def duration(self, key: str) -> float | None:
        """Seconds, from ``HH:MM:SS``, ``H:MM``, ``95s``/``12m``/``1.5h``, or a number in the column's unit."""
        value = self.text(key)
        if value is None:
            return None
        slot = self.binding.slots[key]
        try:
            seconds = parse_duration(value, slot.unit, decimal_comma=self.context.decimal_comma)
        except ValueError as exc:
            if value.startswith("-") and _is_duration(value[1:], slot.unit, self.context.decimal_comma):
                raise BadValue.negative(slot.header, value) from None
            raise BadValue(slot.header, value, str(exc)) from None
        if seconds > MAX_DURATION_S:
            raise BadValue(slot.header, value, "", reason=f"{value} is more than 100 years")
        return seconds

    def duration_or_span(self, key: str, start: datetime | None, end: datetime | None) -> float | None:
        """The duration column's seconds, else the time from ``start`` to ``end``."""
        seconds = self.duration(key)
        return seconds_between(start, end) if seconds is None else seconds

    def first_contact(
        self, key: str | None, resolved: bool, replies: int | None, **estimate_from: int | None
    ) -> tuple[bool | None, bool]:
        """(resolved on first contact, estimated): the export's own true/false column
        ``key`` if it has one and it is filled in, else the estimate from replies
        (and ``reopens`` / ``customer_contacts``). ``None`` for unresolved tickets."""
        given = self.bool(key) if key is not None else None
        if given is not None:
            return (given if resolved else None), False
        return formulas.first_contact_estimate(resolved, replies, **estimate_from), True

    def warn(self, key: str, value: str) -> None:
        self.context.warn(self.header(key), value)


def parse_time(value: str, tz: tzinfo, fold: int = 0) -> datetime:
    """An aware UTC time from ISO 8601 (``T`` or space, seconds optional, ``Z``/offset
    optional) or ``DD-MM-YYYY HH:MM[:SS]`` (an export re-saved by Excel); times
    without an offset are in ``tz``, a wall time the clock went through twice read on
    its first pass (``fold=1``: its second). :class:`OutOfRange` (a ValueError) for a
    time on a day the commands do not take."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = _day_first(value)
    _in_range(moment.date(), value)  # the day in UTC is within a day of it
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=tz, fold=fold)
        utc = local.astimezone(timezone.utc)
        if utc.astimezone(tz).replace(tzinfo=None) != moment:  # in the gap the clocks jumped over
            before, after = (moment.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1))
            raise SkippedTime(value, tz, abs(after - before))  # type: ignore[operator]
        return utc
    return moment.astimezone(timezone.utc)


def midday(day: date, tz: tzinfo) -> datetime:
    """Midday of ``day`` in ``tz``, in UTC: where a date-only answer is stored, so that it
    falls on that day in every reporting zone within 12 hours of ``tz`` (midnight would
    fall on the day before in any zone west of it)."""
    return datetime.combine(day, time(12), tzinfo=tz).astimezone(timezone.utc)


def _day_first(value: str) -> datetime:
    for pattern in ("%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S"):
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            pass
    raise ValueError(value)


class AmbiguousNumber(ValueError):
    """A number whose separators read two ways in a file with decimal commas (``1.500``)."""


def parse_number(value: str, *, decimal_comma: bool = False) -> float:
    """``12``, ``-3.5``, ``12,000.50`` (thousands separators), with an optional leading $ € £.

    With ``decimal_comma`` (a semicolon-separated file) the comma marks decimals as well:
    ``4,5``, ``8000,50``, ``8.000,50``; ``1.500`` is then refused (:class:`AmbiguousNumber`)."""
    text = value.strip().lstrip("$€£").strip()
    if decimal_comma:
        if _DECIMAL_COMMA.match(text):
            return float(text.replace(".", "").replace(",", "."))
        if _GROUPED_BY_DOTS.match(text):
            raise AmbiguousNumber(
                f"in a semicolon-separated file, write {text.replace('.', '')} or {text.replace('.', ',')}"
                " (the dot may group thousands or mark decimals)"
            )
    if not _NUMBER.match(text):
        raise ValueError(value)
    return float(text.replace(",", ""))


def parse_duration(value: str, unit: float | None, *, decimal_comma: bool = False) -> float:
    """Seconds from ``HH:MM:SS`` (hours may pass 24), ``H:MM``, a number with a unit
    (``95s``, ``12m``, ``1.5h``) or a bare number in ``unit`` seconds; with ``decimal_comma``
    its number may be written ``1,5``."""
    text = value.strip().lower()
    if decimal_comma:
        text = _DURATION_DECIMAL_COMMA.sub(r"\1.\2", text)
    if ":" in text:
        parts = text.split(":")
        if len(parts) in (2, 3) and all(p.isdigit() for p in parts) and all(len(p) == 2 for p in parts[1:]):
            numbers = [int(p) for p in parts] + ([0] if len(parts) == 2 else [])
            return numbers[0] * HOUR + numbers[1] * MINUTE + numbers[2]
        raise ValueError("a duration (HH:MM:SS)")
    found = _DURATION.match(text)
    if not found:
        raise ValueError("a duration (HH:MM:SS, or a number such as 95s, 12m, 1.5h)")
    number, suffix = float(found.group(1)), found.group(2)
    if suffix is not None:
        if suffix not in _UNITS:
            raise ValueError(f'a duration: unknown unit "{suffix}" (use s, m or h)')
        return number * _UNITS[suffix]
    if unit is None:
        raise ValueError("a duration with a unit: write 95s, 12m, 1.5h or HH:MM:SS, or name the unit in the header, e.g. \"resolution_time (minutes)\"")
    return number * unit


def _is_duration(value: str, unit: float | None, decimal_comma: bool = False) -> bool:
    try:
        parse_duration(value, unit, decimal_comma=decimal_comma)
    except ValueError:
        return False
    return True


def resolved(at: datetime | None, status: str | None) -> datetime | None:
    """``at`` if the ticket counts as resolved: it has a resolution time and its status
    (when the export has one) is neither an open one nor one reports leave out (spam)."""
    if at is None or (status is not None and status.strip().lower() in OPEN_STATUSES | LEFT_OUT_STATUSES.keys()):
        return None
    return at


def left_out(status: str | None, *, merged: bool = False) -> str | None:
    """Why the helpdesk's own reports leave a ticket out, so that no KPI counts it:
    "spam", "deleted" or "merged" (``merged``: the export marks it so another way,
    e.g. Zendesk's ``closed_by_merge`` tag); ``None`` for a ticket they count."""
    found = LEFT_OUT_STATUSES.get((status or "").strip().lower())
    return found or ("merged" if merged else None)


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def ticket_rating(fmt: str, ticket_id: str, rating: float | None, when: datetime, label: str | None) -> Iterator[SurveyResponse]:
    """The 1-5 CSAT rating found on a ticket's row, if any. Such exports do not
    date the answer: ``when`` (the solve time, usually) stands in for it."""
    if rating is not None:
        yield SurveyResponse(
            fmt, ticket_rating_id(ticket_id), "csat", rating, 1, 5, when, ticket_id=ticket_id, label=label, dated=False,
        )


def signature(*names: str) -> frozenset[str]:
    return frozenset(norm(n) for n in names)


def csat_label(mapping: Mapping[str, float | None]) -> Callable[[Row, str], float | None]:
    """A reader of a rating-label column: the 1-5 rating of a label, ``None`` for
    "no answer" labels; labels not in ``mapping`` are reported as warnings."""
    table = {norm(k): v for k, v in mapping.items()}

    def read(row: Row, key: str) -> float | None:
        value = row.text(key)
        if value is None:
            return None
        found = norm(value)
        if found not in table:
            row.warn(key, value)
            return None
        return table[found]

    return read
