"""The normalised records every export format is mapped to.

Times are aware UTC datetimes; durations are seconds. ``raw`` is the export's
row as it was written: its cells in the order of the file's header (which the
import log keeps), for audit. A rating read from a ticket's row has no raw row
of its own (the ticket has it) but keeps the word the export wrote as ``label``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

SurveyKind = Literal["csat", "nps", "ces"]
SURVEY_KINDS: tuple[str, ...] = ("csat", "nps", "ces")

#: Period-figure metrics of the generic figures CSV.
FIGURE_METRICS: tuple[str, ...] = (
    "customers_start", "customers_end", "customers_new",
    "operating_cost", "contacts_offered", "contacts_handled",
)


@dataclass(frozen=True)
class Ticket:
    """A ticket or conversation. ``resolved_at`` is set only for resolved ones."""

    source_format: str
    ticket_id: str
    created_at: datetime
    resolved_at: datetime | None = None
    first_response_at: datetime | None = None
    status: str | None = None
    channel: str | None = None
    replies: int | None = None  # public agent replies
    reopens: int | None = None
    first_response_s: float | None = None  # calendar time
    first_response_business_s: float | None = None  # within business (office) hours
    resolution_s: float | None = None
    resolution_business_s: float | None = None
    first_contact: bool | None = None  # resolved on first contact
    first_contact_estimated: bool = False  # True: inferred from replies/reopens, not the export
    raw: Sequence[str] | None = field(default=None, compare=False)
    ticket_type: str | None = None  # the export's issue type ("Question", "Incident", ...)
    tags: tuple[str, ...] = ()  # lower case, as the export listed them
    #: The export has a rating column on ticket rows: a rating this row does not
    #: carry (any more) is removed if it came from the ticket's row.
    rating_column: bool = field(default=False, compare=False)
    #: "spam", "deleted" or "merged": the helpdesk's own reports leave the ticket out
    #: (a merged one counts in the ticket it was merged into), and so does every KPI.
    left_out: str | None = None
    #: When the helpdesk last changed the ticket (the export's "Updated at"): a row
    #: older than the stored one does not replace it. ``None``: the export has no such time.
    updated_at: datetime | None = None


def split_tags(value: str | None, separators: str = ",;") -> tuple[str, ...]:
    """Tags from one cell (lower case, de-duplicated, in order); ``separators``
    are the characters between them (Zendesk: spaces; others: commas)."""
    if not value:
        return ()
    parts = re.split(f"[{re.escape(separators)}]+", value)
    return tuple(dict.fromkeys(t for t in (p.strip().lower() for p in parts) if t and t != "-"))


def ticket_rating_id(ticket_id: str) -> str:
    """The response id of the rating a ticket's own row (or its conversation) carries."""
    return f"ticket:{ticket_id}"


#: ``scale_max`` of a CES answer whose export declared no scale: it was given on
#: 1..``[kpi] ces_scale``, read when KPIs are computed (so changing the setting
#: needs no re-import).
CONFIGURED_SCALE = 0


@dataclass(frozen=True)
class SurveyResponse:
    """One CSAT, NPS or CES answer, on the scale it was given on (a CES answer
    without a declared scale: ``scale_max`` is CONFIGURED_SCALE).

    CSAT labels (Good/Bad, Great/Okay/Not Good, ...) are put on 1-5 by the
    importer; ``label`` keeps the word the export wrote.
    """

    source_format: str
    response_id: str
    kind: SurveyKind
    score: float
    scale_min: int
    scale_max: int
    responded_at: datetime
    ticket_id: str | None = None
    label: str | None = None
    raw: Sequence[str] | None = field(default=None, compare=False)
    #: The export dated the answer itself. False: ``responded_at`` is borrowed from
    #: the ticket (its solve time); a dated copy of the same answer is never
    #: overwritten by an undated one (Intercom's CSAT vs conversations export).
    dated: bool = True
    #: The export gave no id: ``response_id`` is a digest of the answer, which the
    #: importer numbers by occurrence so identical answers stay distinct.
    keyed_by_content: bool = False
    #: The format of the export ``ticket_id`` came in, when not the answer's own (a
    #: survey tool's answer on a Zendesk ticket); ``None``: the answer's own.
    ticket_format: str | None = None


@dataclass(frozen=True)
class PeriodFigure:
    """A figure for a period of whole local days, ``start`` to ``end`` inclusive."""

    metric: str  # one of FIGURE_METRICS
    start: date
    end: date
    value: float
    source_format: str = "generic"
    raw: Sequence[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RatingRemoved:
    """A ticket's row, in an export with a rating column, carries no rating: the
    rating stored from that ticket's row (``ticket:<id>``, no raw row of its own)
    goes; one from a separate survey or CSAT file stays."""

    source_format: str
    ticket_id: str


Record = Ticket | SurveyResponse | PeriodFigure | RatingRemoved
