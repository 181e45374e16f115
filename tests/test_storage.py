"""The SQLite store: schema, upserts, atomic poll writes."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from connectors.base import Batch
from connectors.jsonl import JsonlConnector, JsonlOptions
from monitor import config, ingest
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter, ScoredMention
from monitor.storage.sources import PollRun
from factories import mention, record, write_jsonl


def scored(m, label="neutral"):
    return ScoredMention(m, "test", "Acme", 0.0, label, "test/1")


def test_open_creates_wal_database_with_schema(tmp_path):
    path = tmp_path / "sub" / "monitor.db"
    with Store.open(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert {"mentions", "sources", "poll_runs"} <= set(store.db.table_names())
        assert store.pending_migrations() == []
    with Store.open(path) as again:  # migrations are safe to re-run
        assert again.migrate() == []


def test_mentions_indexes_serve_recent_negatives_and_summaries(fresh_store):
    plan = " ".join(
        r[-1] for r in fresh_store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM mentions WHERE label = 'negative'"
            " AND created_at >= '2026-01-01' ORDER BY created_at DESC LIMIT 50"
        )
    )
    assert "mentions_label_created" in plan and "TEMP B-TREE" not in plan
    plan = " ".join(
        r[-1] for r in fresh_store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT label, count(*) FROM mentions"
            " WHERE created_at >= '2026-01-01' AND created_at < '2026-02-01' GROUP BY label"
        )
    )
    assert "COVERING INDEX mentions_created" in plan


def test_read_only_open_of_missing_database_is_a_clear_error(tmp_path):
    from monitor.errors import MonitorError

    with pytest.raises(MonitorError, match="no database at .*missing.db yet"):
        Store.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_upsert_counts_new_and_duplicates_and_refreshes_engagement(fresh_store):
    now = datetime.now(timezone.utc)
    first = fresh_store.mentions.upsert([scored(mention("1", likes=1)), scored(mention("2"))], now)
    assert (first.new, first.duplicates) == (2, 0)
    again = fresh_store.mentions.upsert(
        [scored(mention("1", likes=5)), scored(mention("3")), scored(mention("3"))], now
    )
    assert (again.new, again.duplicates) == (1, 2)
    rows = fresh_store.mentions.query(MentionFilter(limit=None))
    assert sorted(r["id"] for r in rows) == ["1", "2", "3"]
    assert next(r for r in rows if r["id"] == "1")["likes"] == 5
    # Same id on another platform is another mention.
    fresh_store.mentions.upsert([scored(mention("1", platform="reddit"))], now)
    assert fresh_store.mentions.count() == 4


def test_query_filters_and_order(fresh_store):
    now = datetime.now(timezone.utc)
    fresh_store.mentions.upsert(
        [
            scored(mention("old", "refund please", created_at=now - timedelta(days=3)), "negative"),
            scored(mention("new", "REFUND now 100%_sure", created_at=now - timedelta(hours=1)), "negative"),
            scored(mention("pos", "love it", created_at=now - timedelta(hours=2)), "positive"),
        ],
        now,
    )
    negatives = fresh_store.mentions.query(MentionFilter(label="negative", since=now - timedelta(days=7)))
    assert [r["id"] for r in negatives] == ["new", "old"]
    assert [r["id"] for r in fresh_store.mentions.query(MentionFilter(search="refund"))] == ["new", "old"]
    # LIKE wildcards in the search text are literal.
    assert [r["id"] for r in fresh_store.mentions.query(MentionFilter(search="100%_"))] == ["new"]
    assert fresh_store.mentions.query(MentionFilter(search="100%x")) == []


def test_search_folds_case_in_every_script(fresh_store):
    now = datetime.now(timezone.utc)
    fresh_store.mentions.upsert([
        scored(mention("de", "Die Acme-App stürzt ständig ab", created_at=now)),
        scored(mention("fr", "ÉNORME panne chez Acme", created_at=now)),
        scored(mention("ru", "Acme опять не работает", created_at=now)),
        scored(mention("en", "acme is fine", created_at=now)),
        scored(mention("de2", "Acme-Laden in der Hauptstraße: GROẞE Schlange", created_at=now)),
    ], now)

    def found(term):
        return sorted(r["id"] for r in fresh_store.mentions.query(MentionFilter(search=term)))

    assert found("STÜRZT") == found("stürzt") == ["de"]
    assert found("énorme") == found("É") == ["fr"]
    assert found("ОПЯТЬ") == ["ru"]
    assert found("ACME") == ["de", "de2", "en", "fr", "ru"] and found("100%ü") == []
    # An ASCII term meets ß (and capital ẞ) as "ss", as casefold() folds them.
    assert found("HAUPTSTRASSE") == found("hauptstraße") == found("grosse") == ["de2"]
    assert found("ss") == ["de2"] and found("strasse schlange") == []


def test_poll_run_success_moves_cursor_and_failure_does_not(fresh_store):
    t = datetime.now(timezone.utc)
    fresh_store.sources.record(PollRun("s", "x", t, t, "ok", cursor_after="10"))
    assert fresh_store.sources.cursor("s") == "10"
    fresh_store.sources.record(PollRun("s", "x", t, t, "ok", cursor_after=None))  # nothing new
    assert fresh_store.sources.cursor("s") == "10"
    fresh_store.sources.record(PollRun("s", "x", t, t, "error", error="boom", error_kind="transient"))
    state = fresh_store.sources.get("s")
    assert state["cursor"] == "10"
    assert (state["last_error"], state["last_error_kind"], state["consecutive_failures"]) == ("boom", "transient", 1)
    assert [r["status"] for r in fresh_store.sources.runs("s")] == ["error", "ok", "ok"]


def _replay_config(write_config, path):
    return config.load(write_config(f'[[sources]]\nname = "replay"\nplatform = "jsonl"\npath = "{path}"\nmax_per_poll = 2\n'))


def test_repoll_is_idempotent(tmp_path, write_config):
    data = write_jsonl(tmp_path / "m.jsonl", [record(str(i), f"acme number {i}") for i in range(5)])
    cfg = _replay_config(write_config, data)
    with Store.open(cfg.monitor.database) as store:
        results = [ingest.poll(store, cfg)[0] for _ in range(4)]
        assert [r.new for r in results] == [2, 2, 1, 0]
        assert json.loads(store.sources.cursor("replay")) == {"for": str(data), "served": 5}  # records of that file
        # A lost cursor makes the source re-serve everything: stored once all the same.
        store.conn.execute("UPDATE sources SET cursor = NULL")
        results = [ingest.poll(store, cfg)[0] for _ in range(3)]
        assert [(r.new, r.duplicates) for r in results] == [(0, 2), (0, 2), (0, 1)]
        assert store.mentions.count() == 5


def test_failure_between_mentions_and_cursor_leaves_neither(tmp_path, write_config):
    data = write_jsonl(tmp_path / "m.jsonl", [record(str(i), f"acme {i}") for i in range(2)])
    cfg = _replay_config(write_config, data)
    with Store.open(cfg.monitor.database) as store:
        # Make the cursor write itself fail, after the mentions were written in the same transaction.
        store.conn.execute(
            "CREATE TRIGGER fail_cursor BEFORE INSERT ON poll_runs WHEN NEW.status = 'ok'"
            " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
        result = ingest.poll(store, cfg)[0]
        assert result.status == "error" and "disk on fire" in result.error
        assert store.mentions.count() == 0
        assert store.sources.cursor("replay") is None
        store.conn.execute("DROP TRIGGER fail_cursor")
        assert ingest.poll(store, cfg)[0].new == 2
        assert json.loads(store.sources.cursor("replay")) == {"for": str(data), "served": 2}


def test_writer_takes_the_lock_up_front(tmp_path):
    path = tmp_path / "m.db"
    with Store.open(path) as a, Store.open(path) as b:
        b.conn.execute("PRAGMA busy_timeout = 50")
        with a.transaction():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                b.conn.execute("BEGIN IMMEDIATE")
            # ...while readers are not blocked (WAL).
            assert b.mentions.count() == 0


def test_connector_batch_replay_with_shift(tmp_path):
    data = write_jsonl(tmp_path / "m.jsonl", [
        {**record("a", "x"), "created_at": "2020-01-01T00:00:00Z"},
        {**record("b", "y"), "created_at": "2020-01-02T00:00:00Z"},
    ])
    batch: Batch = JsonlConnector(JsonlOptions(path=str(data), shift_to_now=True)).fetch("", None)
    newest = max(m.created_at for m in batch.mentions)
    assert timedelta(0) < datetime.now(timezone.utc) - newest < timedelta(minutes=10)
    assert batch.mentions[1].created_at - batch.mentions[0].created_at == timedelta(days=1)
    assert json.loads(batch.next_cursor) == {"for": str(data), "served": 2}


def test_platforms_stored_in_upper_case_by_older_versions_are_lower_cased(tmp_path):
    db = tmp_path / "old.db"
    Store.open(db).close()
    with Store.open(db) as store:  # as an older version stored and labelled them
        columns = "platform, id, text, created_at, fetched_at, label, model_label"
        store.conn.executemany(
            f"INSERT INTO mentions ({columns}) VALUES (?, ?, 'acme', '2026-01-01T00:00:00Z',"
            " '2026-01-01T00:00:00Z', 'neutral', 'neutral')",
            [("X", "1"), ("X", "2"), ("x", "2"), ("X", "3"), ("x", "3"), ("Reddit", "4"), ("REDDIT", "4")],
        )
        day = datetime(2026, 1, 2, tzinfo=timezone.utc)
        store.labels.override("X", "2", "positive", at=day + timedelta(hours=2))  # labelled last: it wins
        store.labels.override("x", "2", "negative", at=day + timedelta(hours=1))
        store.labels.override("X", "3", "positive", at=day)
        store.labels.override("x", "3", "negative", at=day + timedelta(hours=1))  # labelled last: it stays
        # no lower-case row: two upper-case spellings of one mention become one row
        store.labels.override("REDDIT", "4", "negative", at=day)
        store.labels.override("Reddit", "4", "positive", at=day + timedelta(hours=1))  # labelled last: it wins
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        # as an older version left it: this step not applied yet
        conn.execute("DELETE FROM _sqlite_migrations WHERE migration_set = 'labels' AND name = 'm002_lower_case_platforms'")
        conn.execute("PRAGMA user_version = 0")

    with Store.open(db) as store:
        assert store.conn.execute("SELECT platform, id, label, label_override FROM mentions ORDER BY id").fetchall() == [
            ("x", "1", "neutral", None), ("x", "2", "positive", "positive"), ("x", "3", "negative", "negative"),
            ("reddit", "4", "positive", "positive")]
        assert {row[0] for row in store.conn.execute("SELECT platform FROM label_events")} == {"x", "reddit"}
        assert [e["label_after"] for e in store.labels.history("x", "2")] == ["negative", "positive"]


def test_the_wal_file_shrinks_back_after_a_large_import_while_the_daemon_keeps_the_database_open(cli, tmp_path):
    from monitor.timeutil import utcnow

    write_jsonl(tmp_path / "m.jsonl", [record(str(i), f"acme is great, number {i}") for i in range(30_000)])
    wal = tmp_path / "m.db-wal"
    with Store.open(tmp_path / "m.db") as daemon:  # open throughout: nobody is the last to close
        assert cli("--db", "m.db", "import", "m.jsonl").exit_code == 0
        grown = wal.stat().st_size
        for minutes in range(2):  # the daemon's next writes: the first copies the WAL back, the second starts it over
            daemon.sources.set_next_poll("demo", "demo", utcnow() + timedelta(minutes=minutes))
        assert grown > 8_000_000 and wal.stat().st_size <= 4 * 1024 * 1024, f"{grown:,} bytes, then {wal.stat().st_size:,}"
