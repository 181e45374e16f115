"""The language path: platform tag or detection, "unsupported" mentions kept out of ratios."""

from __future__ import annotations

import json
import pickle
import sqlite3
from contextlib import closing

import pytest

from monitor import ingest
from monitor.config import parse
from monitor.ingest import Pipeline
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter
from sentiment.language import LanguageGate, primary
from tests.factories import mention, record, write_jsonl

ENGLISH = frozenset({"en"})
# Written for these tests.
FRENCH = "Mon colis est encore perdu et personne ne répond au téléphone"
GERMAN = "Mein Paket ist schon wieder verloren gegangen, danke für nichts"
ENGLISH_NAMES = "Kowalski Nakamura Okonkwo Fitzgerald terrible delays"  # no function words


@pytest.mark.parametrize(("tag", "expected"), [
    ("en", "en"), ("en-GB", "en"), ("pt_BR", "pt"), ("FR", "fr"), ("und", None), ("qme", None), ("", None), (None, None),
])
def test_primary_language_of_a_platform_tag(tag, expected):
    assert primary(tag) == expected


def test_the_platform_tag_wins_over_detection():
    gate = LanguageGate(ENGLISH)
    assert gate.decide(FRENCH, "en-GB") == ("en-GB", True)
    assert gate.decide("my parcel is lost and nobody answers the phone", "fr") == ("fr", False)
    assert gate.decide(FRENCH, "und") == ("fr", False)  # a tag naming no language: detect


def test_detection_marks_confidently_foreign_texts_unsupported():
    gate = LanguageGate(ENGLISH)
    assert gate.decide(FRENCH) == ("fr", False)
    assert gate.decide(GERMAN) == ("de", False)
    assert gate.decide("my parcel is lost and nobody answers the phone")[1] is True


def test_short_or_ambiguous_texts_are_scored():
    gate = LanguageGate(ENGLISH)
    assert gate.decide("merci bien") == (None, True)  # too short to tell
    assert gate.decide(ENGLISH_NAMES)[1] is True


def test_detection_can_be_switched_off_and_any_language_classifiers_skip_it():
    assert LanguageGate(ENGLISH, detect=False).decide(FRENCH) == (None, True)
    assert LanguageGate(ENGLISH, detect=False).decide(FRENCH, "fr") == ("fr", False)
    assert LanguageGate(None).decide(FRENCH) == (None, True)
    assert LanguageGate(None).decide(FRENCH, "fr") == ("fr", True)


def test_gate_pickles():
    gate = pickle.loads(pickle.dumps(LanguageGate(ENGLISH, detect=False)))
    assert (gate.supported, gate.detect) == (ENGLISH, False)


def test_pipeline_stores_language_and_unsupported_label(fresh_store):
    pipeline = Pipeline(parse("", None))
    mentions = [
        mention("1", FRENCH),
        mention("2", "@acme my parcel is lost again, thanks for nothing", lang="en"),
        mention("3", "Pedido perdido otra vez", lang="es"),
    ]
    scored, _ = pipeline.score(mentions, source="test")
    fresh_store.mentions.upsert(scored, fetched_at=mentions[0].created_at)
    rows = {r["id"]: r for r in fresh_store.mentions.query(MentionFilter(limit=None))}
    assert (rows["1"]["lang"], rows["1"]["label"], rows["1"]["compound"]) == ("fr", "unsupported", None)
    assert (rows["2"]["lang"], rows["2"]["label"]) == ("en", "negative")
    assert (rows["3"]["lang"], rows["3"]["label"], rows["3"]["model_label"]) == ("es", "unsupported", "unsupported")
    assert [rows[i]["lang_source"] for i in "123"] == ["detected", "platform", "platform"]


def test_summary_counts_unsupported_apart_from_the_ratios(cli, write_config, tmp_path):
    path = write_config()
    records = [
        record("1", "acme is awful, my order is lost", lang="en"),
        record("2", "acme fixed it fast, brilliant", lang="en"),
        record("3", FRENCH + " acme", lang="fr"),
        record("4", GERMAN + " acme"),  # no tag: detected
    ]
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", records))
    total = json.loads(cli("--config", path, "summary", "--format", "json").stdout)["total"]
    assert (total["volume"], total["unsupported"], total["negative"], total["positive"]) == (4, 2, 1, 1)
    assert total["negative_ratio"] == 0.5 and total["unscored"] == 0
    table = cli("--config", path, "summary").stdout
    assert "unsupported" in table
    rows = json.loads(cli("--config", path, "mentions", "--label", "unsupported", "--format", "json").stdout)
    assert {(r["id"], r["lang"]) for r in rows} == {("3", "fr"), ("4", "de")}


