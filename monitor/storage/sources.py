"""Source state (cursor, health) and the log of poll runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.timeutil import from_db, to_db

if TYPE_CHECKING:
    from monitor.storage import Store


@dataclass(frozen=True)
class PollRun:
    """What one poll of one source did."""

    source: str
    platform: str
    started_at: datetime
    finished_at: datetime
    status: str  # "ok" or "error"
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    excluded: int = 0
    requests: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    error: str | None = None
    error_kind: str | None = None

    def row(self) -> dict[str, Any]:
        """The ``poll_runs`` row (only this class's fields: subclasses may report more)."""
        row = {f.name: getattr(self, f.name) for f in fields(PollRun)}
        row["started_at"] = to_db(self.started_at)
        row["finished_at"] = to_db(self.finished_at)
        row["duration_ms"] = int((self.finished_at - self.started_at).total_seconds() * 1000)
        return row


class SourceStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, name: str) -> dict[str, Any] | None:
        row = self._store.conn.execute("SELECT * FROM sources WHERE name = ?", [name])
        cols = [d[0] for d in row.description]
        found = row.fetchone()
        return dict(zip(cols, found)) if found else None

    def cursor(self, name: str) -> str | None:
        state = self.get(name)
        return state["cursor"] if state else None

    def all(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._store.db["sources"].rows_where(order_by="name")]

    def record(self, run: PollRun) -> None:
        """Log a poll run and update the source's state from it.

        On success the cursor moves to ``run.cursor_after`` (unless that is
        ``None``: nothing new). On failure the cursor stays where it was.
        Call inside the transaction that stored the run's mentions.
        """
        finished = to_db(run.finished_at)
        with self._store.transaction():
            self._store.conn.execute(
                "INSERT INTO sources (name, platform) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET platform = excluded.platform",
                [run.source, run.platform],
            )
            if run.status == "ok":
                self._store.conn.execute(
                    "UPDATE sources SET last_poll_at = ?, last_success_at = ?,"
                    " consecutive_failures = 0,"
                    " cursor = coalesce(?, cursor),"
                    " cursor_at = CASE WHEN ? IS NULL THEN cursor_at ELSE ? END"
                    " WHERE name = ?",
                    [finished, finished, run.cursor_after, run.cursor_after, finished, run.source],
                )
            else:
                self._store.conn.execute(
                    "UPDATE sources SET last_poll_at = ?, last_error_at = ?, last_error = ?,"
                    " last_error_kind = ?, consecutive_failures = consecutive_failures + 1"
                    " WHERE name = ?",
                    [finished, finished, run.error, run.error_kind, run.source],
                )
            self._store.db["poll_runs"].insert(run.row())

    def set_next_poll(self, name: str, platform: str, when: datetime | None) -> None:
        with self._store.transaction():
            self._store.conn.execute(
                "INSERT INTO sources (name, platform, next_poll_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET next_poll_at = excluded.next_poll_at",
                [name, platform, to_db(when) if when else None],
            )

    def runs(self, name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = ("source = ?", [name]) if name else (None, [])
        return [
            dict(r)
            for r in self._store.db["poll_runs"].rows_where(
                where, params, order_by="id DESC", limit=limit
            )
        ]

    def activity(self, names: Sequence[str], start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
        """Per named source that polled in ``[start, end)``: runs, errors, new mentions, last status."""
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            runs, errors, new, last_run = self._store.conn.execute(
                "SELECT count(*), coalesce(sum(status != 'ok'), 0), coalesce(sum(new), 0), max(id)"
                " FROM poll_runs WHERE source = ? AND started_at >= ? AND started_at < ?",
                [name, to_db(start), to_db(end)],
            ).fetchone()
            if not runs:
                continue
            status, error = self._store.conn.execute(
                "SELECT status, error FROM poll_runs WHERE id = ?", [last_run]
            ).fetchone()
            out[name] = {"runs": runs, "errors": errors, "new": new,
                         "last_status": status, "last_error": error}
        return out

    def first_run_at(self, name: str) -> datetime | None:
        """When the source was first polled (from its poll log)."""
        row = self._store.conn.execute(
            "SELECT min(started_at) FROM poll_runs WHERE source = ?", [name]
        ).fetchone()
        return from_db(row[0]) if row[0] else None

    def run_counts(self) -> dict[str, int]:
        """Poll runs logged per source."""
        rows = self._store.conn.execute("SELECT source, count(*) FROM poll_runs GROUP BY source")
        return {name: int(n) for name, n in rows}

    def new_since(self, name: str, since: datetime) -> int:
        """Mentions a source added since a time (from its poll log)."""
        row = self._store.conn.execute(
            "SELECT coalesce(sum(new), 0) FROM poll_runs WHERE source = ? AND started_at >= ?",
            [name, to_db(since)],
        ).fetchone()
        return int(row[0])
