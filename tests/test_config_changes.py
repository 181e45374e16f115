"""A team changing its config over months, on a database that already holds data:
brands renamed or removed, sources renamed, classifiers changed."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from factories import record, write_jsonl

from monitor.storage import Store

RENAMED = """
[monitor]
database = "{db}"
timezone = "UTC"

[[brands]]
name = "Acme Corp"
keywords = ["acme", "acme mobile"]
"""


@pytest.fixture
def renamed(cli, write_config, tmp_path):
    """Mentions stored under "Acme", then the config's brand renamed "Acme Corp" (and Globex removed)."""
    path = write_config()
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is terrible", hours_ago=2),
                                       record("2", "globex is awful", hours_ago=3)])
    assert cli("--config", path, "import", tmp_path / "m.jsonl").exit_code == 0
    path.write_text(RENAMED.format(db=(tmp_path / "monitor.db").as_posix()), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["negatives"], ["mentions"], ["summary"], ["themes"]])
def test_a_brand_no_longer_configured_still_finds_its_stored_mentions(cli, renamed, command):
    result = cli("--config", renamed, *command, "--brand", "acme", "--format", "json")
    assert result.exit_code == 0, result.output
    assert 'note: no [[brands]] entry is named "Acme" (renamed or removed?): its stored mentions' in result.stderr
    out = json.loads(result.stdout)
    if command == ["summary"]:
        assert out["brand"] == "Acme" and out["total"]["negative"] == 1
    elif command == ["themes"]:
        assert [(b["brand"], b["negatives"]) for b in out["brands"]] == [("Acme", 1)]
    else:
        assert [(m["id"], m["brand"]) for m in out] == [("1", "Acme")]
    # a name no brand had is still refused, with the configured brands
    wrong = cli("--config", renamed, *command, "--brand", "Initech")
    assert wrong.exit_code == 2
    assert 'no [[brands]] entry is named "Initech"; brands: Acme Corp' in wrong.output


def test_a_misspelt_brand_no_longer_configured_is_suggested_from_the_stored_ones(cli, renamed):
    # the brands the stored mentions carry are as reachable as the configured ones: a typo is
    # told which was meant (it was told only of "Acme Corp", as if Globex were gone)
    wrong = cli("--config", renamed, "negatives", "--brand", "globx")
    assert wrong.exit_code == 2
    assert ('no [[brands]] entry is named "globx" (did you mean "Globex"?); brands: Acme Corp;'
            " stored mentions also carry: Acme, Globex") in " ".join(wrong.output.split())


def test_a_database_from_before_the_brand_registry_finds_its_old_brands(cli, renamed, tmp_path):
    """The lookup reads the small table of stored brand names, never the mentions (a scan of
    every row: 20 s at 10 million); a database from before that table gets it filled."""
    with closing(sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)) as conn:
        conn.execute("DROP TABLE mention_brands")  # as an older version left it
        conn.execute("DELETE FROM _sqlite_migrations WHERE migration_set = 'sentiment-monitor'"
                     " AND name = 'm004_mention_brands'")
        conn.execute("PRAGMA user_version = 0")
    Store.open(tmp_path / "monitor.db").close()
    result = cli("--config", renamed, "negatives", "--brand", "GLOBEX", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [m["brand"] for m in json.loads(result.stdout)] == ["Globex"]
    with closing(sqlite3.connect(tmp_path / "monitor.db")) as conn:
        conn.execute("DELETE FROM mention_brands WHERE brand = 'Globex'")
        conn.commit()
    assert cli("--config", renamed, "negatives", "--brand", "Globex").exit_code == 2  # the table decides
    # a brand name stored by an import (or a poll: the same write) is in the table at once
    write_jsonl(tmp_path / "n.jsonl", [record("3", "acme broke it", hours_ago=1)])
    assert cli("--config", renamed, "import", tmp_path / "n.jsonl").exit_code == 0
    with closing(sqlite3.connect(tmp_path / "monitor.db")) as conn:
        assert {b for (b,) in conn.execute("SELECT brand FROM mention_brands")} == {"Acme", "Acme Corp"}


def test_import_and_alerts_still_take_only_configured_brands(cli, renamed, tmp_path):
    write_jsonl(tmp_path / "n.jsonl", [record("3", "acme again", hours_ago=1)])
    for command in (["import", tmp_path / "n.jsonl"], ["alerts", "test"]):
        result = cli("--config", renamed, *command, "--brand", "Acme")
        assert result.exit_code == 2
        assert 'no [[brands]] entry is named "Acme" (did you mean "Acme Corp"?)' in result.output


def test_a_replay_source_pointed_at_another_file_reads_it_from_its_start(cli, write_config, tmp_path):
    """A jsonl source's cursor counts records of its file: a new `path` (next month's export)
    must not skip as many records of the new file."""
    write_jsonl(tmp_path / "november.jsonl", [record(f"n{i}", f"acme november {i}") for i in range(3)])
    write_jsonl(tmp_path / "december.jsonl", [record(f"d{i}", f"acme december {i}") for i in range(4)])
    source = '[[sources]]\nname = "archive"\nplatform = "jsonl"\npath = "{}"\n'
    path = write_config(source.format((tmp_path / "november.jsonl").as_posix()))
    assert json.loads(cli("--config", path, "poll", "--format", "json").stdout)[0]["new"] == 3
    path = write_config(source.format((tmp_path / "december.jsonl").as_posix()))
    assert json.loads(cli("--config", path, "poll", "--format", "json").stdout)[0]["new"] == 4
    assert json.loads(cli("--config", path, "poll", "--format", "json").stdout)[0]["new"] == 0
    ids = {m["id"] for m in json.loads(cli("--config", path, "mentions", "--format", "json").stdout)}
    assert ids == {"n0", "n1", "n2", "d0", "d1", "d2", "d3"}
    # back to the first file: read again, as any changed query is; stored once all the same
    path = write_config(source.format((tmp_path / "november.jsonl").as_posix()))
    (back,) = json.loads(cli("--config", path, "poll", "--format", "json").stdout)
    assert (back["new"], back["duplicates"]) == (0, 3)
