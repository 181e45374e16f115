"""Zendesk Support: the ticket CSV export (Admin Center > Account > Tools >
Reports > Export > CSV), and Zendesk Explore reports that use the same names.

Durations are whole minutes, in calendar and "within business hours" twins.
Times carry no offset (the account's zone: pass --timezone). ``Satisfaction
Score`` is Good / Bad, or Offered / Unoffered / Not Offered for no answer.
There is no first-contact field: it is estimated from ``Replies`` and
``Reopens`` (Zendesk's one-touch rule, and never reopened). Without a full
resolution time, it is the time from ``Created at`` to ``Solved at`` (the last solve).
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor.kpi.formats.base import MINUTE, Column, Layout, Row, csat_label, left_out, resolved, signature, ticket_rating
from monitor.kpi.records import Record, Ticket, split_tags

FORMAT = "zendesk"
_NO_ANSWER = None
_SATISFACTION = csat_label({
    "good": 5, "bad": 1,
    "offered": _NO_ANSWER, "unoffered": _NO_ANSWER, "not offered": _NO_ANSWER, "-": _NO_ANSWER,
})


def _minutes(key: str, *names: str) -> Column:
    return Column(key, names, unit=MINUTE, duration=True)


COLUMNS = (
    Column("id", ("Id", "ID", "Ticket ID"), required=True),
    Column("created_at", ("Created at", "Ticket created - Timestamp"), required=True),
    Column("updated_at", ("Updated at",)),
    Column("solved_at", ("Solved at", "Ticket solved - Timestamp")),
    Column("status", ("Status", "Ticket status")),
    Column("via", ("Via", "Ticket channel")),
    Column("tags", ("Tags", "Ticket tags")),
    Column("type", ("Ticket type",)),
    Column("satisfaction", ("Satisfaction Score", "Satisfaction rating")),
    Column("replies", ("Replies", "Agent replies")),
    Column("reopens", ("Reopens",)),
    _minutes("first_reply", "First reply time in minutes", "First reply time (min)"),
    _minutes("first_reply_bh", "First reply time in minutes within business hours", "First reply time - business hours (min)"),
    _minutes("full_resolution", "Full resolution time in minutes", "Full resolution time (min)"),
    _minutes("full_resolution_bh", "Full resolution time in minutes within business hours", "Full resolution time - business hours (min)"),
)


def parse(row: Row) -> Iterator[Record]:
    ticket_id = row.required("id")
    created = row.required_time("created_at")
    updated = row.time("updated_at")
    solved = row.time_after("solved_at", "created_at", created)
    status = row.text("status")
    tags = split_tags(row.text("tags"), " \t")  # space-separated
    # A ticket merged into another was closed, not resolved; Zendesk counts it in the
    # ticket it was merged into. (Spam is deleted: the export does not have it.)
    merged = "closed_by_merge" in tags
    resolved_at = None if merged else resolved(solved, status)
    replies, reopens = row.int("replies"), row.int("reopens")
    first_contact, estimated = row.first_contact(None, resolved_at is not None, replies, reopens=reopens)
    yield Ticket(
        FORMAT, ticket_id, created,
        resolved_at=resolved_at,
        status=status,
        channel=row.text("via"),
        replies=replies,
        reopens=reopens,
        first_response_s=row.duration("first_reply"),
        first_response_business_s=row.duration("first_reply_bh"),
        # Without the minutes (an Explore report of timestamps), from creation to the
        # last solve: what Zendesk's full resolution time measures.
        resolution_s=row.duration_or_span("full_resolution", created, solved),
        resolution_business_s=row.duration("full_resolution_bh"),
        first_contact=first_contact,
        first_contact_estimated=estimated,
        raw=row.raw(),
        ticket_type=row.text("type"),
        tags=tags,
        rating_column=row.has("satisfaction"),
        left_out=left_out(status, merged=merged),
        updated_at=updated,
    )
    yield from ticket_rating(
        FORMAT, ticket_id, _SATISFACTION(row, "satisfaction"),
        solved or updated or created, row.text("satisfaction"),
    )


LAYOUTS = (
    Layout(
        FORMAT, "tickets", "Zendesk ticket export", COLUMNS,
        signature(
            "Summation column", "First reply time in minutes", "Full resolution time in minutes",
            "Requester wait time in minutes", "Satisfaction Score", "First reply time (min)",
            "Ticket created - Timestamp", "Ticket solved - Timestamp",  # Explore's names
        ),
        parse,
    ),
)
