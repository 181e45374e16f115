"""Import one export file: all of it in one transaction, or nothing.

The header is checked before anything is written. Rows are streamed and
saved in batches inside the one transaction, so memory stays bounded however
long the file; the first bad cell rolls everything back and is reported as
``file:line`` with the column and the value. Re-importing a file changes no
record: they are upserted on natural keys and unchanged ones are skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import BadPayload
from connectors.csvfile import ExportFile, check_file, open_export
from monitor.errors import MonitorError
from monitor.interrupts import interrupts_held
from monitor.kpi import formats
from monitor.kpi.formats.base import BadValue, Binding, Context, Row
from monitor.kpi.records import PeriodFigure, RatingRemoved, Record, SurveyResponse, Ticket, ticket_rating_id
from monitor.storage import Store
from monitor.storage.kpi import SaveCounts

BATCH = 2000  # records per save: one lookup and one executemany each
_MAX_WARNINGS = 20  # distinct unknown labels listed


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, where the command turns it into one) during an import: ``stored``
    says whether the file's one transaction had committed when it was taken; if not,
    nothing was written."""

    def __init__(self, stored: bool) -> None:
        super().__init__()
        self.stored = stored


@dataclass
class ImportResult:
    path: str
    format: str
    layout: str
    encoding: str
    timezone: str
    rows: int = 0
    #: "tickets" / "responses" / "figures" -> new, updated, unchanged, older
    records: dict[str, SaveCounts] = field(default_factory=dict)
    #: "column: value" -> rows: labels we could not map (ignored, not fatal).
    unknown_values: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> SaveCounts:
        total = SaveCounts()
        for counts in self.records.values():
            total.add(counts)
        return total

    def add(self, saved: dict[str, SaveCounts]) -> None:
        for kind, counts in saved.items():
            self.records.setdefault(kind, SaveCounts()).add(counts)

    def as_dict(self) -> dict[str, Any]:
        total = self.total
        return {
            "path": self.path, "format": self.format, "layout": self.layout,
            "encoding": self.encoding, "timezone": self.timezone, "rows": self.rows,
            "new": total.new, "updated": total.updated, "unchanged": total.unchanged, "older": total.older,
            "repeated": total.repeated,
            "records": {kind: dataclasses.asdict(c) for kind, c in sorted(self.records.items())},
            "unknown_values": self.unknown_values, "seconds": round(self.seconds, 3),
        }


def check_path(path: str | Path) -> None:
    """A MonitorError unless ``path`` is a file an import can read: asked before the
    database is opened, so a mistyped name creates no database."""
    try:
        check_file(Path(path))
    except BadPayload as exc:
        raise MonitorError(str(exc)) from None


