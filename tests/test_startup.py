"""Start-up: what commands import, the schema stamp, lazily loaded commands and config checks."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import record, write_jsonl

from monitor.cli import COMMAND_MODULES
from monitor.storage import Store
from monitor.storage.migrations import MIGRATION_SETS
from monitor.storage.schema import SCHEMA_STAMP, fingerprint

PLATFORM_CLIENTS = {"tweepy", "praw", "prawcore", "requests", "feedparser"}

IMPORTED = """
import json, sys
from monitor.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    sys.stdout.flush()
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*args: str, cwd: Path) -> set[str]:
    """The modules a CLI command has imported when it finishes (run in its own process)."""
    done = subprocess.run([sys.executable, "-c", IMPORTED, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_readers_import_no_plugin_machinery_nor_heavy_libraries(write_config, tmp_path):
    config = write_config()
    Store.open(tmp_path / "monitor.db").close()
    negatives = imported_by("--config", str(config), "negatives", "--format", "json", cwd=tmp_path)
    summary = imported_by("--config", str(config), "summary", "--by", "day", "--format", "json", cwd=tmp_path)
    for modules in (negatives, summary):
        assert not modules & {"sqlite_utils", "numpy", "vaderSentiment", "py3langid", "importlib.metadata",
                              "logging", "tabulate", *PLATFORM_CLIENTS}
    assert not negatives & {"monitor.cli.sources", "monitor.cli.kpi", "connectors.base", "sentiment.base"}


def test_checking_plain_addresses_imports_no_email_package(write_config, tmp_path):
    config = write_config('[digest]\nrecipients = ["leads@example.com"]\n'
                          '[smtp]\nhost = "127.0.0.1"\nsender = "monitor@example.com"\n')
    Store.open(tmp_path / "monitor.db").close()
    assert "email.headerregistry" not in imported_by("--config", str(config), "negatives", cwd=tmp_path)


def test_import_and_status_import_no_platform_client(write_config, tmp_path):
    config = write_config('[[sources]]\nname = "x-acme"\nplatform = "x"\nbrand = "Acme"\nbearer_token = "t"\n')
    data = write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is down again")])
    assert not imported_by("--config", str(config), "import", str(data), cwd=tmp_path) & PLATFORM_CLIENTS
    assert not imported_by("--config", str(config), "status", cwd=tmp_path) & PLATFORM_CLIENTS


def test_logging_set_up_before_the_first_import_of_logging_still_redacts(tmp_path):
    script = (
        "import sys\nfrom monitor import logs\nlogs.configure('WARNING')\nassert 'logging' not in sys.modules\n"
        "logs.set_secrets(['s3cr3t'])\nimport logging\n"
        "logging.getLogger('x').warning('token s3cr3t, Authorization: Bearer abc')\n"
        "logging.getLogger('x').info('not shown')\n"
    )
    err = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stderr
    assert "WARNING x: token ***, Authorization: ***" in err and "s3cr3t" not in err and "not shown" not in err


def test_schema_stamp_names_every_migration_step():
    # After adding a migration step, set SCHEMA_STAMP in monitor/storage/schema.py to this value.
    assert SCHEMA_STAMP == fingerprint(MIGRATION_SETS)


def test_a_database_migrated_before_the_stamp_is_checked_once_then_stamped(tmp_path):
    db = tmp_path / "old.db"
    Store.open(db).close()
    with Store.open(db) as store:
        store.conn.execute("PRAGMA user_version = 0")  # as left by a version without the stamp
    with Store.open(db) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_STAMP
        assert store.pending_migrations() == []


def test_every_command_is_listed_with_its_module():
    for module in set(COMMAND_MODULES.values()):
        names = {command.name for command in importlib.import_module(f"monitor.cli.{module}").COMMANDS}
        assert names == {name for name, where in COMMAND_MODULES.items() if where == module}, module


def test_source_options_are_checked_by_the_commands_that_use_sources(cli, write_config, tmp_path):
    config = write_config('[[sources]]\nname = "replay"\nplatform = "jsonl"\npathh = "m.jsonl"\n')
    Store.open(tmp_path / "monitor.db").close()
    assert cli("--config", config, "negatives", "--format", "json").exit_code == 0
    for command in (["status"], ["poll"], ["init"]):
        result = cli("--config", config, *command)
        assert result.exit_code == 1
        assert '[[sources]] #1 ("replay"): unknown key "pathh" (did you mean "path"?)' in result.output


@pytest.mark.parametrize("text", ["[sentiment]\nclassifier = 'nope'\n", "[sentiment]\nnegative_threshold = 0.9\n"])
def test_classifier_settings_are_checked_by_the_commands_that_classify(cli, write_config, tmp_path, text):
    config = write_config(text)
    data = write_jsonl(tmp_path / "m.jsonl", [record("1", "acme")])
    result = cli("--config", config, "import", data)
    assert result.exit_code == 1 and "[sentiment]" in result.output and "Traceback" not in result.output
