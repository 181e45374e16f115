"""The ``alerts`` table: every alert that fired, and where it has been delivered.

One row per (brand, kind, hour). A row is written *before* it is delivered,
with the channels still to serve in ``pending``; each channel moves to
``sent`` once it accepted the alert.
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

migrations = Migrations("alerts")


@migrations()
def m001_alerts(db: Database) -> None:
    db["alerts"].create(
        {
            "id": int,
            "brand": str,
            "kind": str,  # negative_count, negative_ratio, zero_volume
            "hour": str,  # start of the hour, UTC
            "observed": float,
            "baseline": float,
            "threshold": float,
            "volume": int,  # mentions in the hour
            "message": str,  # the alert as people read it
            "created_at": str,
            "pending": str,  # channels still to deliver to, comma-separated
            "sent": str,  # channels that accepted it
            "attempts": int,
            "last_error": str,
        },
        pk="id",
        not_null={"brand", "kind", "hour", "created_at"},
        defaults={"pending": "", "sent": "", "attempts": 0},
    )
    db["alerts"].create_index(["brand", "kind", "hour"], unique=True, index_name="alerts_brand_kind_hour")
    db["alerts"].create_index(["hour"], index_name="alerts_hour")


@migrations()
def m002_deferred_recipients(db: Database) -> None:
    """The email's recipients a server answered with a 4xx while it took the
    alert for others (NULL: every recipient), and its Message-ID, so that a
    retry mails them the same message."""
    for column in ("deferred_to", "message_id"):
        if column not in db["alerts"].columns_dict:
            db["alerts"].add_column(column, str)


@migrations()
def m003_sending(db: Database) -> None:
    """The channel whose delivery was under way when the process stopped: "email" once the
    message data was being handed over, "webhook" once the POST was being made (NULL: none)."""
    if "sending" not in db["alerts"].columns_dict:
        db["alerts"].add_column("sending", str)


_COLUMNS = (
    "id", "brand", "kind", "hour", "observed", "baseline", "threshold", "volume", "message",
    "created_at", "pending", "sent", "attempts", "last_error", "deferred_to", "message_id",
)


class AlertStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def latest_hour(self, brand: str, kind: str) -> datetime | None:
        """The hour of the brand's latest alert of this kind (for the cooldown)."""
        from monitor.timeutil import from_db

        row = self._store.conn.execute(
            "SELECT max(hour) FROM alerts WHERE brand = ? AND kind = ?", [brand, kind]
        ).fetchone()
        return from_db(row[0]) if row[0] else None

    def add(self, alert: dict[str, Any], channels: Sequence[str], now: datetime) -> int | None:
        """Record an alert before delivery; ``None`` if it was already recorded."""
        values = {**alert, "hour": to_db(alert["hour"]), "created_at": to_db(now),
                  "pending": ",".join(channels), "sent": "", "attempts": 0, "last_error": None}
        columns = [c for c in _COLUMNS if c != "id"]
        cursor = self._store.conn.execute(
            f"INSERT OR IGNORE INTO alerts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [values.get(c) for c in columns],
        )
        return cursor.lastrowid if cursor.rowcount else None

    def undelivered(self) -> list[dict[str, Any]]:
        """Alerts with channels still to serve, each with ``sending`` (see :func:`m003_sending`)."""
        return self._select("WHERE pending != '' ORDER BY hour, brand, kind", [], extra=("sending",))

    def set_sending(self, ids: Sequence[int], channel: str | None) -> None:
        """Record that ``channel`` is handing the alert over now (None: no longer)."""
        with self._store.transaction():
            self._store.conn.executemany("UPDATE alerts SET sending = ? WHERE id = ?", [(channel, i) for i in ids])

    def record_delivery(self, ids: Sequence[int], pending: Sequence[str], sent: Sequence[str],
                        error: str | None, *, attempted: bool = True, deferred_to: Sequence[str] | None = None,
                        message_id: str | None = None) -> None:
        """Record a delivery round; ``attempted`` false: no channel was tried (no attempt counted).
        ``deferred_to``: the email's recipients still to mail, with ``message_id`` (None: everyone)."""
        deferred = None if deferred_to is None else ",".join(deferred_to)
        with self._store.transaction():
            self._store.conn.executemany(
                "UPDATE alerts SET pending = ?, sent = ?, attempts = attempts + ?,"
                " last_error = ?, deferred_to = ?, message_id = ?, sending = NULL WHERE id = ?",
                [(",".join(pending), ",".join(sent), int(attempted), error, deferred, message_id, i) for i in ids],
            )

    def between(self, start: datetime, end: datetime, brand: str | None = None) -> list[dict[str, Any]]:
        where = "WHERE hour >= ? AND hour < ?"
        params: list[Any] = [to_db(start), to_db(end)]
        if brand is not None:
            where += " AND brand = ? COLLATE NOCASE"
            params.append(brand)
        return self._select(where + " ORDER BY hour, brand, kind", params)

    def brands(self) -> list[str]:
        """Every brand an alert is stored for (brands no longer configured included)."""
        return [r[0] for r in self._store.conn.execute("SELECT DISTINCT brand FROM alerts")]

    def _select(self, tail: str, params: list[Any], extra: Sequence[str] = ()) -> list[dict[str, Any]]:
        columns = [*_COLUMNS, *extra]
        cursor = self._store.conn.execute(f"SELECT {', '.join(columns)} FROM alerts {tail}", params)
        return [dict(zip(columns, r)) for r in cursor]
