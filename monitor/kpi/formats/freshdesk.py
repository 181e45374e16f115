"""Freshdesk: the ticket export (Tickets list > Export, CSV).

Times are ``YYYY-MM-DD HH:MM:SS`` without an offset (the exporting agent's
zone: pass --timezone). ``First response time (in hrs)`` and ``Resolution
time (in hrs)`` are business hours, written ``HH:MM:SS`` (or decimal hours);
Freshdesk writes ``00:00:00`` for "not yet", so a zero without the matching
timestamp is read as missing. Calendar times come from the timestamps.
``Survey results`` is the label of the latest rating.
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor.kpi.formats.base import (
    HOUR, Column, Layout, Row, csat_label, left_out, resolved, seconds_between, signature, ticket_rating,
)
from monitor.kpi.records import Record, Ticket, split_tags

FORMAT = "freshdesk"
# Labels of the 7-point (and the classic 3-point) survey, on 1-5: the happy
# side is 4-5, so it is "satisfied" at the default threshold.
_SURVEY = csat_label({
    "extremely happy": 5, "very happy": 5, "happy": 4, "neutral": 3,
    "unhappy": 2, "very unhappy": 1, "extremely unhappy": 1,
    "awesome": 5, "just okay": 3, "not good": 1,
})

COLUMNS = (
    Column("id", ("Ticket ID", "Ticket Id"), required=True),
    Column("created_at", ("Created time",), required=True),
    Column("resolved_at", ("Resolved time",)),
    Column("closed_at", ("Closed time",)),
    Column("updated_at", ("Last update time",)),
    Column("first_response_at", ("Initial response time",)),
    Column("status", ("Status",)),
    Column("source", ("Source",)),
    Column("type", ("Type",)),
    Column("tags", ("Tags",)),
    Column("first_response_bh", ("First response time (in hrs)",), unit=HOUR, duration=True),
    Column("resolution_bh", ("Resolution time (in hrs)",), unit=HOUR, duration=True),
    Column("agent_interactions", ("Agent interactions",)),
    Column("customer_interactions", ("Customer interactions",)),
    Column("survey", ("Survey results", "Survey result")),
)


def _business(row: Row, key: str, happened: bool) -> float | None:
    seconds = row.duration(key)
    return None if seconds == 0 and not happened else seconds


def parse(row: Row) -> Iterator[Record]:
    ticket_id = row.required("id")
    created = row.required_time("created_at")
    updated = row.time("updated_at")
    done = row.time_after("resolved_at", "created_at", created) or row.time_after("closed_at", "created_at", created)
    first_response = row.time_after("first_response_at", "created_at", created)
    status = row.text("status")
    resolved_at = resolved(done, status)
    replies = row.int("agent_interactions")
    first_contact, estimated = row.first_contact(
        None, resolved_at is not None, replies, customer_contacts=row.int("customer_interactions")
    )
    yield Ticket(
        FORMAT, ticket_id, created,
        resolved_at=resolved_at,
        first_response_at=first_response,
        status=status,
        channel=row.text("source"),
        replies=replies,
        first_response_s=seconds_between(created, first_response),
        first_response_business_s=_business(row, "first_response_bh", first_response is not None),
        resolution_s=seconds_between(created, done),
        resolution_business_s=_business(row, "resolution_bh", done is not None),
        first_contact=first_contact,
        first_contact_estimated=estimated,
        raw=row.raw(),
        ticket_type=row.text("type"),
        tags=split_tags(row.text("tags")),
        rating_column=row.has("survey"),
        left_out=left_out(status),
        updated_at=updated,
    )
    yield from ticket_rating(
        FORMAT, ticket_id, _SURVEY(row, "survey"), done or updated or created,
        row.text("survey"),
    )


LAYOUTS = (
    Layout(
        FORMAT, "tickets", "Freshdesk ticket export", COLUMNS,
        signature(
            "First response time (in hrs)", "Resolution time (in hrs)", "Agent interactions",
            "Customer interactions", "Survey results", "Created time",
        ),
        parse,
    ),
)
