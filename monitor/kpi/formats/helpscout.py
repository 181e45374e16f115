"""Help Scout: conversations with their Happiness ratings.

SYNTHETIC LAYOUT. No public copy of Help Scout's CSV export headers could be
found; these names follow the fields of its Mailbox API (Conversation and
Happiness Ratings report objects), matched case-insensitively with aliases.
Ratings are Great / Okay / Not Good (API: great, okay, not_good; webhooks:
Bad). Times are ISO 8601, usually UTC with ``Z``; durations are seconds.

A conversation row need not say when it last changed (the API's ``userUpdatedAt``):
the latest time it shows (updated, customer waiting since, closed, rated, created)
stands in, so a row from before a stored rating or close does not undo it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from monitor.kpi.formats.base import SECOND, Column, Layout, Row, csat_label, left_out, resolved, signature
from monitor.kpi.records import Record, SurveyResponse, Ticket, split_tags, ticket_rating_id

FORMAT = "helpscout"
_RATING = csat_label({"great": 5, "okay": 3, "ok": 3, "not good": 1, "bad": 1, "unknown": None})
_ID = Column("id", ("Conversation ID", "ID", "Conversation Number", "Number"), required=True)
_RATING_COLUMN = Column("rating", ("Rating", "Happiness rating"))

CONVERSATION_COLUMNS = (
    _ID,
    Column("created_at", ("Created At",), required=True),
    Column("closed_at", ("Closed At",)),
    Column("updated_at", ("User Updated At", "Updated At", "User Modified At", "Modified At", "Last Updated")),
    Column("waiting_since", ("Customer Waiting Since", "Waiting Since", "Last Customer Reply At")),
    Column("status", ("Status",)),
    Column("type", ("Type",)),  # email, chat, phone: the channel
    Column("tags", ("Tags",)),
    _RATING_COLUMN,
    Column("rated_at", ("Rating Created At",)),
    Column("replies", ("Replies", "User Replies")),
    Column("first_reply_resolved", ("Resolved on First Reply", "First Reply Resolved")),
    Column("first_response", ("First Response Time (seconds)",), unit=SECOND, duration=True),
    Column("resolution", ("Resolution Time (seconds)",), unit=SECOND, duration=True),
)
RATING_COLUMNS = (
    _ID,
    Column("rating", _RATING_COLUMN.names, required=True),
    Column("rated_at", ("Rating Created At", "Date", "Rated At", "Created At"), required=True),
    Column("comments", ("Rating Comments", "Comments", "Comment")),
)


def _response(row: Row, conversation: str, fallback: datetime | None, own_row: bool) -> Iterator[Record]:
    """The rating of a row; ``own_row``: the row is the rating's alone (not a conversation's)."""
    rating = _RATING(row, "rating")
    if rating is not None:
        rated = row.time("rated_at")
        yield SurveyResponse(
            FORMAT, ticket_rating_id(conversation), "csat", rating, 1, 5, rated or row.filled("rated_at", fallback),
            ticket_id=conversation, label=row.text("rating"), raw=row.raw() if own_row else None, dated=rated is not None,
        )


def parse_conversation(row: Row) -> Iterator[Record]:
    conversation = row.required("id")
    created = row.required_time("created_at")
    closed = row.time_after("closed_at", "created_at", created)
    # Help Scout: resolved = closed with at least one user reply, where the export says
    # how many (a conversation closed unanswered is not resolved); spam is not a resolution.
    status = row.text("status")
    replies = row.int("replies")
    resolved_at = None if replies == 0 else resolved(closed, status)
    first_contact, estimated = row.first_contact("first_reply_resolved", resolved_at is not None, replies)
    # The row is at least as new as every time it shows: without Help Scout's update time,
    # its latest one ranks it against the stored row (see ``updated_at`` in storage).
    shown = (row.time("updated_at"), row.time("waiting_since"), closed, row.time("rated_at"), created)
    yield Ticket(
        FORMAT, conversation, created,
        resolved_at=resolved_at,
        status=status,
        channel=row.text("type"),
        replies=replies,
        first_response_s=row.duration("first_response"),
        resolution_s=row.duration("resolution"),
        first_contact=first_contact,
        first_contact_estimated=estimated,
        raw=row.raw(),
        tags=split_tags(row.text("tags")),
        rating_column=row.has("rating"),
        left_out=left_out(status),
        updated_at=max(t for t in shown if t is not None),
    )
    yield from _response(row, conversation, closed or created, own_row=False)


def parse_rating(row: Row) -> Iterator[Record]:
    conversation = row.required("id")
    yield from _response(row, conversation, None, own_row=True)


LAYOUTS = (
    Layout(
        FORMAT, "conversations", "Help Scout conversations export (synthetic layout)", CONVERSATION_COLUMNS,
        signature("Conversation Number", "Rating Comments", "Rating Created At", "Mailbox"),
        parse_conversation,
    ),
    Layout(
        FORMAT, "ratings", "Help Scout happiness ratings (synthetic layout)", RATING_COLUMNS,
        signature("Conversation Number", "Rating Comments", "Rating Created At", "Happiness rating"),
        parse_rating,
    ),
)
