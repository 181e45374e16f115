"""The environments the CLI runs in: locales whose stdout cannot write every character,
cron's bare environment, home-relative paths, read-only folders."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from factories import record, write_jsonl
from monitor.cli import main

TEXT = "café 😀 … ✓ bad"


def run_with_charset(charset: str, *args: str):
    """The CLI with a stdout in ``charset`` (strict, as Python makes it for that locale)."""
    return CliRunner(charset=charset).invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("charset", ["latin-1", "ascii"])
def test_json_and_csv_are_written_whole_in_utf8_whatever_the_locale(charset):
    result = run_with_charset(charset, "classify", "--format", "json", TEXT)
    assert result.exit_code == 0
    assert json.loads(result.stdout_bytes.decode("utf-8"))[0]["text"] == TEXT
    result = run_with_charset(charset, "classify", "--format", "csv", TEXT)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8"))))
    assert [row["text"] for row in rows] == [TEXT]


def test_a_latin1_stdout_shows_what_it_lacks_in_a_plain_form():
    result = run_with_charset("latin-1", "classify", TEXT)
    assert result.exit_code == 0
    assert "café ? ... ok bad" in result.stdout_bytes.decode("latin-1")  # é is latin-1's own
    result = run_with_charset("latin-1", "kpi", "show", "--help")  # help is printed before any command runs
    assert result.exit_code == 0 and "ok/x: meets/misses its target" in result.output


def test_an_ascii_stdout_is_written_in_utf8_as_click_writes_its_own_lines():
    result = run_with_charset("ascii", "classify", TEXT)
    assert result.exit_code == 0 and TEXT in result.stdout_bytes.decode("utf-8")


def test_the_c_locale_without_utf8_mode_as_a_real_process(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "PYTHONUTF8": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "classify", "--format", "json"], input=TEXT.encode() + b"\n",
        capture_output=True, cwd=tmp_path, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert json.loads(done.stdout.decode("utf-8"))[0]["text"] == TEXT


def test_a_home_relative_path_is_the_same_home_everywhere_in_the_config(cli, tmp_path, monkeypatch):
    """``~`` was expanded in ``[monitor] database`` but not in a jsonl source's ``path``,
    a ``{ file = ... }`` secret or ``$SENTIMENT_MONITOR_CONFIG``: "~/replay.jsonl: file not found"."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    write_jsonl(home / "replay.jsonl", [record(id="1", text="acme is great")])
    (home / "token").write_text("t0ken-from-a-file\n", encoding="utf-8")
    (home / "monitor.toml").write_text(
        '[monitor]\ndatabase = "~/m.db"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
        '[[sources]]\nname = "replay"\nplatform = "jsonl"\npath = "~/replay.jsonl"\n'
        '[digest]\nrecipients = ["t@example.com"]\n[smtp]\nhost = "127.0.0.1"\nsender = "m@example.com"\nusername = "m"\npassword = { file = "~/token" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SENTIMENT_MONITOR_CONFIG", "~/monitor.toml")
    result = cli("poll", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["new"] == 1 and (home / "m.db").is_file()
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert "[smtp] credentials: ok" in result.output
