"""Intercom: the reporting CSV exports, Conversations dataset and CSAT dataset.

Timestamp headers name the workspace zone, e.g. ``Conversation created at
(Europe/London)``; values are ``YYYY-MM-DD HH:MM:SS``. Durations are seconds,
with "only within office hours" twins. Ratings are 1-5. ``Resolved on first
contact`` (true/false) is Intercom's own first-contact field; without it the
estimate uses ``Replies to close a conversation``.
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor.kpi.formats.base import SECOND, BadValue, Column, Layout, Row, left_out, resolved, signature, ticket_rating
from monitor.kpi.records import Record, SurveyResponse, Ticket, split_tags, ticket_rating_id

FORMAT = "intercom"


def _seconds(key: str, *names: str) -> Column:
    return Column(key, names, unit=SECOND, duration=True)


_ID = Column("id", ("Conversation ID",), required=True)
CONVERSATION_COLUMNS = (
    _ID,
    Column("created_at", ("Conversation created at", "Conversation started at"), required=True),
    Column("first_replied_at", ("Conversation first replied at",)),
    Column("first_closed_at", ("Conversation first closed at",)),
    Column("last_closed_at", ("Conversation last closed at",)),
    Column("updated_at", ("Conversation updated at",)),
    Column("state", ("Current conversation state",)),
    Column("channel", ("Channel",)),
    Column("type", ("Ticket type", "Ticket category")),
    Column("tags", ("Conversation tag", "Conversation tags")),
    Column("rating", ("Conversation rating", "Last teammate rating")),
    Column("first_contact", ("Resolved on first contact",)),
    Column("replies", ("Replies to close a conversation",)),
    _seconds("first_response", "First response time (seconds)"),
    _seconds("first_response_bh", "First response time, only within office hours (seconds)"),
    _seconds("close", "Time to close (seconds)"),
    _seconds("close_bh", "Time to close, within office hours (seconds)"),
)
CSAT_COLUMNS = (
    _ID,
    Column("rating", ("Conversation rating",), required=True),
    Column("updated_at", ("Updated at",), required=True),
    Column("remark", ("Conversation rating remark",)),
)


def _rating(row: Row) -> float | None:
    rating = row.number("rating")
    if rating is not None and rating not in (1, 2, 3, 4, 5):
        raise BadValue(row.header("rating"), row.text("rating") or "", "a rating from 1 to 5")
    return rating


def parse_conversation(row: Row) -> Iterator[Record]:
    conversation = row.required("id")
    created = row.required_time("created_at")
    updated = row.time("updated_at")
    first_reply = row.time_after("first_replied_at", "created_at", created)
    closed = row.time_after("last_closed_at", "created_at", created) or row.time_after("first_closed_at", "created_at", created)
    resolved_at = resolved(closed, row.text("state"))
    replies = row.int("replies")
    first_contact, estimated = row.first_contact("first_contact", resolved_at is not None, replies)
    yield Ticket(
        FORMAT, conversation, created,
        resolved_at=resolved_at,
        first_response_at=first_reply,
        status=row.text("state"),
        channel=row.text("channel"),
        replies=replies,
        first_response_s=row.duration_or_span("first_response", created, first_reply),
        first_response_business_s=row.duration("first_response_bh"),
        resolution_s=row.duration_or_span("close", created, closed),
        resolution_business_s=row.duration("close_bh"),
        first_contact=first_contact,
        first_contact_estimated=estimated,
        raw=row.raw(),
        ticket_type=row.text("type"),
        tags=split_tags(row.text("tags")),
        rating_column=row.has("rating"),
        left_out=left_out(row.text("state")),
        updated_at=updated,
    )
    yield from ticket_rating(
        FORMAT, conversation, _rating(row), closed or updated or created,
        row.text("rating"),
    )


def parse_csat(row: Row) -> Iterator[Record]:
    conversation = row.required("id")
    rating = _rating(row)
    if rating is None:
        return
    yield SurveyResponse(
        FORMAT, ticket_rating_id(conversation), "csat", rating, 1, 5,
        row.required_time("updated_at"),
        ticket_id=conversation, label=row.text("rating"), raw=row.raw(),
    )


LAYOUTS = (
    Layout(
        FORMAT, "conversations", "Intercom conversations export", CONVERSATION_COLUMNS,
        signature(
            "Conversation created at", "Conversation started at", "Conversation first replied at",
            "Conversation last closed at", "Last teammate rating", "Teammate currently assigned",
        ),
        parse_conversation,
    ),
    Layout(
        FORMAT, "csat", "Intercom CSAT export", CSAT_COLUMNS,
        signature("Conversation rating", "Conversation rating remark", "Agent rated type"),
        parse_csat,
    ),
)
