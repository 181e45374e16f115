"""The ``digests`` table: one row per (brand-set, local date), the delivery state machine.

States: ``sending`` (claimed; ``stage`` says how far the delivery got),
``sent``, ``retry`` (temporary failure; ``next_attempt_at``), ``failed``
(permanent, or out of attempts) and ``unknown`` (the connection was lost after
the message was handed over: it may have arrived). The decisions live in
:mod:`monitor.digest.send`; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.storage.schema import Migrations
from monitor.timeutil import to_db

if TYPE_CHECKING:
    from sqlite_utils import Database

    from monitor.storage import Store

migrations = Migrations("digests")

STATES = ("sending", "sent", "retry", "failed", "unknown")


@migrations()
def m001_digests(db: Database) -> None:
    db["digests"].create(
        {
            "brand_set": str,  # e.g. "acme" or "acme+initech": the own brands covered
            "day": str,  # the local date reported, YYYY-MM-DD
            "state": str,
            "stage": str,  # while sending: render, connect, envelope, data
            "attempts": int,
            "message_id": str,  # kept across retries so a resend can be recognised
            "claimed_at": str,
            "next_attempt_at": str,
            "sent_at": str,
            "delivered_to": str,  # recipients, or the file written
            "last_error": str,
            "updated_at": str,
        },
        pk=("brand_set", "day"),
        not_null={"state", "attempts", "updated_at"},
        defaults={"attempts": 0},
    )
    db["digests"].create_index(["state", "next_attempt_at"], index_name="digests_state")


@migrations()
def m002_deferred_recipients(db: Database) -> None:
    """Recipients a server answered with a 4xx while it took the digest for
    others: the ones a retry mails (NULL: every recipient)."""
    if "deferred_to" not in db["digests"].columns_dict:
        db["digests"].add_column("deferred_to", str)  # comma-separated


@migrations()
def m003_claimed_by(db: Database) -> None:
    """The process that claimed a digest for sending ("host:pid"): another one can tell that
    it is gone (stopped after its grace, killed) without waiting for the lease to run out."""
    if "claimed_by" not in db["digests"].columns_dict:
        db["digests"].add_column("claimed_by", str)


#: What ``digest status`` lists.
_COLUMNS = (
    "brand_set", "day", "state", "stage", "attempts", "message_id", "claimed_at",
    "next_attempt_at", "sent_at", "delivered_to", "last_error", "updated_at", "deferred_to",
)
_STORED = (*_COLUMNS, "claimed_by")


class DigestStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, brand_set: str, day: str) -> dict[str, Any] | None:
        rows = self._select("WHERE brand_set = ? AND day = ?", [brand_set, day], _STORED)
        return rows[0] if rows else None

    def save(self, row: dict[str, Any], now: datetime) -> None:
        """Insert or replace a digest's row (call inside a transaction to check-and-set)."""
        if row["state"] not in STATES:
            raise ValueError(f"unknown digest state {row['state']!r}")
        values = {c: row.get(c) for c in _STORED} | {"updated_at": to_db(now)}
        with self._store.transaction():
            self._store.conn.execute(
                f"INSERT OR REPLACE INTO digests ({', '.join(_STORED)})"
                f" VALUES ({', '.join('?' * len(_STORED))})",
                [values[c] for c in _STORED],
            )

    def set_stage(self, brand_set: str, day: str, stage: str, now: datetime) -> None:
        with self._store.transaction():
            self._store.conn.execute(
                "UPDATE digests SET stage = ?, updated_at = ? WHERE brand_set = ? AND day = ?",
                [stage, to_db(now), brand_set, day],
            )

    def delete(self, brand_set: str, day: str) -> None:
        with self._store.transaction():
            self._store.conn.execute("DELETE FROM digests WHERE brand_set = ? AND day = ?", [brand_set, day])

    def latest_day(self, brand_set: str) -> str | None:
        """The latest day with a digest of ``brand_set`` in any state (None: none yet)."""
        return self._store.conn.execute("SELECT max(day) FROM digests WHERE brand_set = ?", [brand_set]).fetchone()[0]

    def in_states(self, *states: str) -> list[dict[str, Any]]:
        return self._select(
            f"WHERE state IN ({', '.join('?' * len(states))}) ORDER BY day", list(states)
        )

    def recent(self, limit: int = 30) -> list[dict[str, Any]]:
        return self._select("ORDER BY day DESC, brand_set LIMIT ?", [limit])

    def _select(self, tail: str, params: list[Any], columns: Sequence[str] = _COLUMNS) -> list[dict[str, Any]]:
        cursor = self._store.conn.execute(f"SELECT {', '.join(columns)} FROM digests {tail}", params)
        return [dict(zip(columns, r)) for r in cursor]