def import_export(
    store: Store,
    path: str | Path,
    *,
    fmt: str = "auto",
    timezone: str = "UTC",
    ces_scale: int = 7,
    encoding: str | None = None,
    on_open: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import the export at ``path`` (format ``fmt`` or detected from the header).

    ``timezone`` is the zone of times written without an offset. ``on_open``
    gets the size in bytes once the header is accepted, ``progress`` each
    further number of bytes read. Raises MonitorError, having written nothing,
    on any bad input.
    """
    from monitor.config import zone

    clock = time.monotonic()
    try:
        tz = zone(timezone)
    except ValueError as exc:
        raise MonitorError(f"--timezone: {exc}") from None
    try:
        result = _import(store, path, fmt, tz, timezone, ces_scale, encoding, on_open, progress)
    except BadPayload as exc:  # the file cannot be read as CSV: nothing was written
        raise MonitorError(str(exc)) from None
    result.seconds = time.monotonic() - clock
    return result


def _import(
    store: Store, path: str | Path, fmt: str, tz: Any, timezone: str, ces_scale: int, encoding: str | None,
    on_open: Callable[[int], None] | None, progress: Callable[[int], None] | None,
) -> ImportResult:
    with open_export(path, encoding) as export:
        binding = formats.choose(export.header, fmt, where=str(export.path))
        layout = binding.layout
        result = ImportResult(str(export.path), layout.format, layout.name, export.encoding, timezone)
        if on_open:
            on_open(export.size)
        stored = False
        try:
            with contextlib.ExitStack() as held:  # left after the commit: a Ctrl-C it held is taken then
                with store.transaction():
                    import_id, batch, done = _save_rows(store, export, binding, tz, ces_scale, result, progress)
                    held.enter_context(interrupts_held())  # the last save and the commit are done whole
                    result.add(store.kpi.save(batch, import_id))
                    store.kpi.finish_import(import_id, result.rows, result.total)
                stored = True
        except KeyboardInterrupt:
            raise Interrupted(stored) from None
        if progress:
            progress(max(export.size - done, 0))
    return result


def _save_rows(
    store: Store, export: ExportFile, binding: Binding, tz: Any, ces_scale: int, result: ImportResult,
    progress: Callable[[int], None] | None,
) -> tuple[int, list[Record], int]:
    """Check the rows of ``export`` and save them in batches, in the caller's transaction:
    the import's id, the last batch (not saved yet) and the bytes reported to ``progress``."""
    layout = binding.layout
    context = Context(
        tz=tz, ces_scale=ces_scale, warn=lambda column, value: _note(result, column, value),
        decimal_comma=export.delimiter == ";",  # Excel's "CSV" where the comma marks decimals
    )
    width = len(export.header)
    done = 0
    batch: list[Record] = []
    import_id = store.kpi.begin_import(
        path=result.path, fmt=layout.format, layout=layout.name, encoding=export.encoding,
        timezone=result.timezone, header=export.header,
    )
    for line, cells in export.rows():
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise MonitorError(
                f"{export.path}:{line}: {len(cells)} fields but the header has {width}"
                " (an unquoted comma?); nothing was imported"
            )
        # A short row is read with its missing cells empty, but not the file's last one when no
        # line break ends it (only the last line can lack one): the rest of it was cut off.
        if len(cells) < width and not export.ends_with_line_break:
            raise MonitorError(
                f"{export.path}:{line}: the last row has {len(cells)} of the header's {width} fields and no line"
                " break after it: the file looks cut short (a download that did not finish? export it again);"
                " nothing was imported"
            )
        try:
            records = list(layout.parse(Row(binding, cells, context)))
        except BadValue as exc:
            raise MonitorError(f"{export.path}:{line}: {exc}; nothing was imported") from None
        records.extend(_ratings_removed(records))
        figures = [r for r in records if isinstance(r, PeriodFigure)]
        if figures:  # checked against every figure saved before, this file's too
            if batch:
                result.add(store.kpi.save(batch, import_id))
                batch.clear()
            _check_overlaps(store, f"{export.path}:{line}", figures)
        batch.extend(_numbered(store, r) for r in records)
        result.rows += 1
        if len(batch) >= BATCH:
            result.add(store.kpi.save(batch, import_id))
            batch.clear()
            if progress:
                position = export.position
                progress(position - done)
                done = position
    return import_id, batch, done


def _ratings_removed(records: list[Record]) -> list[Record]:
    """A marker for each ticket whose row, in an export with a rating column, has no rating."""
    rated = {r.ticket_id for r in records if isinstance(r, SurveyResponse) and r.response_id == ticket_rating_id(r.ticket_id)}
    return [RatingRemoved(r.source_format, r.ticket_id) for r in records
            if isinstance(r, Ticket) and r.rating_column and r.ticket_id not in rated]


def _check_overlaps(store: Store, where: str, figures: list[PeriodFigure]) -> None:
    """Refuse a figure whose days overlap a stored figure of its metric with other
    dates: the two would be counted twice (weeks inside a month)."""
    for figure in figures:
        found = store.kpi.overlapping_figure(figure.metric, figure.start, figure.end)
        if found is not None:
            start, end, path = found
            raise MonitorError(
                f'{where}: "{figure.metric}" for {figure.start} to {figure.end} overlaps the stored'
                f' "{figure.metric}" for {start} to {end} (imported from {path or "an earlier import"});'
                " figures of one metric must not overlap, or they would be counted twice. Give figures"
                " for the same dates to replace them, or for periods that do not overlap;"
                " nothing was imported"
            )


def _numbered(store: Store, record: Record) -> Record:
    """Give answers without an id of their own a key that survives re-imports:
    their content, numbered by occurrence in the file."""
    if isinstance(record, SurveyResponse) and record.keyed_by_content:
        n = store.kpi.occurrence(record.response_id)
        return dataclasses.replace(record, response_id=f"{record.response_id}#{n}", keyed_by_content=False)
    return record


def _note(result: ImportResult, column: str, value: str) -> None:
    key = f"{column}: {value}"
    if key in result.unknown_values or len(result.unknown_values) < _MAX_WARNINGS:
        result.unknown_values[key] = result.unknown_values.get(key, 0) + 1
