"""Imports scored by worker processes: the same rows, errors and counts as one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import closed_at_end, record, write_jsonl

from monitor import backfill, ingest
from monitor.config import load
from monitor.errors import MonitorError
from monitor.storage import Store

TEXTS = [
    "@acmesupport my order is lost and nobody answers",
    "Globex support was wonderful today, thank you!",
    "an acme anvil cartoon marathon",  # excluded noise
    "acme: wifi is down again... 3 hours on hold",
    "Acme ha cancelado mi pedido sin avisar, muy mal servicio",  # untagged: the language is detected
    "great job acme, still no refund",
    "something unrelated",
]


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes even for a small file, and many ranges per file."""
    monkeypatch.setattr(backfill, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(backfill, "RANGE_BYTES", 4096)


def _records(count: int) -> list[dict]:
    out = []
    for i in range(count):
        extra = {"lang": "en"} if i % 4 else {}  # most platforms tag the language
        if i % 11 == 0:
            extra["brand"] = "Acme"
        out.append(record(f"r{i % 2900}", TEXTS[i % len(TEXTS)], hours_ago=i / 10,
                          platform=("x", "reddit", "mastodon")[i % 2900 % 3], likes=i % 5, **extra))
    return out  # ids repeat after 2,900: duplicates in the file


def _rows(db: Path) -> list[tuple]:
    with Store.open(db) as store:
        return store.conn.execute(
            "SELECT platform, id, source, brand, text, author, url, created_at, lang, lang_source, likes, compound,"
            " label, model_label, classifier, raw FROM mentions ORDER BY rowid"
        ).fetchall()


def test_workers_store_exactly_what_one_process_stores(write_config, tmp_path, small_ranges):
    config = load(write_config())
    data = write_jsonl(tmp_path / "m.jsonl", _records(3000))
    results = {}
    for workers in (1, 2):
        check = ingest.check_file(data, workers=workers)
        with Store.open(tmp_path / f"w{workers}.db") as store:
            results[workers] = ingest.import_file(store, ingest.Pipeline(config), check, workers=workers).as_dict()
    assert results[1] == results[2]
    assert results[2]["records"] == 3000 and results[2]["duplicates"] > 50 and results[2]["excluded"] > 0
    one, two = _rows(tmp_path / "w1.db"), _rows(tmp_path / "w2.db")
    assert one == two  # same labels, scores, languages, brands and payloads, in file order
    assert {row[12] for row in two} >= {"negative", "positive", "unsupported"}
    assert {row[9] for row in two} == {"platform", "detected", None}  # where each language came from
    assert json.loads(two[0][-1])["text"] == TEXTS[0]


def test_an_imported_record_is_stored_as_a_poll_of_the_same_file_stores_it(write_config, tmp_path):
    odd = {**record("1", "acme was great"), "score": float("nan"), "views": 2**70, "tags": ["ü", 1.5]}
    data = tmp_path / "m.jsonl"
    data.write_text(json.dumps(odd) + "\n", encoding="utf-8")  # NaN as json writes it
    config = load(write_config(f'[[sources]]\nname = "import"\nplatform = "jsonl"\npath = "{data}"\n'))
    with Store.open(tmp_path / "imported.db") as store:
        ingest.import_file(store, ingest.Pipeline(config), ingest.check_file(data), workers=1)
    with Store.open(tmp_path / "polled.db") as store:
        (result,) = ingest.poll(store, config)
        assert result.new == 1
    imported, polled = _rows(tmp_path / "imported.db"), _rows(tmp_path / "polled.db")
    assert imported == polled
    payload = json.loads(imported[0][-1])
    assert (payload["score"], payload["views"], payload["tags"]) == (None, 2**70, ["ü", 1.5])  # valid JSON


def test_workers_check_the_file_like_one_process(write_config, tmp_path, small_ranges):
    lines = [json.dumps(r) for r in _records(400)]
    lines[150] = '{"platform": "x", "id": "bad",'
    lines[151] = ""  # blank lines are skipped but counted
    lines[300] = json.dumps({**_records(1)[0], "likes": "many"})
    data = tmp_path / "m.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for workers in (1, 2):
        with pytest.raises(MonitorError, match=r"m\.jsonl:151: invalid JSON .*nothing was imported"):
            ingest.check_file(data, workers=workers)
    one, two = (ingest.check_file(data, skip_bad=True, workers=w) for w in (1, 2))
    assert (one.records, one.bad) == (two.records, two.bad) == (397, [
        f"{data}:151: invalid JSON (Expecting property name enclosed in double quotes at column 31)",
        f"{data}:301: \"likes\" must be a whole number, found 'many'",
    ])


def test_workers_check_and_skip_records_of_unknown_brands_like_one_process(write_config, tmp_path, small_ranges):
    records = _records(400)
    records[120]["brand"] = "Initech"
    records[250]["brand"] = "GLOBEX"  # any case: stored as configured
    data = write_jsonl(tmp_path / "m.jsonl", records)
    config = load(write_config())
    brands = [b.name for b in config.brands]
    for workers in (1, 2):
        with pytest.raises(MonitorError, match=r'm\.jsonl:121: brand "Initech" is not a configured \[\[brands\]\] name'):
            ingest.check_file(data, workers=workers, brands=brands)
    results = {}
    for workers in (1, 2):
        check = ingest.check_file(data, skip_bad=True, workers=workers, brands=brands)
        assert (check.records, len(check.bad)) == (399, 1)
        with Store.open(tmp_path / f"w{workers}.db") as store:
            results[workers] = ingest.import_file(store, ingest.Pipeline(config), check, workers=workers).as_dict()
    assert results[1] == results[2] and results[2]["records"] == 399 and results[2]["skipped"] == 1
    one, two = _rows(tmp_path / "w1.db"), _rows(tmp_path / "w2.db")
    assert one == two and "Initech" not in {row[3] for row in two}
    assert next(row[3] for row in two if row[1] == records[250]["id"] and row[0] == records[250]["platform"]) == "Globex"


@pytest.mark.parametrize("workers", [1, 2])
def test_the_import_applies_the_brand_rule_its_check_applied(write_config, tmp_path, small_ranges, workers):
    records = _records(400)
    records[120]["brand"] = "Initech"
    data = write_jsonl(tmp_path / "m.jsonl", records)
    config = load(write_config())
    with Store.open(tmp_path / "m.db") as store:
        # A check without brands does not look at records' brands: the import stores them all.
        unchecked = ingest.check_file(data, workers=workers)
        result = ingest.import_file(store, ingest.Pipeline(config), unchecked, workers=workers)
        assert (result.records, result.new + result.excluded, result.skipped) == (400, 400, [])
        assert "Initech" in {row[3] for row in _rows(tmp_path / "m.db")}


def test_workers_report_text_that_is_not_utf8(tmp_path, small_ranges):
    data = tmp_path / "m.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in _records(200)).encode()
    data.write_bytes(good + json.dumps(record("x", "caf\u00e9"), ensure_ascii=False).encode("cp1252") + b"\n")
    with pytest.raises(MonitorError, match=r"m\.jsonl:201: not UTF-8 text"):
        ingest.check_file(data, workers=2)


def test_upsert_rows_counts_new_and_duplicates(fresh_store):
    def row(i: str, likes: int) -> tuple:
        return ("x", i, "t", "Acme", "hi", None, None, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "en",
                likes, None, None, None, 0.0, "neutral", "test/1", "{}", "neutral", "platform")

    first = fresh_store.mentions.upsert_rows([row("1", 1), row("2", 1), row("1", 2)])
    again = fresh_store.mentions.upsert_rows([row("2", 5), row("3", 1)])
    assert (first.new, first.duplicates, again.new, again.duplicates) == (2, 1, 1, 1)
    assert fresh_store.conn.execute("SELECT id, likes FROM mentions ORDER BY id").fetchall() == [
        ("1", 2), ("2", 5), ("3", 1)]  # a repeated key: its first row, engagement refreshed by the later


def test_fields_reads_plain_and_unusual_records_by_the_same_rules():
    from datetime import datetime, timezone

    from connectors.jsonl import InvalidRecord, fields

    base = {"platform": "x", "id": "1", "text": "hi", "created_at": "2026-01-31T08:00:00Z"}
    plain = fields({**base, "author": "", "url": None, "lang": "en", "likes": 3, "brand": ""})
    assert (plain.author, plain.url, plain.lang, plain.likes, plain.brand, plain.created_text) == (
        None, None, "en", 3, None, "2026-01-31T08:00:00Z")
    assert plain.created_at == datetime(2026, 1, 31, 8, tzinfo=timezone.utc) and plain.raw["id"] == "1"
    # Values the plain reading does not take are read (or refused) by the general rules.
    unusual = fields({**base, "id": 7, "likes": 4.0, "replies": "12", "created_at": "2026-01-31T09:00:00+01:00",
                      "raw": {"tweet": 1}})
    assert (unusual.id, unusual.likes, unusual.replies, unusual.created_text, unusual.raw) == (
        "7", 4, 12, None, {"tweet": 1})
    assert unusual.created_at == plain.created_at
    assert fields({**base, "raw": [1]}).raw["raw"] == [1]  # a raw that is no object: the record is the payload
    for bad, reason in [({"likes": True}, '"likes" must be a whole number'), ({"author": ["a"]}, '"author" must be text'),
                        ({"created_at": "2026-13-01T00:00:00Z"}, "is not an ISO 8601 time"), ({"id": ""}, 'missing "id"')]:
        with pytest.raises(InvalidRecord, match=reason):
            fields({**base, **bad})


@pytest.mark.parametrize("workers", [1, 2])
def test_an_import_leaves_the_garbage_collector_as_it_found_it(write_config, tmp_path, small_ranges, workers):
    import gc

    config = load(write_config())
    data = write_jsonl(tmp_path / "m.jsonl", _records(300))
    assert gc.isenabled()
    with Store.open(tmp_path / "m.db") as store:
        check = ingest.check_file(data, workers=workers)
        assert ingest.import_file(store, ingest.Pipeline(config), check, workers=workers).records == 300
        assert gc.isenabled()
        data.unlink()  # gone after its check: the import fails part-way
        with pytest.raises((MonitorError, OSError)):
            ingest.import_file(store, ingest.Pipeline(config), check, workers=workers)
        assert gc.isenabled()
        gc.disable()
        try:
            write_jsonl(data, _records(10))
            ingest.import_file(store, ingest.Pipeline(config), ingest.check_file(data, workers=1), workers=1)
            assert not gc.isenabled()  # paused by the caller: not switched on behind its back
        finally:
            gc.enable()


def test_ctrl_c_while_a_batch_is_stored_is_taken_once_it_is_stored_and_counted(fresh_store):
    import os
    import signal

    at = "2026-01-01T00:00:00Z"
    rows = [("x", str(i), "t", "Acme", "acme", None, None, at, at, "en", None, None, None, None, 0.0,
             "neutral", "c/1", "{}", "neutral", "platform") for i in range(25)]  # monitor.storage.mentions.COLUMNS

    def batches():
        yield rows[:10], 0, 0
        yield rows[10:20], 0, 0  # fills the second batch of 10: Ctrl-C arrives while it is written
        yield rows[20:], 0, 0

    upsert = fresh_store.mentions.upsert_rows

    def upsert_interrupted(batch):
        if batch[0][1] == "10":
            os.kill(os.getpid(), signal.SIGINT)  # delivered at once to this (the main) thread
        return upsert(batch)

    fresh_store.mentions.upsert_rows = upsert_interrupted
    with pytest.raises(backfill.Interrupted) as caught:
        backfill.write_rows(fresh_store, batches(), 10, None)
    assert (caught.value.written.new, caught.value.written.duplicates) == (20, 0)
    assert fresh_store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0] == 20
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_default_workers_are_no_more_than_cpus_tasks_or_the_cap(monkeypatch, tmp_path):
    monkeypatch.setattr(backfill.os, "cpu_count", lambda: 128)
    assert backfill.workers_to_rescore(10_000, None, 1000) == 10  # ten tasks: ten workers
    assert backfill.workers_to_rescore(10_000_000, None, 1000) == backfill.MAX_WORKERS == 64
    from monitor.cli import WORKERS

    assert WORKERS.max == backfill.MAX_WORKERS  # what --workers takes
    assert backfill.workers_to_rescore(9_999, None, 1000) == 1 and backfill.workers_to_rescore(50_000, 3, 1000) == 3
    data = tmp_path / "m.jsonl"
    data.write_bytes(b"{}\n" * ((backfill.PARALLEL_MIN_BYTES + 3 * backfill.RANGE_BYTES) // 3))
    assert backfill.workers_for(data, None, None) == 7  # 4 MB and 3 MB more: 7 ranges
    monkeypatch.setattr(backfill.os, "cpu_count", lambda: 2)
    assert backfill.workers_for(data, None, None) == 2


def test_a_database_locked_part_way_says_how_much_was_stored_and_a_rerun_finishes(write_config, tmp_path, monkeypatch):
    import sqlite3

    monkeypatch.setattr(ingest, "IMPORT_BATCH", 100)
    config = load(write_config())
    data = write_jsonl(tmp_path / "m.jsonl", _records(300))
    other = closed_at_end(sqlite3.connect(tmp_path / "m.db", isolation_level=None))
    with Store.open(tmp_path / "m.db") as store:
        store.conn.execute("PRAGMA busy_timeout = 50")  # not 30 s: the lock below is held for good
        check = ingest.check_file(data, workers=1)

        def lock_after_the_first_batch(n: int) -> None:
            stored = store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
            if stored and not other.in_transaction:
                other.execute("BEGIN IMMEDIATE")  # another process takes the write lock

        with pytest.raises(MonitorError) as failed:
            ingest.import_file(store, ingest.Pipeline(config), check, workers=1, progress=lock_after_the_first_batch)
        stored = store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
        assert 0 < stored < 300
        assert "m.db is locked: another process" in str(failed.value)
        assert f"{stored} mentions ({stored} new) were stored before, in whole batches: run the same import again" in str(failed.value)
        other.execute("ROLLBACK")
        again = ingest.import_file(store, ingest.Pipeline(config), check, workers=1)
        total = store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
        assert (again.new, again.duplicates) == (total - stored, stored) and total > stored


def test_a_disk_full_at_a_commit_counts_only_the_batches_stored_before(write_config, tmp_path, monkeypatch):
    # The batch whose commit failed was counted as stored: "30,000 mentions were stored
    # before" when 25,000 were.
    from factories import FullAtCommit

    monkeypatch.setattr(ingest, "IMPORT_BATCH", 100)
    config = load(write_config())
    data = write_jsonl(tmp_path / "m.jsonl", _records(500))
    with Store.open(tmp_path / "m.db") as store:
        check = ingest.check_file(data, workers=1)
        real, store.conn = store.conn, FullAtCommit(store.conn, 3)  # the third batch's commit
        with pytest.raises(MonitorError) as failed:
            ingest.import_file(store, ingest.Pipeline(config), check, workers=1)
        store.conn = real
        stored = store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
        assert stored == 200
        assert "m.db cannot grow: database or disk is full" in str(failed.value)
        assert "200 mentions (200 new) were stored before, in whole batches" in str(failed.value)


def test_a_stopped_import_ends_its_worker_processes_before_it_reports(write_config, tmp_path, small_ranges, monkeypatch):
    # As for reclassify: the scoring workers were left to the garbage collector after Ctrl-C.
    import multiprocessing

    monkeypatch.setattr(ingest, "IMPORT_BATCH", 100)
    config = load(write_config())
    data = write_jsonl(tmp_path / "m.jsonl", _records(2000))
    check = ingest.check_file(data, workers=2)

    seen = []

    def stop(count):
        seen.append(count)
        if sum(seen) > 300:  # a few batches stored
            raise KeyboardInterrupt

    with Store.open(tmp_path / "m.db") as store:
        with pytest.raises(backfill.Interrupted) as caught:
            ingest.import_file(store, ingest.Pipeline(config), check, progress=stop, workers=2)
        assert caught.value.written.new > 0
        assert multiprocessing.active_children() == []  # the exception (and its frames) still held