def _by_id(cli, path):
    return {r["id"]: r for r in json.loads(cli("--config", path, "mentions", "--format", "json").stdout)}


def test_reclassify_decides_a_detected_language_again_and_keeps_the_platforms(cli, write_config, tmp_path):
    path = write_config()
    records = [
        record("1", GERMAN + " acme"),  # no tag: detected
        record("2", FRENCH + " acme", lang="fr"),
        record("3", "acme is awful, my order is lost", lang="en"),
        record("4", "acme you lost my parcel and the refund"),  # English function words: taken as English
    ]
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", records))
    cli("--config", path, "label", "x:1", "negative")  # a person's label: kept through all of it
    rows = _by_id(cli, path)
    assert {i: (r["lang"], r["lang_source"]) for i, r in rows.items()} == {
        "1": ("de", "detected"), "2": ("fr", "platform"), "3": ("en", "platform"), "4": ("en", "detected")}
    assert rows["1"]["model_label"] == "unsupported"

    write_config("[sentiment]\ndetect_language = false\n")
    out = json.loads(cli("--config", path, "reclassify", "--format", "json").stdout)
    assert out["updated"] == 2  # the two detected languages are no longer there
    rows = _by_id(cli, path)
    assert {i: (r["lang"], r["lang_source"]) for i, r in rows.items()} == {
        "1": (None, None), "2": ("fr", "platform"), "3": ("en", "platform"), "4": (None, None)}
    assert rows["1"]["model_label"] != "unsupported" and rows["1"]["compound"] is not None  # scored now
    assert rows["2"]["label"] == "unsupported"  # the platform said French: still not scored
    assert (rows["1"]["label"], rows["1"]["label_override"]) == ("negative", "negative")

    write_config()  # detection back on: the same decisions as the import made
    cli("--config", path, "reclassify")
    rows = _by_id(cli, path)
    assert {i: (r["lang"], r["lang_source"]) for i, r in rows.items()} == {
        "1": ("de", "detected"), "2": ("fr", "platform"), "3": ("en", "platform"), "4": ("en", "detected")}
    assert (rows["1"]["model_label"], rows["1"]["label"]) == ("unsupported", "negative")


@pytest.mark.parametrize("workers", [1, 2])
def test_reclassify_in_worker_processes_decides_detected_languages_again(fresh_store, workers):
    pipeline = Pipeline(parse("", None))
    mentions = [mention(str(i), f"{(GERMAN, FRENCH)[i % 2]} #{i}", lang=None if i % 3 else "fr") for i in range(12)]
    scored, _ = pipeline.score(mentions, source="test")
    fresh_store.mentions.upsert(scored, fetched_at=mentions[0].created_at)
    off = Pipeline(parse("[sentiment]\ndetect_language = false\n", None))
    result = ingest.reclassify(fresh_store, off, workers=workers)
    assert result.updated == 8  # the untagged ones
    rows = {r["id"]: r for r in fresh_store.mentions.query(MentionFilter(limit=None))}
    assert {i: (r["lang"], r["lang_source"], r["label"] == "unsupported") for i, r in rows.items()} == {
        str(i): ("fr", "platform", True) if i % 3 == 0 else (None, None, False) for i in range(12)}
    again = ingest.reclassify(fresh_store, pipeline, workers=workers)  # detection on again
    assert again.updated == 8
    assert {r["id"]: (r["lang"], r["lang_source"]) for r in fresh_store.mentions.query(MentionFilter(limit=None))} == {
        str(i): ("fr", "platform") if i % 3 == 0 else (("de", "fr")[i % 2], "detected") for i in range(12)}


def test_a_language_stored_before_its_source_was_is_taken_as_the_platforms(cli, write_config, tmp_path):
    path = write_config()
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", [record("1", GERMAN + " acme")]))
    with closing(sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)) as conn:
        # as an older version left it: no lang_source column
        conn.execute("ALTER TABLE mentions DROP COLUMN lang_source")
        conn.execute("DELETE FROM _sqlite_migrations WHERE migration_set = 'sentiment-monitor'"
                     " AND name = 'm003_lang_source'")
        conn.execute("PRAGMA user_version = 0")
    Store.open(tmp_path / "monitor.db").close()
    write_config("[sentiment]\ndetect_language = false\n")
    out = json.loads(cli("--config", path, "reclassify", "--format", "json").stdout)
    assert out["updated"] == 0  # unknown source: kept as if the platform gave it, as before
    row = _by_id(cli, path)["1"]
    assert (row["lang"], row["lang_source"], row["label"]) == ("de", None, "unsupported")
