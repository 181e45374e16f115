"""Generic CSVs, for any other tool: tickets, survey responses, period figures.

Headers are matched case-insensitively, ``_`` or space alike; see the README
for the columns. Times are ISO 8601 (an offset is optional: without one they
are in the import zone). Durations are ``HH:MM:SS``, a number with a unit
(``95s``, ``12m``, ``1.5h``), or a bare number when the header names the unit:
``first_response_time (minutes)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from monitor.kpi.formats.base import BadValue, Binding, Column, Layout, Row, left_out, norm, resolved, signature, ticket_rating
from monitor.kpi.records import CONFIGURED_SCALE, FIGURE_METRICS, SURVEY_KINDS, PeriodFigure, Record, SurveyResponse, Ticket, split_tags

FORMAT = "generic"


def _duration(key: str, name: str) -> Column:
    return Column(key, (name,), duration=True)


TICKET_COLUMNS = (
    Column("id", ("id", "ticket_id"), required=True),
    Column("created_at", ("created_at",), required=True),
    Column("updated_at", ("updated_at", "last_modified", "modified_at")),
    Column("first_response_at", ("first_response_at", "first_reply_at")),
    Column("resolved_at", ("resolved_at", "solved_at", "closed_at")),
    Column("status", ("status",)),
    Column("channel", ("channel",)),
    Column("type", ("ticket_type", "issue_type", "type")),
    Column("tags", ("tags", "tag")),
    Column("replies", ("replies", "agent_replies")),
    Column("reopens", ("reopens",)),
    Column("first_contact", ("first_contact_resolved", "fcr")),
    Column("csat", ("csat", "csat_score")),
    _duration("first_response", "first_response_time"),
    _duration("first_response_bh", "first_response_time_business"),
    _duration("resolution", "resolution_time"),
    _duration("resolution_bh", "resolution_time_business"),
)
SURVEY_COLUMNS = (
    Column("type", ("type", "survey_type"), required=True),
    Column("score", ("score", "rating"), required=True),
    Column("date", ("date", "responded_at", "created_at"), required=True),
    Column("id", ("id", "response_id")),
    Column("ticket_id", ("ticket_id",)),
    Column("ticket_format", ("ticket_format", "ticket_source")),
    Column("scale_max", ("scale_max",)),
    Column("comment", ("comment",)),
)
_FIGURE_NAMES = {
    "customers_start": ("customers_start", "customers_at_start"),
    "customers_end": ("customers_end", "customers_at_end"),
    "customers_new": ("customers_new", "new_customers"),
    "operating_cost": ("operating_cost", "support_cost", "cost"),
    "contacts_offered": ("contacts_offered", "offered"),
    "contacts_handled": ("contacts_handled", "handled"),
}
_COUNTS = frozenset(FIGURE_METRICS) - {"operating_cost"}
FIGURE_COLUMNS = (
    Column("start", ("start", "period_start", "start_date", "from"), required=True),
    Column("end", ("end", "period_end", "end_date", "to"), required=True),
    *(Column(metric, _FIGURE_NAMES[metric]) for metric in FIGURE_METRICS),
)


def parse_ticket(row: Row) -> Iterator[Record]:
    ticket_id = row.required("id")
    created = row.required_time("created_at")
    updated = row.time("updated_at")
    first_response = row.time_after("first_response_at", "created_at", created)
    done = row.time_after("resolved_at", "created_at", created)
    resolved_at = resolved(done, row.text("status"))
    replies, reopens = row.int("replies"), row.int("reopens")
    first_contact, estimated = row.first_contact("first_contact", resolved_at is not None, replies, reopens=reopens)
    yield Ticket(
        FORMAT, ticket_id, created,
        resolved_at=resolved_at,
        first_response_at=first_response,
        status=row.text("status"),
        channel=row.text("channel"),
        replies=replies,
        reopens=reopens,
        first_response_s=row.duration_or_span("first_response", created, first_response),
        first_response_business_s=row.duration("first_response_bh"),
        resolution_s=row.duration_or_span("resolution", created, done),
        resolution_business_s=row.duration("resolution_bh"),
        first_contact=first_contact,
        first_contact_estimated=estimated,
        raw=row.raw(),
        ticket_type=row.text("type"),
        tags=split_tags(row.text("tags"), ",;|"),
        rating_column=row.has("csat"),
        left_out=left_out(row.text("status")),
        updated_at=updated,
    )
    rating = row.number("csat")
    if rating is not None:
        _in_scale(row, "csat", rating, 1, 5)
    yield from ticket_rating(FORMAT, ticket_id, rating, done or created, row.text("csat"))


def _in_scale(row: Row, key: str, score: float, lo: int, hi: int) -> None:
    if not lo <= score <= hi:
        raise BadValue(row.header(key), row.text(key) or "", f"a score from {lo} to {hi}")


def parse_survey(row: Row) -> Iterator[Record]:
    kind = row.required("type").lower()
    if kind not in SURVEY_KINDS:
        raise BadValue(row.header("type"), row.text("type") or "", "csat, nps or ces")
    score = row.filled("score", row.number("score"))
    scale_max = row.number("scale_max")  # 0 or below is "not at least 2" as 1 is, not a missing or negative count
    if kind == "nps":
        if scale_max not in (None, 10):
            raise BadValue(row.header("scale_max"), row.text("scale_max") or "", "10 (NPS is asked 0-10)")
        lo, hi = 0, 10
    elif scale_max is None and kind == "csat":
        lo, hi = 1, 5
    elif scale_max is None:  # on the configured scale, read when KPIs are computed; checked against today's
        _in_scale(row, "score", score, 1, row.context.ces_scale)
        lo, hi = 1, CONFIGURED_SCALE
    else:
        if scale_max < 2:
            raise BadValue(row.header("scale_max"), row.text("scale_max") or "", "at least 2")
        lo, hi = 1, row.filled("scale_max", row.int("scale_max"))  # a whole number
    if hi != CONFIGURED_SCALE:
        _in_scale(row, "score", score, lo, hi)
    responded = row.filled("date", row.time_or_day("date"))  # a date alone: that day
    response_id = row.text("id")
    yield SurveyResponse(
        FORMAT, response_id or _content_key(row), kind, score, lo, hi, responded,
        ticket_id=row.text("ticket_id"), raw=row.raw(), keyed_by_content=response_id is None,
        ticket_format=_ticket_format(row),
    )


def _ticket_format(row: Row) -> str | None:
    """The format whose export ``ticket_id`` names a ticket of (``zendesk``, ...), if not
    this one's: answers from a survey tool are matched to the helpdesk's tickets."""
    from monitor.kpi.formats import FORMATS  # (imports this module)

    value = row.text("ticket_format")
    if value is None:
        return None
    found = norm(value).replace(" ", "")  # "Help Scout"
    if found not in FORMATS:
        raise BadValue(row.header("ticket_format"), value,
                       f"one of {', '.join(FORMATS)} (the format of the export the ticket came in)")
    return None if found == FORMAT else found


def _content_key(row: Row) -> str:
    answer = "\x1f".join(row.text(k) or "" for k in ("type", "score", "date", "ticket_id", "comment"))
    return "row:" + hashlib.sha1(answer.encode("utf-8")).hexdigest()[:20]


def parse_figures(row: Row) -> Iterator[Record]:
    start, end = row.filled("start", row.date("start")), row.filled("end", row.date("end"))
    if end < start:
        raise BadValue(row.header("end"), row.text("end") or "", f"on or after start ({start})")
    # Counts are whole numbers and none of the figures can be negative.
    values = {metric: row.amount(metric, whole=metric in _COUNTS) for metric in FIGURE_METRICS}
    offered, handled = values["contacts_offered"], values["contacts_handled"]
    if offered is not None and handled is not None and handled > offered:
        raise BadValue(
            row.header("contacts_handled"), row.text("contacts_handled") or "", "",
            reason=f'{row.text("contacts_handled")} is more than "{row.header("contacts_offered")}"'
            f" ({row.text('contacts_offered')})",  # handled contacts are some of those offered
        )
    raw = row.raw()
    for metric, value in values.items():
        if value is not None:
            yield PeriodFigure(metric, start, end, value, FORMAT, raw)


def _has_a_figure(binding: Binding) -> str | None:
    if any(binding.has(m) for m in FIGURE_METRICS):
        return None
    return "no figure column (one or more of " + ", ".join(_FIGURE_NAMES[m][0] for m in FIGURE_METRICS) + ")"


LAYOUTS = (
    Layout(
        FORMAT, "tickets", "generic tickets CSV", TICKET_COLUMNS,
        signature("created_at", "resolved_at", "first_response_time", "resolution_time", "first_contact_resolved"),
        parse_ticket,
    ),
    Layout(
        FORMAT, "surveys", "generic survey responses CSV", SURVEY_COLUMNS,
        signature("type", "score", "survey_type"),
        parse_survey,
    ),
    Layout(
        FORMAT, "figures", "generic period figures CSV", FIGURE_COLUMNS,
        signature("start", "period_start", *(n for names in _FIGURE_NAMES.values() for n in names)),
        parse_figures,
        check=_has_a_figure,
    ),
)
