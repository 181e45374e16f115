"""Manual labels, re-classification and the audit trail of both."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timezone

import pytest

from monitor import ingest
from monitor.config import parse
from monitor.storage import Store
from monitor.storage.labels import Rescored
from monitor.storage.mentions import MentionFilter
from tests.factories import record, write_jsonl

# Written for these tests: the stock classifier calls the first positive ("united", "help", "thanks").
COMPLAINT = "@united please help, my bag is lost, thanks"
PRAISE = "acme fixed it in five minutes, brilliant"


@pytest.fixture
def db(cli, write_config, tmp_path):
    """A database with three imported mentions; returns (config path, cli)."""
    path = write_config('[[brands]]\nname = "United"\nhandles = ["@united"]\n')
    records = [record("1", COMPLAINT), record("2", PRAISE), record("1", "acme is fine", platform="reddit")]
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", records))
    return path


def show(cli, path, *args):
    return {(r["platform"], r["id"]): r for r in json.loads(cli("--config", path, "mentions", "--format", "json", *args).stdout)}


def test_override_is_the_effective_label_everywhere(cli, db):
    out = json.loads(cli("--config", db, "label", "x:2", "negative", "--note", "sarcasm", "--by", "sam",
                         "--format", "json").stdout)
    assert (out["label"], out["model_label"], out["label_override"], out["override_by"]) == (
        "negative", "positive", "negative", "sam")
    row = show(cli, db)[("x", "2")]
    assert (row["label"], row["model_label"], row["override_note"]) == ("negative", "positive", "sarcasm")
    assert -1 <= row["compound"] <= 1 and row["classifier"].startswith("vader/")
    assert ("x", "2") in {(r["platform"], r["id"]) for r in json.loads(cli("--config", db, "negatives", "--format", "json").stdout)}
    total = json.loads(cli("--config", db, "summary", "--format", "json").stdout)["total"]
    assert total["negative"] == 2 and total["positive"] == 0
    assert "negative*" in cli("--config", db, "mentions").stdout  # a person's label is marked


def test_clear_restores_the_model_label_and_history_records_both(cli, db):
    cli("--config", db, "label", "x:2", "neutral")
    cli("--config", db, "label", "2", "--platform", "x", "--clear", "--note", "my mistake")
    assert show(cli, db)[("x", "2")]["label"] == "positive"
    history = json.loads(cli("--config", db, "label", "x:2", "--history", "--format", "json").stdout)
    assert [(h["kind"], h["label_before"], h["label_after"]) for h in history] == [
        ("override", "positive", "neutral"), ("clear", "neutral", "positive")]
    assert history[1]["note"] == "my mistake"
    # Cleared again, it has no person's label: nothing changes and nothing is recorded.
    again = cli("--config", db, "label", "x:2", "--clear")
    assert again.exit_code == 0 and "x:2 has no manual label: nothing to clear" in again.stderr
    assert len(json.loads(cli("--config", db, "label", "x:2", "--history", "--format", "json").stdout)) == 2


def test_label_and_history_csv_carry_every_column_json_has(cli, db):
    state = json.loads(cli("--config", db, "label", "x:1", "negative", "--note", "sure", "--format", "json").stdout)
    cli("--config", db, "reclassify", "--classifier", "vader-stock")  # its model label turns positive
    (row,) = csv.DictReader(io.StringIO(cli("--config", db, "label", "x:1", "neutral", "--format", "csv").stdout))
    assert list(row) == list(state)
    assert (row["classifier"], row["model_label"], row["override_note"]) == ("vader-stock/vaderSentiment-3.3.2", "positive", "")
    history = json.loads(cli("--config", db, "label", "x:1", "--history", "--format", "json").stdout)
    rows = list(csv.DictReader(io.StringIO(cli("--config", db, "label", "x:1", "--history", "--format", "csv").stdout)))
    assert [list(r) for r in rows] == [list(h) for h in history]
    assert [(r["kind"], r["model_label_before"], r["classifier_before"].split("/")[0]) for r in rows] == [
        ("override", "negative", "vader"), ("reclassify", "negative", "vader"), ("override", "positive", "vader-stock")]
    empty = cli("--config", db, "label", "x:2", "--history", "--format", "csv").stdout
    assert empty.splitlines() == [",".join(history[0])]  # the header alone


def test_ids_are_addressed_per_platform(cli, db):
    assert "ambiguous: " in cli("--config", db, "label", "1", "neutral").output  # x:1 and reddit:1
    assert "no stored mention x:9" in cli("--config", db, "label", "x:9", "neutral").output
    cli("--config", db, "label", "reddit:1", "negative")
    rows = show(cli, db)
    assert rows[("reddit", "1")]["label"] == "negative" and rows[("x", "1")]["label_override"] is None
    missing = cli("--config", db, "label", "x:1").output
    # the error names a LABEL: the usage line above it named none ("MENTION [positive|neutral|negative]")
    assert "Usage: main label [OPTIONS] MENTION [LABEL]" in missing and "give a LABEL, or --clear, or --history" in missing
    assert "LABEL is positive, neutral or negative." in " ".join(cli("label", "--help").output.split())
    # Labels are words, in any case, as everywhere else (brands, platforms, eval's labels).
    assert cli("--config", db, "label", "x:1", "Negative").exit_code == 0
    assert [r["id"] for r in json.loads(cli("--config", db, "mentions", "--label", "NEGATIVE", "--platform", "x",
                                            "--format", "json").stdout)] == ["1"]


def test_a_label_with_clear_or_history_is_a_conflict_not_a_missing_argument(cli, db):
    for args, message in [
        (("negative", "--clear"), "give either a LABEL or --clear, not both"),
        (("negative", "--history"), "give either a LABEL or --history, not both"),
        (("--clear", "--history"), "give either --clear or --history, not both"),
        (("negative", "--clear", "--history"), "give only one of a LABEL, --clear, --history"),
    ]:
        result = cli("--config", db, "label", "x:1", *args)
        assert result.exit_code == 2 and message in result.output
    assert show(cli, db)[("x", "1")]["label_override"] is None  # nothing was changed


def test_reclassify_rescores_keeps_overrides_and_records_changes(cli, db):
    cli("--config", db, "label", "x:2", "negative")
    before = show(cli, db)
    assert before[("x", "1")]["label"] == "negative"
    out = json.loads(cli("--config", db, "reclassify", "--classifier", "vader-stock", "--format", "json").stdout)
    assert out["scanned"] == 3 and out["classifier"] == "vader-stock/vaderSentiment-3.3.2"
    after = show(cli, db)
    assert after[("x", "1")]["label"] == "positive"  # stock VADER reads "united", "please", "thanks"
    assert after[("x", "2")]["label"] == "negative" and after[("x", "2")]["model_label"] == "positive"
    assert all(r["classifier"].startswith("vader-stock/") for r in after.values())
    history = json.loads(cli("--config", db, "label", "x:1", "--history", "--format", "json").stdout)
    assert [(h["kind"], h["model_label_before"], h["model_label_after"]) for h in history] == [
        ("reclassify", "negative", "positive")]
    # back to the configured classifier: the same labels as a fresh import
    again = json.loads(cli("--config", db, "reclassify", "--format", "json").stdout)
    assert again["labels_changed"] >= 1
    assert {k: (r["label"], r["compound"]) for k, r in show(cli, db).items()} == {
        k: (r["label"], r["compound"]) for k, r in before.items()}


def test_a_dry_run_counts_what_a_reclassify_would_change_and_writes_nothing(cli, db):
    cli("--config", db, "label", "x:1", "neutral")  # a person's label on a mention whose model label changes
    before = show(cli, db)
    history = json.loads(cli("--config", db, "label", "x:1", "--history", "--format", "json").stdout)
    dry = cli("--config", db, "reclassify", "--classifier", "vader-stock", "--dry-run", "--format", "json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["dry_run"] is True
    assert show(cli, db) == before
    assert json.loads(cli("--config", db, "label", "x:1", "--history", "--format", "json").stdout) == history
    real = json.loads(cli("--config", db, "reclassify", "--classifier", "vader-stock", "--format", "json").stdout)
    assert {**json.loads(dry.stdout), "dry_run": False} == real  # the same counts: x:1 and reddit:1 change
    assert (real["labels_changed"], real["overridden"]) == (2, 1)
    assert "dry run: nothing was written" in cli("--config", db, "reclassify", "--dry-run").stderr


def test_reclassify_since_only_touches_recent_mentions(cli, write_config, tmp_path):
    path = write_config()
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", [
        record("old", "acme is awful", hours_ago=24 * 40), record("new", "acme is awful", hours_ago=2)]))
    out = json.loads(cli("--config", path, "reclassify", "--since", "30d", "--classifier", "vader-stock",
                         "--format", "json").stdout)
    assert out["scanned"] == 1
    rows = show(cli, path, "--since", "60d")
    assert rows[("x", "new")]["classifier"].startswith("vader-stock/")
    assert rows[("x", "old")]["classifier"].startswith("vader/")


def test_reclassify_walks_every_batch(fresh_store, monkeypatch):
    monkeypatch.setattr(ingest, "RESCORE_BATCH", 7)
    config = parse("", None)
    pipeline = ingest.Pipeline(config)
    from tests.factories import mention

    mentions = [mention(str(i), f"acme is {'awful' if i % 2 else 'lovely'} {i}") for i in range(30)]
    scored, _ = pipeline.score(mentions, source="t")
    fresh_store.mentions.upsert(scored, fetched_at=mentions[0].created_at)
    stock = ingest.Pipeline(config, ingest.build_classifier(config, "vader-stock"))
    seen = []
    result = ingest.reclassify(fresh_store, stock, progress=seen.append)
    assert (result.scanned, seen) == (30, [7, 7, 7, 7, 2])
    assert fresh_store.mentions.count(MentionFilter(limit=None)) == 30
    rows = fresh_store.mentions.query(MentionFilter(limit=None))
    assert all(r["classifier"].startswith("vader-stock/") for r in rows)


TEXTS = [
    "acme lost my parcel again, awful service",
    "Acme fixed it in five minutes, brilliant",
    "acme: is the outage over?",
    "Acme ha cancelado mi pedido sin avisar, muy mal servicio",  # untagged: the language is detected
    "acme is not bad at all",
]


def _stored(path, count: int) -> Store:
    """A store of ``count`` mentions of TEXTS (every fifth one untagged), some overridden."""
    config = parse("", None)
    pipeline = ingest.Pipeline(config)
    from tests.factories import mention

    store = Store.open(path)
    mentions = [mention(str(i), f"{TEXTS[i % len(TEXTS)]} #{i}", lang=None if i % 5 == 3 else "en")
                for i in range(count)]
    scored, _ = pipeline.score(mentions, source="t")
    store.mentions.upsert(scored, fetched_at=mentions[0].created_at)
    for i in range(0, count, 9):
        store.labels.override("x", str(i), "neutral", at=mentions[0].created_at)
    return store


def test_reclassify_by_worker_processes_stores_what_one_process_stores(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "RESCORE_BATCH", 40)  # many batches, several in flight
    config = parse("", None)
    results, rows, events = {}, {}, {}
    for workers in (1, 2):
        store = _stored(tmp_path / f"w{workers}.db", 500)
        stock = ingest.Pipeline(config, ingest.build_classifier(config, "vader-stock"))
        seen: list[int] = []
        results[workers] = ingest.reclassify(store, stock, progress=seen.append, workers=workers).as_dict()
        assert sum(seen) == 500 and max(seen) == 40
        rows[workers] = store.conn.execute(
            "SELECT platform, id, label, model_label, label_override, compound, classifier, lang, lang_source"
            " FROM mentions ORDER BY rowid").fetchall()
        events[workers] = store.conn.execute(
            "SELECT platform, mention_id, kind, label_before, label_after, model_label_before, model_label_after,"
            " compound_before, compound_after FROM label_events ORDER BY id").fetchall()
        store.close()
    assert results[1] == results[2] and results[2]["labels_changed"] > 50 and results[2]["overridden"] > 5
    assert rows[1] == rows[2] and events[1] == events[2]
    assert {r[7] for r in rows[2]} >= {"en", "es"}  # the language decision made in the workers too


def test_an_override_set_while_a_batch_is_rescored_stays_the_label(fresh_store):
    config = parse("", None)
    from tests.factories import mention

    (scored,), _ = ingest.Pipeline(config).score([mention("1", "acme is awful")], source="t")
    fresh_store.mentions.upsert([scored], fetched_at=scored.mention.created_at)
    rows = fresh_store.labels.batch_to_rescore(None, None, 10)
    fresh_store.labels.override("x", "1", "positive", at=scored.mention.created_at)  # by `label`, meanwhile
    new = Rescored("x", "1", "en", "platform", -0.3, "neutral", "other/1")
    counts = fresh_store.labels.rescore(rows, [new], at=scored.mention.created_at)
    assert (counts.updated, counts.labels_changed, counts.overridden) == (1, 1, 1)
    (row,) = fresh_store.mentions.query(MentionFilter(limit=None))
    assert (row["label"], row["model_label"], row["label_override"]) == ("positive", "neutral", "positive")
    event = fresh_store.conn.execute(
        "SELECT label_before, label_after, model_label_after FROM label_events WHERE kind = 'reclassify'").fetchone()
    assert tuple(event) == ("positive", "positive", "neutral")  # the labels as they were at the write


def test_reclassify_workers_option(cli, db, monkeypatch):
    from monitor import backfill

    monkeypatch.setattr(backfill, "PARALLEL_MIN_MENTIONS", 2)
    outs = [json.loads(cli("--config", db, "reclassify", "--classifier", "vader-stock", "--workers", n,
                           "--format", "json").stdout) for n in ("2", "1")]
    assert outs[0]["scanned"] == 3 and outs[0]["labels_changed"] >= 1
    assert outs[1]["updated"] == 0  # the second run found the scores the workers stored
    result = cli("--config", db, "reclassify", "--workers", "0")
    assert result.exit_code == 2 and "--workers" in result.output


@pytest.mark.parametrize(("signame", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_stopped_reclassify_says_what_it_stored_and_a_rerun_finishes(cli, db, monkeypatch, signame, code):
    import os
    import signal

    from monitor.storage.labels import LabelStore

    monkeypatch.setattr(ingest, "RESCORE_BATCH", 1)  # three batches
    original = LabelStore.rescore
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # while the second batch is stored: taken once it is
            os.kill(os.getpid(), getattr(signal, signame))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LabelStore, "rescore", interrupted)
    outside = signal.signal(signal.SIGTERM, lambda *_: None)  # a SIGTERM the command does not take kills no test run
    try:
        result = cli("--config", db, "reclassify", "--classifier", "vader-stock", "--format", "json")
    finally:
        signal.signal(signal.SIGTERM, outside)
    assert result.exit_code == code and result.stdout == "" and "Aborted" not in result.output
    assert result.stderr.strip() == (
        "Interrupted after re-scoring 2 of 3 mentions (2 updated, 1 labels changed), in whole batches; run the"
        " same reclassify again to finish: mentions already re-scored are not changed again.")
    assert sorted(r["classifier"].split("/")[0] for r in show(cli, db).values()) == ["vader", "vader-stock", "vader-stock"]
    monkeypatch.setattr(LabelStore, "rescore", original)
    again = json.loads(cli("--config", db, "reclassify", "--classifier", "vader-stock", "--format", "json").stdout)
    assert (again["scanned"], again["updated"]) == (3, 1)


def test_rescoring_reads_by_index(fresh_store):
    statements = []
    fresh_store.conn.set_trace_callback(statements.append)  # the SQL as run, values filled in
    fresh_store.labels.batch_to_rescore(datetime(2026, 1, 1, tzinfo=timezone.utc), ("2026-01-02T00:00:00Z", 5), 1000)
    fresh_store.conn.set_trace_callback(None)
    (select,) = [s for s in statements if s.startswith("SELECT")]
    plan = " ".join(str(r[-1]) for r in fresh_store.conn.execute(f"EXPLAIN QUERY PLAN {select}"))
    assert "USING INDEX mentions_created" in plan or "USING COVERING INDEX mentions_created" in plan, plan


def test_migration_keeps_existing_labels_as_model_labels(tmp_path):
    from monitor.storage import migrations

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    migrations.core.apply(db)  # a database from before this migration
    db["mentions"].insert({"platform": "x", "id": "1", "text": "t", "created_at": "2026-01-01T00:00:00Z",
                           "fetched_at": "2026-01-01T00:00:00Z", "label": "negative", "compound": -0.5})
    conn.close()
    with Store.open(path) as store:
        (row,) = store.mentions.query(MentionFilter(limit=None))
        assert (row["label"], row["model_label"], row["label_override"]) == ("negative", "negative", None)
        assert store.pending_migrations() == []


def test_a_stopped_reclassify_ends_its_worker_processes_before_it_reports(tmp_path, monkeypatch):
    # The workers were left to the garbage collector: it ended them whenever, in whichever
    # thread, and Ctrl-C printed "Exception ignored in: <generator object classify_rows ...>
    # RuntimeError: cannot join current thread" after the command's own message.
    import multiprocessing

    monkeypatch.setattr(ingest, "RESCORE_BATCH", 40)
    store = _stored(tmp_path / "m.db", 500)
    stock = ingest.Pipeline(parse("", None), ingest.build_classifier(parse("", None), "vader-stock"))

    def stop(_count):
        raise KeyboardInterrupt

    with pytest.raises(ingest.ReclassifyInterrupted) as caught:
        ingest.reclassify(store, stock, progress=stop, workers=2)
    assert caught.value.result.scanned == 40  # the first batch, stored whole
    assert multiprocessing.active_children() == []  # while the exception (and its frames) is still held
    store.close()


def test_a_batch_whose_commit_fails_is_not_counted_as_re_scored(cli, db, monkeypatch):
    # A Ctrl-C held while a batch was written, whose commit then failed (a full disk), was
    # reported with that batch counted as re-scored.
    import os
    import signal

    from monitor import storage
    from monitor.storage.labels import LabelStore
    from tests.factories import FullAtCommit

    monkeypatch.setattr(ingest, "RESCORE_BATCH", 1)  # three batches
    original_open, original_rescore = storage.Store.open.__func__, LabelStore.rescore

    def opened(cls, *args, **kwargs):
        store = original_open(cls, *args, **kwargs)
        store.conn = FullAtCommit(store.conn, 2)  # the second batch's commit
        return store

    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # held while the batch is written
        return original_rescore(self, *args, **kwargs)

    monkeypatch.setattr(storage.Store, "open", classmethod(opened))
    monkeypatch.setattr(LabelStore, "rescore", interrupted)
    result = cli("--config", db, "reclassify", "--classifier", "vader-stock")
    assert result.exit_code == 130
    assert result.stderr.strip().startswith("Interrupted after re-scoring 1 of 3 mentions (1 updated,")
    monkeypatch.setattr(storage.Store, "open", classmethod(original_open))
    assert sorted(r["classifier"].split("/")[0] for r in show(cli, db).values()) == ["vader", "vader", "vader-stock"]
