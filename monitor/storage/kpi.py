"""KPI records: tickets, survey responses, period figures, and the log of imports.

Every record is upserted on its natural key (``(source_format, ticket_id)``,
``(source_format, response_id)``, ``(metric, start_date, end_date)``) and
carries a digest of what is stored, so a re-import tells new, updated and
unchanged records apart and leaves unchanged ones untouched. The raw export
row is kept as a JSON array of its cells; the import that wrote it
(``import_id``) keeps the header that names them (:meth:`KpiStore.raw_row`). Period statistics are counts and histograms (of
scores, of durations) computed in SQL, one index range scan per period.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from monitor.kpi.records import PeriodFigure, RatingRemoved, Record, SurveyResponse, Ticket, ticket_rating_id
from monitor.storage.periods import periods_cte
from monitor.storage.schema import Migrations
from monitor.timeutil import to_db, utcnow

if TYPE_CHECKING:
    from sqlite_utils import Database

    from monitor.storage import Store

migrations = Migrations("kpi")


@migrations()
def m001_kpi_tables(db: Database) -> None:
    db["kpi_imports"].create(
        {
            "id": int,
            "path": str,
            "format": str,  # "zendesk", ...
            "layout": str,  # "tickets", "csat", ...
            "encoding": str,
            "timezone": str,  # zone of offset-less times
            "started_at": str,
            "finished_at": str,
            "rows": int,
            "new": int,
            "updated": int,
            "unchanged": int,
            "header": str,  # the file's header, JSON
        },
        pk="id",
    )
    db["kpi_tickets"].create(
        {
            "source_format": str,
            "ticket_id": str,
            "created_at": str,  # UTC "2026-01-31T08:00:00Z", like every stored time
            "resolved_at": str,  # set only for resolved tickets
            "first_response_at": str,
            "status": str,
            "channel": str,
            "replies": int,
            "reopens": int,
            "first_response_s": float,
            "first_response_business_s": float,
            "resolution_s": float,
            "resolution_business_s": float,
            "first_contact": int,  # 1/0: resolved on first contact; NULL unknown
            "first_contact_estimated": int,  # 1: inferred from replies/reopens
            "raw": str,  # the export's row: JSON array of cells, named by kpi_imports.header
            "digest": str,
            "import_id": int,  # the import that last wrote the row
        },
        pk=("source_format", "ticket_id"),
        not_null={"created_at"},
    )
    # First response times belong to the period a ticket was created in;
    # resolution times, first-contact resolution and resolved counts to the
    # period it was resolved in. Both indexes cover their queries.
    db["kpi_tickets"].create_index(
        ["created_at", "first_response_s", "first_response_business_s"], index_name="kpi_tickets_created"
    )
    db["kpi_tickets"].create_index(
        ["resolved_at", "resolution_s", "resolution_business_s", "first_contact", "first_contact_estimated"],
        index_name="kpi_tickets_resolved",
    )
    db["kpi_responses"].create(
        {
            "source_format": str,
            "response_id": str,
            "kind": str,  # csat, nps, ces
            "score": float,  # on scale_min..scale_max as answered (CSAT labels put on 1-5)
            "scale_min": int,
            "scale_max": int,  # 0 for CES: on 1..[kpi] ces_scale (m003)
            "label": str,  # the export's word for the rating, if it used one
            "responded_at": str,
            "ticket_id": str,
            "dated": int,  # 1: the export dated the answer; 0: the time is the ticket's
            "raw": str,  # NULL for a rating read from a ticket's row (the ticket keeps the row)
            "digest": str,
            "import_id": int,
        },
        pk=("source_format", "response_id"),
        not_null={"kind", "score", "scale_min", "scale_max", "responded_at"},
    )
    db["kpi_responses"].create_index(
        ["responded_at", "kind", "score", "scale_min", "scale_max"], index_name="kpi_responses_at"
    )
    db["kpi_figures"].create(
        {
            "metric": str,
            "start_date": str,  # local dates, inclusive
            "end_date": str,
            "value": float,
            "source_format": str,
            "raw": str,
            "digest": str,
            "import_id": int,
        },
        pk=("metric", "start_date", "end_date"),
        not_null={"value"},
    )
    db["kpi_figures"].create_index(["start_date", "end_date"], index_name="kpi_figures_dates")


@migrations()
def m002_ticket_type_and_tags(db: Database) -> None:
    """Tickets gain their issue type and tags (for breakdowns), filled in from
    the stored export rows; digests are recomputed so a re-import stays unchanged."""
    table = db["kpi_tickets"]
    for column in ("ticket_type", "tags"):  # "tags": JSON array of lower-case tags
        if column not in table.columns_dict:
            table.add_column(column, str)
    _backfill_type_and_tags(db)


def _backfill_type_and_tags(db: Database) -> None:
    _backfill_tickets(db, ("ticket_type", "tags"), lambda t: (t.ticket_type, _json(list(t.tags)) if t.tags else None))


def _backfill_tickets(
    db: Database, new: tuple[str, ...], values: Callable[[Ticket], tuple[Any, ...]], where: str = "1"
) -> None:
    """Fill in the ticket columns ``new`` (the next ones in :data:`_TICKETS` after those
    stored before this step) with ``values`` of each ticket (of those ``where`` says)
    re-read from its stored export row, and recompute their digests, so that a
    re-import stays unchanged. A row that cannot be re-read gets NULLs."""
    from monitor.kpi.formats import FORMATS
    from monitor.kpi.formats.base import Row

    old = _TICKETS.columns[: _TICKETS.columns.index(new[0])]  # the columns before this step
    raw_at = old.index("raw")
    layouts = {}
    for import_id, fmt, layout, header, timezone in db.execute(
        "SELECT id, format, layout, header, timezone FROM kpi_imports"
    ):
        found = next((x for x in FORMATS.get(fmt, ()) if x.name == layout), None)
        if found is not None and header:
            layouts[import_id] = (found, found.bind(json.loads(header)), _context(timezone))
    last = 0
    while True:
        rows = db.execute(
            f"SELECT rowid, import_id, {', '.join(old)} FROM kpi_tickets WHERE {where} AND rowid > ?"
            " ORDER BY rowid LIMIT 2000",
            [last],
        ).fetchall()
        if not rows:
            return
        updates = []
        for rowid, import_id, *stored in rows:
            last = rowid
            raw = stored[raw_at]
            extra: tuple[Any, ...] = (None,) * len(new)
            if raw is not None and import_id in layouts:
                layout, binding, context = layouts[import_id]
                try:
                    parsed = layout.parse(Row(binding, json.loads(raw), context))
                    extra = values(next(r for r in parsed if isinstance(r, Ticket)))
                except Exception:  # noqa: BLE001 - a row the current parser cannot read keeps none
                    pass
            updates.append((*extra, _digest((*stored, *extra)), rowid))
        sets = "".join(f"{c} = ?, " for c in new)
        db.conn.executemany(f"UPDATE kpi_tickets SET {sets}digest = ? WHERE rowid = ?", updates)


def _context(timezone: str | None) -> Any:
    """The parsing context of an import: offset-less times in its zone (UTC if this
    system no longer knows it)."""
    from monitor.config import zone
    from monitor.kpi.formats.base import Context

    try:
        return Context(tz=zone(timezone or "UTC"))
    except ValueError:
        return Context()


#: The stored columns of kpi_responses as m001 made them (what m003 and m004 read and digest).
_RESPONSES_M001 = ("source_format", "response_id", "kind", "score", "scale_min", "scale_max", "label",
                   "responded_at", "ticket_id", "dated", "raw")


@migrations()
def m003_ces_on_the_configured_scale(db: Database) -> None:
    """CES answers whose export declared no scale were stored on 1..the ``ces_scale``
    of the import; they now follow ``[kpi] ces_scale`` when KPIs are computed
    (``scale_max`` 0). Which ones declared none is read from the stored export
    row; digests are recomputed so a re-import stays unchanged."""
    from monitor.kpi.formats import generic

    columns = _RESPONSES_M001
    scale_of = {}  # import id -> position of the scale_max cell (None: no such column)
    layout = next(x for x in generic.LAYOUTS if x.name == "surveys")
    for import_id, header in db.execute(
        "SELECT id, header FROM kpi_imports WHERE format = 'generic' AND layout = 'surveys'"
    ):
        if header:
            slot = layout.bind(json.loads(header)).slots.get("scale_max")
            scale_of[import_id] = None if slot is None else slot.index
    for rows in _in_chunks(db, f"SELECT rowid, import_id, {', '.join(columns)} FROM kpi_responses"
                           " WHERE source_format = 'generic' AND kind = 'ces' AND scale_max != 0 AND raw IS NOT NULL"):
        updates = []
        for rowid, import_id, *stored in rows:
            if import_id not in scale_of:
                continue
            index, cells = scale_of[import_id], json.loads(stored[-1])
            if index is None or index >= len(cells) or not cells[index].strip():
                stored[columns.index("scale_max")] = 0
                updates.append((_digest(tuple(stored)), rowid))
        db.conn.executemany("UPDATE kpi_responses SET scale_max = 0, digest = ? WHERE rowid = ?", updates)


@migrations()
def m004_date_only_answers_on_their_day(db: Database) -> None:
    """Survey answers dated with a date alone were stored at its midnight in the import
    zone (the day before, in reporting zones west of it); they move to its midday,
    where the import now puts them. Digests are recomputed so a re-import stays unchanged."""
    from monitor.config import zone
    from monitor.kpi.formats import generic
    from monitor.kpi.formats.base import DATE_ONLY, midday

    columns = _RESPONSES_M001
    date_of = {}  # import id -> (position of the date cell, the import's zone)
    layout = next(x for x in generic.LAYOUTS if x.name == "surveys")
    for import_id, header, timezone in db.execute(
        "SELECT id, header, timezone FROM kpi_imports WHERE format = 'generic' AND layout = 'surveys'"
    ):
        slot = layout.bind(json.loads(header)).slots.get("date") if header else None
        try:
            if slot is not None:
                date_of[import_id] = (slot.index, slot.tz or zone(timezone or "UTC"))
        except ValueError:
            continue  # a zone this system no longer knows: left as it is
    for rows in _in_chunks(db, f"SELECT rowid, import_id, {', '.join(columns)} FROM kpi_responses"
                           " WHERE source_format = 'generic' AND raw IS NOT NULL"):
        updates = []
        for rowid, import_id, *stored in rows:
            if import_id not in date_of:
                continue
            (index, tz), cells = date_of[import_id], json.loads(stored[-1])
            cell = cells[index].strip() if index < len(cells) else ""
            if DATE_ONLY.match(cell):
                stored[columns.index("responded_at")] = to_db(midday(date.fromisoformat(cell), tz))
                updates.append((stored[columns.index("responded_at")], _digest(tuple(stored)), rowid))
        db.conn.executemany("UPDATE kpi_responses SET responded_at = ?, digest = ? WHERE rowid = ?", updates)


@migrations()
def m005_tickets_reports_leave_out(db: Database) -> None:
    """Tickets gain ``left_out`` (spam, deleted, merged: left out of every KPI, as the
    helpdesk's own reports leave them out), filled in from the stored export rows."""
    table = db["kpi_tickets"]
    if "left_out" not in table.columns_dict:
        table.add_column("left_out", str)
    # The period queries now read left_out too: the indexes keep covering them.
    db.execute("DROP INDEX IF EXISTS kpi_tickets_created")
    db.execute("DROP INDEX IF EXISTS kpi_tickets_resolved")
    table.create_index(
        ["created_at", "first_response_s", "first_response_business_s", "left_out"], index_name="kpi_tickets_created"
    )
    table.create_index(
        ["resolved_at", "resolution_s", "resolution_business_s", "first_contact", "first_contact_estimated", "left_out"],
        index_name="kpi_tickets_resolved",
    )
    _backfill_tickets(db, ("left_out",), lambda t: (t.left_out,))


@migrations()
def m006_tickets_updated_at(db: Database) -> None:
    """Tickets gain ``updated_at`` (the export's "Updated at", "Last update time", ...):
    a row older than the stored one no longer replaces it. Filled in from the stored
    export rows; the import log gains the count of such rows (``older``)."""
    if "older" not in db["kpi_imports"].columns_dict:
        db["kpi_imports"].add_column("older", int)
    if "updated_at" not in db["kpi_tickets"].columns_dict:
        db["kpi_tickets"].add_column("updated_at", str)
    _backfill_tickets(db, ("updated_at",), lambda t: (_time(t.updated_at),))


@migrations()
def m007_answers_on_another_formats_tickets(db: Database) -> None:
    """Survey answers gain ``ticket_format``: the format of the export their ``ticket_id``
    names a ticket of, when not their own (a generic survey answer on a Zendesk ticket).
    Answers imported before name their own format's (NULL); digests are recomputed from
    the stored values (as saves now make them: the score a float, as stored) so a
    re-import stays unchanged."""
    if "ticket_format" not in db["kpi_responses"].columns_dict:
        db["kpi_responses"].add_column("ticket_format", str)
    # Answers on tickets left out are left out too: the few such tickets, found without
    # reading the answers' tickets (a lookup per answer would make CSAT 5x slower).
    db.execute("CREATE INDEX IF NOT EXISTS kpi_tickets_left_out ON kpi_tickets (source_format, ticket_id)"
               " WHERE left_out IS NOT NULL")
    columns = _RESPONSES_M001  # what every step before this one stored
    for rows in _in_chunks(db, f"SELECT rowid, {', '.join(columns)} FROM kpi_responses WHERE 1"):
        db.conn.executemany("UPDATE kpi_responses SET digest = ? WHERE rowid = ?",
                            [(_digest((*stored, None)), rowid) for rowid, *stored in rows])


@migrations()
def m008_helpscout_conversations_ranked(db: Database) -> None:
    """Help Scout conversations, which have no update time, are ranked by the latest time
    their row shows (closed, rated, ...), stored as ``updated_at`` and filled in from
    the stored export rows: a row from before a stored rating no longer removes it."""
    _backfill_tickets(db, ("updated_at",), lambda t: (_time(t.updated_at),), "source_format = 'helpscout'")


def _in_chunks(db: Database, select: str, size: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``select`` (its first column the rowid, a WHERE clause and no ORDER BY)
    in rowid order, ``size`` at a time: a migration's memory stays flat on a large table."""
    last = 0
    while rows := db.execute(f"{select} AND rowid > ? ORDER BY rowid LIMIT ?", [last, size]).fetchall():
        yield rows
        last = rows[-1][0]


@dataclass(frozen=True)
class _Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # stored columns, key first; then digest and import_id
    #: A stored row is only replaced by one ranking as high, when both have a rank.
    rank: str | None = None
    #: A flag column: a row without it ranks lowest (``""``, below every ``rank``), so
    #: rows that have it outrank it whatever its rank, and rows without it outrank no one.
    rank_if: str | None = None
    #: Its rows carry ratings: the rating read from an outranked row is outranked too.
    versioned: bool = False

    @property
    def kind(self) -> str:
        return self.name.removeprefix("kpi_")

    def lookup_sql(self, n: int) -> str:
        """Stored digests, ranks and import ids of ``n`` keys sharing all but their last part.

        (A row-value ``IN (VALUES ...)`` would not use the primary key index.)
        """
        *prefix, last = self.key
        where = "".join(f"{c} = ? AND " for c in prefix) + f"{last} IN ({', '.join('?' * n)})"
        rank = self.rank or 0
        if self.rank_if:
            rank = f"CASE WHEN {self.rank_if} THEN {rank} ELSE '' END"
        return f"SELECT {', '.join(self.key)}, digest, {rank}, import_id FROM {self.name} WHERE {where}"

    def rank_of(self, row: tuple[Any, ...]) -> Any:
        if self.rank_if and not row[self.columns.index(self.rank_if)]:
            return ""
        return row[self.columns.index(self.rank)] if self.rank else 0

    def older(self, rank: Any, row: tuple[Any, ...]) -> bool:
        """Whether ``row`` is older than a stored row of ``rank``: outranked by it, and
        ranked by when the source last changed it (not merely kept out, as an undated
        rating is by a dated one)."""
        return self.rank is not None and bool(self.rank_of(row)) and self.outranks(rank, row)

    def outranks(self, rank: Any, row: tuple[Any, ...]) -> bool:
        """Whether a row of ``rank`` is kept over ``row``: both are ranked and it ranks higher."""
        other = self.rank_of(row)
        return rank is not None and other is not None and rank > other

    def upsert_sql(self) -> str:
        names = (*self.columns, "digest", "import_id")
        updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in self.key)
        return (
            f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            f" ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"
        )


_TICKETS = _Table("kpi_tickets", ("source_format", "ticket_id"), (
    "source_format", "ticket_id", "created_at", "resolved_at", "first_response_at", "status", "channel",
    "replies", "reopens", "first_response_s", "first_response_business_s", "resolution_s",
    "resolution_business_s", "first_contact", "first_contact_estimated", "raw", "ticket_type", "tags",
    "left_out",  # NULL: counted; else why the helpdesk's reports, and so the KPIs, leave it out
    "updated_at",  # when the helpdesk last changed it; NULL: the export did not say (m006)
), rank="updated_at", versioned=True)
_RESPONSES = _Table("kpi_responses", ("source_format", "response_id"), (
    "source_format", "response_id", "kind", "score", "scale_min", "scale_max", "label",
    "responded_at", "ticket_id", "dated", "raw",
    "ticket_format",  # the format ticket_id names a ticket of; NULL: the answer's own (m007)
), rank="responded_at", rank_if="dated")  # a later answer wins; an undated one never beats a dated one
_FIGURES = _Table("kpi_figures", ("metric", "start_date", "end_date"), (
    "metric", "start_date", "end_date", "value", "source_format", "raw",
))
_TABLES = {t.kind: t for t in (_TICKETS, _RESPONSES, _FIGURES)}
_TICKET_ID = _RESPONSES.columns.index("ticket_id")
_RAW = _RESPONSES.columns.index("raw")
_LOOKUP_CHUNK = 500  # keys per lookup: under SQLite's 999-parameter floor


@dataclass
class SaveCounts:
    """Records saved: ``new``, ``updated``, ``unchanged`` and ``older`` (older than the
    stored record, which is kept) count each key once; ``repeated`` counts the records
    whose key came earlier in the same import."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    repeated: int = 0

    @property
    def records(self) -> int:
        """Distinct records: each key once, however often the file repeated it."""
        return self.new + self.updated + self.unchanged + self.older

    def add(self, other: SaveCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.repeated += other.repeated
        self.older += other.older


@dataclass(frozen=True)
class TicketCounts:
    created: int = 0
    resolved: int = 0
    first_contact_known: int = 0  # resolved tickets whose first-contact status is known
    first_contact: int = 0
    first_contact_estimated: int = 0  # of the known, how many were estimated

    def __add__(self, other: TicketCounts) -> TicketCounts:
        return TicketCounts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


#: Duration metric -> (column, the ticket time that places it in a period).
DURATION_METRICS = {
    "first_response": ("first_response_s", "created_at"),
    "first_response_business": ("first_response_business_s", "created_at"),
    "resolution": ("resolution_s", "resolved_at"),
    "resolution_business": ("resolution_business_s", "resolved_at"),
}

Periods = Sequence[tuple[str, datetime, datetime]]

#: What KPIs can be broken down by -> (the SQL value per ticket, the join it needs).
#: A ticket with several tags is counted under each; survey answers take their ticket's.
GROUPS = {
    "channel": ("t.channel", ""),
    "type": ("t.ticket_type", ""),
    "tag": ("g.value", " LEFT JOIN json_each(t.tags) g"),
}
#: A period key, or with a group ``(period key, the group's value as stored)``.
Key = Any


def _group(group: str | None) -> tuple[str, str]:
    """``(select expression, joins)`` for a breakdown (``NULL`` and none without one)."""
    if group is None:
        return "NULL", ""
    if group not in GROUPS:
        raise ValueError(f"cannot group KPIs by {group!r}")
    return GROUPS[group]


def _key(key: str, value: Any, group: str | None) -> Key:
    return key if group is None else (key, value)


class KpiStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    # ------------------------------------------------------------ writes
    def begin_import(self, *, path: str, fmt: str, layout: str, encoding: str, timezone: str, header: Sequence[str]) -> int:
        """Log an import (inside the caller's transaction); returns its id."""
        cursor = self._store.conn.execute(
            "INSERT INTO kpi_imports (path, format, layout, encoding, timezone, started_at, header)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [path, fmt, layout, encoding, timezone, to_db(utcnow()), _json(list(header))],
        )
        self._store.conn.execute("CREATE TEMP TABLE IF NOT EXISTS kpi_seen (key TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        self._store.conn.execute("DELETE FROM kpi_seen")
        self._store.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS kpi_unwritten (key TEXT PRIMARY KEY, older INTEGER NOT NULL) WITHOUT ROWID"
        )
        self._store.conn.execute("DELETE FROM kpi_unwritten")
        return int(cursor.lastrowid)  # type: ignore[arg-type]

    def finish_import(self, import_id: int, rows: int, counts: SaveCounts) -> None:
        """Record the totals of an import (inside its transaction)."""
        self._store.conn.execute(
            "UPDATE kpi_imports SET finished_at = ?, rows = ?, new = ?, updated = ?, unchanged = ?, older = ? WHERE id = ?",
            [to_db(utcnow()), rows, counts.new, counts.updated, counts.unchanged, counts.older, import_id],
        )

    def occurrence(self, key: str) -> int:
        """How many times ``key`` came before in this import (0 the first time).

        Kept in a temporary table, so numbering identical answers costs no
        memory however long the file.
        """
        row = self._store.conn.execute(
            "INSERT INTO kpi_seen (key, n) VALUES (?, 0)"
            " ON CONFLICT (key) DO UPDATE SET n = n + 1 RETURNING n",
            [key],
        ).fetchone()
        return int(row[0])

    def save(self, records: Iterable[Record], import_id: int) -> dict[str, SaveCounts]:
        """Upsert records of the import begun by :meth:`begin_import` on their natural
        keys; count new, updated, unchanged and older ones per kind (``tickets``,
        ``responses``, ``figures``), each key once, and the records that repeated a key
        of the import.

        Of records sharing a key the last one is kept, unless it ranks lower (an answer
        the export did not date never replaces a dated one, nor one given earlier a later
        one; a ticket updated before the
        stored one never replaces it, nor do the rating its row carries or the lack of
        one). Unchanged records are not written. Runs in the caller's transaction if
        there is one, else in its own.
        """
        by_table: dict[str, tuple[_Table, dict[tuple[Any, ...], tuple[Any, ...]], SaveCounts]] = {}
        removed: set[tuple[str, str]] = set()  # ratings from ticket rows that no longer carry them
        stale: set[tuple[str, str]] = set()  # tickets whose last row met lost to an earlier, newer one
        for record in records:
            if isinstance(record, RatingRemoved):
                if (record.source_format, record.ticket_id) in stale:
                    continue
                gone = (record.source_format, ticket_rating_id(record.ticket_id))
                pending = by_table.get(_RESPONSES.name, (None, {}, None))[1]
                if gone in pending and pending[gone][_RAW] is None:  # an earlier row's rating of the ticket
                    del pending[gone]
                removed.add(gone)
                continue
            table, row = _row(record)
            if table is _RESPONSES:
                if _from_ticket_row(row) and (row[0], row[_TICKET_ID]) in stale:
                    continue
                removed.discard(row[:2])
            _, rows, counts = by_table.setdefault(table.name, (table, {}, SaveCounts()))
            key = row[: len(table.key)]
            old = rows.get(key)
            if table.versioned:
                stale.discard(key)
            if old is not None:
                counts.repeated += 1
                if table.outranks(table.rank_of(old), row):
                    if table.versioned:
                        stale.add(key)
                    continue
            rows[key] = row
        with self._store.transaction():
            saved = {}
            older: set[tuple[Any, ...]] = set()  # keys of tickets older than the stored ones
            if _TICKETS.name in by_table:
                _, rows, counts = by_table.pop(_TICKETS.name)
                saved[_TICKETS.kind] = self._save_rows(_TICKETS, rows, import_id, counts, older=older)
            # The rating an older ticket row carries, or its lack of one, is older too.
            kept = {(fmt, ticket_rating_id(ticket_id)) for fmt, ticket_id in older}
            removed -= kept
            if removed:
                self._store.conn.executemany(
                    "DELETE FROM kpi_responses WHERE source_format = ? AND response_id = ? AND raw IS NULL", removed
                )
            for table, rows, counts in by_table.values():
                keep = {k for k, row in rows.items() if k in kept and _from_ticket_row(row)}
                saved[table.kind] = self._save_rows(table, rows, import_id, counts, keep=keep)
            return saved

    def _save_rows(
        self, table: _Table, rows: dict[tuple[Any, ...], tuple[Any, ...]], import_id: int, counts: SaveCounts,
        *, keep: AbstractSet[tuple[Any, ...]] = frozenset(), older: set[tuple[Any, ...]] | None = None,
    ) -> SaveCounts:
        """Write ``rows`` but those unchanged, outranked or in ``keep`` (older than the
        stored ones); add to ``older`` the keys of a versioned table's rows left so."""
        known = self._digests(table, list(rows))
        # A key an earlier save of this import met was written by it (its import_id), or
        # else left as stored and noted in kpi_unwritten: no lookup for a key new to the table.
        unwritten_before = self._unwritten(table, [k for k, old in known.items() if old[2] != import_id])
        writes = []
        unwritten = []
        for key, row in rows.items():
            digest = _digest(row)
            old = known.get(key)
            earlier = old is not None and (old[2] == import_id or key in unwritten_before)
            if earlier:  # counted as new, updated, unchanged or older where the import first met it
                counts.repeated += 1
            outranked = old is not None and table.outranks(old[1], row)
            unchanged = old is not None and old[0] == digest
            outdated = not unchanged and (key in keep or (old is not None and table.older(old[1], row)))
            if unchanged or outranked or outdated:
                if outdated and older is not None:
                    older.add(key)
                if not earlier:
                    if outdated:
                        counts.older += 1
                    else:
                        counts.unchanged += 1
                    unwritten.append((key, outdated))
                continue
            if not earlier:
                if old is None:
                    counts.new += 1
                else:
                    counts.updated += 1
            elif old[2] != import_id:  # (earlier: old is set) an earlier save left it as stored: now it changes
                if unwritten_before[key]:
                    counts.older -= 1
                else:
                    counts.unchanged -= 1
                counts.updated += 1
            writes.append((*row, digest, import_id))
        if writes:
            self._store.conn.executemany(table.upsert_sql(), writes)
        if unwritten:
            self._store.conn.executemany(
                "INSERT OR IGNORE INTO kpi_unwritten (key, older) VALUES (?, ?)",
                ((_text_key(table, k), int(outdated)) for k, outdated in unwritten),
            )
        return counts

    def _unwritten(self, table: _Table, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], bool]:
        """Which of ``keys`` earlier saves of this import met and left as stored: whether
        for being older than it."""
        by_text = {_text_key(table, key): key for key in keys}
        texts = list(by_text)
        found: dict[tuple[Any, ...], bool] = {}
        for start in range(0, len(texts), _LOOKUP_CHUNK):
            chunk = texts[start : start + _LOOKUP_CHUNK]
            sql = f"SELECT key, older FROM kpi_unwritten WHERE key IN ({', '.join('?' * len(chunk))})"
            found.update((by_text[key], bool(older)) for key, older in self._store.conn.execute(sql, chunk))
        return found

    def _digests(self, table: _Table, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[str, int, int]]:
        """The stored digest, rank and import id of each of ``keys`` that is stored."""
        found: dict[tuple[Any, ...], tuple[str, int, int]] = {}
        width = len(table.key)
        by_prefix: dict[tuple[Any, ...], list[Any]] = {}
        for key in keys:
            by_prefix.setdefault(key[:-1], []).append(key[-1])
        for prefix, lasts in by_prefix.items():
            for start in range(0, len(lasts), _LOOKUP_CHUNK):
                chunk = lasts[start : start + _LOOKUP_CHUNK]
                for row in self._store.conn.execute(table.lookup_sql(len(chunk)), [*prefix, *chunk]):
                    found[tuple(row[:width])] = (row[width], row[width + 1], row[width + 2])
        return found

    def overlapping_figure(self, metric: str, start: date, end: date) -> tuple[date, date, str | None] | None:
        """A stored figure of ``metric`` whose days overlap ``start`` to ``end`` but
        which has other dates: its dates and the path of the import that wrote it."""
        found = self._store.conn.execute(
            "SELECT f.start_date, f.end_date, i.path FROM kpi_figures f LEFT JOIN kpi_imports i ON i.id = f.import_id"
            " WHERE f.metric = ? AND f.start_date <= ? AND f.end_date >= ?"
            " AND NOT (f.start_date = ? AND f.end_date = ?) ORDER BY f.start_date LIMIT 1",
            [metric, end.isoformat(), start.isoformat(), start.isoformat(), end.isoformat()],
        ).fetchone()
        if found is None:
            return None
        return date.fromisoformat(found[0]), date.fromisoformat(found[1]), found[2]

    # ------------------------------------------------------------- reads
    def counts(self) -> dict[str, int]:
        """Stored tickets, survey responses and period figures."""
        conn = self._store.conn
        return {
            "tickets": conn.execute("SELECT count(*) FROM kpi_tickets").fetchone()[0],
            "responses": conn.execute("SELECT count(*) FROM kpi_responses").fetchone()[0],
            "figures": conn.execute("SELECT count(*) FROM kpi_figures").fetchone()[0],
        }

    def raw_row(self, kind: str, key: Sequence[Any]) -> dict[str, str] | None:
        """A stored record's export row as ``{column: cell}`` (``kind``: tickets,
        responses or figures; ``key``: its natural key), or ``None``."""
        table = _TABLES[kind]
        where = " AND ".join(f"t.{c} = ?" for c in table.key)
        found = self._store.conn.execute(
            f"SELECT t.raw, i.header FROM {table.name} t JOIN kpi_imports i ON i.id = t.import_id WHERE {where}",
            list(key),
        ).fetchone()
        if found is None or found[0] is None:
            return None
        cells, header = json.loads(found[0]), json.loads(found[1])
        return {name: cell for name, cell in zip(header, cells) if cell != ""}

    def imports(self, limit: int = 20) -> list[dict[str, Any]]:
        return [dict(r) for r in self._store.db["kpi_imports"].rows_where(order_by="id DESC", limit=limit)]

    def survey_histogram(self, periods: Periods, group: str | None = None) -> list[tuple[Key, str, float, int, int, int]]:
        """``(period key, kind, score, scale_min, scale_max, answers)`` over each period;
        with a ``group`` (see GROUPS) the key is ``(period key, value)``. Answers on a
        ticket left out (spam, deleted, merged) are left out with it, whenever either came."""
        if not periods:
            return []
        cte, params = periods_cte(periods)
        value, joins = _group(group)
        ticket = "t.source_format = coalesce(r.ticket_format, r.source_format) AND t.ticket_id = r.ticket_id"
        sql = (
            f"{cte} SELECT p.key, {value}, r.kind, r.score, r.scale_min, r.scale_max, count(*)"
            " FROM periods p JOIN kpi_responses r ON r.responded_at >= p.start AND r.responded_at < p.end"
            f"{f' LEFT JOIN kpi_tickets t ON {ticket}' if group else ''}{joins}"
            f" WHERE NOT EXISTS (SELECT 1 FROM kpi_tickets t INDEXED BY kpi_tickets_left_out WHERE {ticket}"
            " AND t.left_out IS NOT NULL) GROUP BY 1, 2, 3, 4, 5, 6"
        )
        return [(_key(key, v, group), *rest) for key, v, *rest in self._store.conn.execute(sql, params)]  # type: ignore[misc]

    def unmatched_answers(self, start: datetime, end: datetime, examples: int = 3) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """Survey answers given in ``[start, end)`` whose ``ticket_id`` names no stored
        ticket, per kind, and the first few ``(format, ticket id)`` they name: they count
        in the totals but under no group of a breakdown."""
        where = (
            " FROM kpi_responses r INDEXED BY kpi_responses_at WHERE r.responded_at >= ? AND r.responded_at < ?"
            " AND r.ticket_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kpi_tickets t WHERE"
            " t.source_format = coalesce(r.ticket_format, r.source_format) AND t.ticket_id = r.ticket_id)"
        )
        params = [to_db(start), to_db(end)]
        conn = self._store.conn
        counts = {kind: n for kind, n in conn.execute(f"SELECT r.kind, count(*){where} GROUP BY r.kind", params)}
        named = conn.execute(
            f"SELECT DISTINCT coalesce(r.ticket_format, r.source_format), r.ticket_id{where} LIMIT ?", [*params, examples]
        ).fetchall() if counts else []
        return counts, [tuple(found) for found in named]

    def duration_histograms(self, periods: Periods, group: str | None = None) -> dict[tuple[Key, str], dict[float, int]]:
        """How many tickets took each duration, per ``(period key, metric)`` (see
        DURATION_METRICS): exact means and medians follow without the rows."""
        if not periods:
            return {}
        cte, params = periods_cte(periods)
        value, joins = _group(group)
        parts = [
            f"SELECT p.key, {value}, '{metric}', t.{column}, count(*) FROM periods p JOIN kpi_tickets t"
            f" ON t.{anchor} >= p.start AND t.{anchor} < p.end{joins} WHERE t.{column} IS NOT NULL AND t.left_out IS NULL"
            " GROUP BY 1, 2, 4"
            for metric, (column, anchor) in DURATION_METRICS.items()
        ]
        out: dict[tuple[Key, str], dict[float, int]] = {}
        for key, v, metric, seconds, n in self._store.conn.execute(f"{cte} {' UNION ALL '.join(parts)}", params):
            out.setdefault((_key(key, v, group), metric), {})[seconds] = n
        return out

    def ticket_counts(self, periods: Periods, group: str | None = None) -> dict[Key, TicketCounts]:
        """Tickets created, and resolved (with first-contact counts), per period key."""
        if not periods:
            return {}
        cte, params = periods_cte(periods)
        value, joins = _group(group)
        sql = (
            f"{cte} SELECT p.key, {value}, 'created', count(*), 0, 0, 0 FROM periods p JOIN kpi_tickets t"
            f" ON t.created_at >= p.start AND t.created_at < p.end{joins} WHERE t.left_out IS NULL GROUP BY 1, 2"
            " UNION ALL"
            f" SELECT p.key, {value}, 'resolved', count(*), count(t.first_contact), coalesce(sum(t.first_contact), 0),"
            " coalesce(sum(t.first_contact IS NOT NULL AND t.first_contact_estimated), 0)"
            " FROM periods p JOIN kpi_tickets t"
            f" ON t.resolved_at >= p.start AND t.resolved_at < p.end{joins} WHERE t.left_out IS NULL GROUP BY 1, 2"
        )
        out: dict[Key, dict[str, int]] = {}
        for key, v, what, n, known, first, estimated in self._store.conn.execute(sql, params):
            entry = out.setdefault(_key(key, v, group), {})
            if what == "created":
                entry["created"] = n
            else:
                entry.update(resolved=n, first_contact_known=known, first_contact=first,
                             first_contact_estimated=estimated)
        return {key: TicketCounts(**entry) for key, entry in out.items()}

    def figures(self, first: date, last: date) -> list[tuple[str, date, date, float]]:
        """Period figures lying wholly within the local days ``first`` to ``last``."""
        rows = self._store.conn.execute(
            "SELECT metric, start_date, end_date, value FROM kpi_figures"
            " WHERE start_date >= ? AND end_date <= ? ORDER BY start_date, metric",
            [first.isoformat(), last.isoformat()],
        )
        return [(m, date.fromisoformat(s), date.fromisoformat(e), v) for m, s, e, v in rows]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _digest(row: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(row).encode("utf-8"), digest_size=12).hexdigest()


def _time(moment: datetime | None) -> str | None:
    return to_db(moment) if moment is not None else None


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _from_ticket_row(row: tuple[Any, ...]) -> bool:
    """Whether a kpi_responses row is the rating a ticket's own row carries (no raw row of its own)."""
    return row[_RAW] is None and row[_TICKET_ID] is not None and row[1] == ticket_rating_id(row[_TICKET_ID])


def _text_key(table: _Table, key: tuple[Any, ...]) -> str:
    """A natural key as one text, for the temporary tables of an import."""
    return "\x1f".join(map(str, (table.kind, *key)))


def _row(record: Record) -> tuple[_Table, tuple[Any, ...]]:
    if isinstance(record, Ticket):
        return _TICKETS, (
            record.source_format, record.ticket_id, to_db(record.created_at), _time(record.resolved_at),
            _time(record.first_response_at), record.status, record.channel, record.replies, record.reopens,
            record.first_response_s, record.first_response_business_s, record.resolution_s,
            record.resolution_business_s, _flag(record.first_contact),
            int(record.first_contact_estimated) if record.first_contact is not None else None,
            _json(record.raw), record.ticket_type, _json(list(record.tags)) if record.tags else None,
            record.left_out, _time(record.updated_at),
        )
    if isinstance(record, SurveyResponse):
        return _RESPONSES, (
            record.source_format, record.response_id, record.kind, float(record.score), record.scale_min,
            record.scale_max, record.label, to_db(record.responded_at), record.ticket_id, int(record.dated),
            _json(record.raw), record.ticket_format,
        )
    if isinstance(record, PeriodFigure):
        return _FIGURES, (
            record.metric, record.start.isoformat(), record.end.isoformat(), record.value,
            record.source_format, _json(record.raw),
        )
    raise TypeError(f"not a KPI record: {record!r}")
