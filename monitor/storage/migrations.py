"""Schema migrations, as sqlite-utils migration sets.

Each feature owns a named set; every step runs in a transaction together with
the record of it having run, so re-running is safe. Never edit a released
step: add a new one. Sets are declared with :class:`monitor.storage.schema.Migrations`,
so importing them does not import sqlite-utils.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.storage.alerts import migrations as alerts
from monitor.storage.digests import migrations as digests
from monitor.storage.kpi import migrations as kpi
from monitor.storage.labels import migrations as labels
from monitor.storage.schema import Migrations

if TYPE_CHECKING:
    from sqlite_utils import Database

core = Migrations("sentiment-monitor")


@core()
def m001_mentions(db: Database) -> None:
    db["mentions"].create(
        {
            "platform": str,
            "id": str,
            "source": str,  # the [[sources]] name (or "import:<file>")
            "brand": str,
            "text": str,
            "author": str,
            "url": str,
            "created_at": str,  # UTC, "2026-01-31T08:00:00Z": text order is time order
            "fetched_at": str,
            "lang": str,
            "likes": int,
            "replies": int,
            "reposts": int,
            "followers": int,
            "compound": float,
            "label": str,
            "classifier": str,  # name/version that produced compound and label
            "raw": str,  # the platform payload as JSON
        },
        pk=("platform", "id"),
        not_null={"text", "created_at", "fetched_at"},
    )
    # "Recent negatives": one label, newest first.
    db["mentions"].create_index(["label", "created_at"], index_name="mentions_label_created")
    # Period summaries read only these columns: the index covers them.
    db["mentions"].create_index(
        ["created_at", "brand", "platform", "label"], index_name="mentions_created"
    )


@core()
def m002_sources(db: Database) -> None:
    db["sources"].create(
        {
            "name": str,
            "platform": str,
            "cursor": str,
            "cursor_at": str,
            "last_poll_at": str,
            "last_success_at": str,
            "last_error_at": str,
            "last_error": str,
            "last_error_kind": str,
            "consecutive_failures": int,
            "next_poll_at": str,
        },
        pk="name",
        defaults={"consecutive_failures": 0},
        not_null={"consecutive_failures"},
    )
    db["poll_runs"].create(
        {
            "id": int,
            "source": str,
            "platform": str,
            "started_at": str,
            "finished_at": str,
            "duration_ms": int,
            "status": str,  # "ok" or "error"
            "fetched": int,
            "new": int,
            "duplicates": int,
            "excluded": int,
            "requests": int,
            "cursor_before": str,
            "cursor_after": str,
            "error": str,
            "error_kind": str,
        },
        pk="id",
        not_null={"source", "started_at", "status"},
    )
    db["poll_runs"].create_index(["source", "started_at"], index_name="poll_runs_source")


@core()
def m003_lang_source(db: Database) -> None:
    """Where a mention's ``lang`` came from (``monitor.storage.mentions.LANG_SOURCES``). Rows
    stored before have none: their ``lang`` stays taken as the platform's. Adding a column
    rewrites no row."""
    db["mentions"].add_column("lang_source", str)


@core()
def m004_mention_brands(db: Database) -> None:
    """Every brand name stored mentions carry, one row each: read commands look a brand
    renamed or removed from the config up here (a lookup in ``mentions`` scans every row:
    20 s at 10 million). Filled once from the stored mentions, then by every insert."""
    db.execute("CREATE TABLE mention_brands (brand TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("INSERT INTO mention_brands SELECT DISTINCT brand FROM mentions WHERE brand IS NOT NULL")


#: Every migration set, in the order they apply. Feature modules add theirs here.
MIGRATION_SETS: list[Migrations] = [core, labels, digests, alerts, kpi]
