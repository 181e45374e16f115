"""The CLI contract: commands, JSON shapes, errors, help, the offline demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from monitor.cli import main
from factories import record, write_jsonl

REPO = Path(__file__).resolve().parents[1]
MENTION_KEYS = {"platform", "id", "brand", "text", "author", "url", "created_at", "compound", "label"}
COUNT_KEYS = {"volume", "positive", "neutral", "negative", "negative_ratio", "positive_ratio", "net_sentiment"}


def all_commands(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    out = {}
    for name, command in group.commands.items():
        out[f"{prefix}{name}"] = command
        if isinstance(command, click.Group):
            out.update(all_commands(command, f"{prefix}{name} "))
    return out


@pytest.fixture
def demo(cli, tmp_path):
    """The embedded default config (no --config, no config/ here), polled once."""
    result = cli("poll", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_offline_demo_end_to_end(demo, cli, tmp_path):
    (run,) = demo
    assert run["source"] == "demo" and run["status"] == "ok"
    assert run["new"] > 300 and run["excluded"] > 0
    assert (tmp_path / "data" / "monitor.db").exists()
    negatives = json.loads(cli("negatives", "--since", "24h", "--format", "json").stdout)
    assert negatives, "the demo has negative mentions in the last 24 hours"
    assert all(n["label"] == "negative" for n in negatives)
    assert [n["created_at"] for n in negatives] == sorted((n["created_at"] for n in negatives), reverse=True)
    (again,) = json.loads(cli("poll", "--format", "json").stdout)
    assert (again["new"], again["fetched"]) == (0, 0)


def test_mention_json_shape(demo, cli):
    rows = json.loads(cli("mentions", "--since", "14d", "--limit", "5", "--format", "json").stdout)
    assert len(rows) == 5
    for row in rows:
        assert MENTION_KEYS <= set(row)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["created_at"])
        if row["label"] == "unsupported":  # a language the classifier cannot score
            assert row["compound"] is None
        else:
            assert -1 <= row["compound"] <= 1


def test_mentions_filters(demo, cli):
    rows = json.loads(cli("mentions", "--since", "14d", "--label", "positive", "--brand", "globex",
                          "--platform", "x", "--limit", "500", "--format", "json").stdout)
    assert rows and all((r["label"], r["brand"], r["platform"]) == ("positive", "Globex", "x") for r in rows)
    found = json.loads(cli("mentions", "--since", "14d", "--search", "REFUND", "--format", "json").stdout)
    assert found and all("refund" in r["text"].lower() for r in found)


def _by_columns(line: str, starts: list[int]) -> list[str]:
    """A table line cut at the terminal columns where the header's columns start."""
    from wcwidth import wcwidth

    cells, cell, column = [], "", 0
    for char in line:
        if column in starts[1:] and cell:
            cells.append(cell)
            cell = ""
        cell += char
        column += max(wcwidth(char), 0)
    return [*cells, cell]


def test_tables_line_up_wide_characters_and_show_control_characters(cli, write_config, tmp_path):
    # Emoji and CJK take two terminal columns: tables counted characters, so every column after
    # one was pushed right, and a text of emoji shortened to 72 characters took 140 columns.
    # An escape sequence in a post or a name went to the terminal (clearing the screen here).
    import re

    from wcwidth import wcswidth

    path = write_config()
    write_jsonl(tmp_path / "m.jsonl", [
        {**record("1", "acme is awful " + "😡" * 80), "author": "李小龙客户服务"},
        {**record("2", "acme is awful, flags " + "🇬🇧" * 40, hours_ago=2), "author": "e\x1b[2Jvil"},
        {**record("3", "acme is awful e\u0301" + "e\u0301" * 90, hours_ago=3), "author": "zoë"},
        {**record("4", "acme is awful \x1b]0;pwned\x07 \x9b31m", hours_ago=4), "author": "👍" * 30},
    ])
    cli("--config", path, "import", tmp_path / "m.jsonl")
    out = cli("--config", path, "mentions", "--since", "1d").stdout
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    header, rule, *lines = out.splitlines()
    starts = [m.start() for m in re.finditer(r"-+", rule)]
    assert len(lines) == 4 and all(wcswidth(line) <= len(rule) for line in lines)
    rows = [_by_columns(line, starts) for line in lines]
    assert all(len(row) == len(starts) and row[-1].startswith("acme is awful") for row in rows)
    author = [row[-2].rstrip() for row in rows]
    assert author[0] == "李小龙客户服务" and author[1] == "e␛[2Jvil" and author[2] == "zoë"
    assert wcswidth(author[3]) <= 18 and author[3] == "👍" * 8 + "…"
    texts = [row[-1] for row in rows]
    assert texts[0].endswith("😡…") and wcswidth(texts[0]) in (71, 72)
    assert texts[1].endswith("🇬🇧…") and wcswidth(texts[1]) <= 72  # no half flag
    assert texts[2].endswith("e\u0301…") and wcswidth(texts[2]) == 72  # no accent parted from its letter
    assert texts[3] == "acme is awful ␛]0;pwned␇ \ufffd31m"
    # JSON and CSV keep the text as it is
    assert json.loads(cli("--config", path, "mentions", "--format", "json").stdout)[1]["author"] == "e\x1b[2Jvil"
    # A right-to-left override left open in a name is closed: the columns after it are not reversed
    write_jsonl(tmp_path / "rtl.jsonl", [{**record("5", "acme is awful", hours_ago=5), "author": "\u202eevil"}])
    cli("--config", path, "import", tmp_path / "rtl.jsonl")
    assert "  \u202eevil\u202c  " in cli("--config", path, "mentions", "--since", "1d").stdout


def test_a_limit_beyond_what_sqlite_counts_means_all_and_workers_are_bounded(demo, cli):
    every = json.loads(cli("mentions", "--since", "14d", "--limit", "500", "--format", "json").stdout)
    huge = cli("mentions", "--since", "14d", "--limit", str(10**20), "--format", "json")
    assert huge.exit_code == 0 and json.loads(huge.stdout) == every
    assert cli("negatives", "--limit", str(10**20)).exit_code == 0
    for command in (["import", "missing.jsonl"], ["reclassify"]):
        result = cli(*command, "--workers", "65")
        assert result.exit_code == 2 and "65 is not in the range 1<=x<=64" in result.output


@pytest.mark.parametrize("by", [None, "day", "week", "platform", "brand"])
def test_summary_json_shape(demo, cli, by):
    args = ["summary", "--since", "14d", "--format", "json"] + (["--by", by] if by else [])
    data = json.loads(cli(*args).stdout)
    assert {"from", "to", "timezone", "by", "total", "rows"} <= set(data)
    assert COUNT_KEYS <= set(data["total"])
    total = data["total"]
    scored = total["positive"] + total["neutral"] + total["negative"]
    assert total["volume"] == scored + total["unscored"] + total["unsupported"]
    assert total["net_sentiment"] == pytest.approx(total["positive_ratio"] - total["negative_ratio"], abs=1e-3)
    if by:
        assert data["rows"] and all(COUNT_KEYS <= set(r) for r in data["rows"])
        assert sum(r["volume"] for r in data["rows"]) == total["volume"]
    if by == "day":
        assert len(data["rows"]) == 15  # 14 days back from now touch 15 calendar days


def test_summary_counts_by_hand(cli, write_config, tmp_path):
    path = write_config()
    write_jsonl(tmp_path / "m.jsonl", [
        record("1", "acme is terrible", hours_ago=2),
        record("2", "acme is wonderful", hours_ago=3),
        record("3", "acme is wonderful", hours_ago=4),
        record("4", "acme opens at nine", hours_ago=5),
        record("5", "acme is awful", hours_ago=24 * 10),  # outside the window
    ])
    cli("--config", path, "import", tmp_path / "m.jsonl")
    total = json.loads(cli("--config", path, "summary", "--since", "7d", "--format", "json").stdout)["total"]
    assert (total["volume"], total["positive"], total["neutral"], total["negative"]) == (4, 2, 1, 1)
    assert (total["negative_ratio"], total["positive_ratio"], total["net_sentiment"]) == (0.25, 0.5, 0.25)


def test_summary_days_follow_the_configured_time_zone(cli, write_config, tmp_path):
    path = write_config()
    text = path.read_text().replace('timezone = "UTC"', 'timezone = "America/New_York"')
    path.write_text(text)
    write_jsonl(tmp_path / "m.jsonl", [
        {**record("1", "acme"), "created_at": "2026-01-10T04:30:00Z"},  # 23:30 on the 9th in New York
        {**record("2", "acme"), "created_at": "2026-01-10T05:30:00Z"},  # 00:30 on the 10th
    ])
    cli("--config", path, "import", tmp_path / "m.jsonl")
    data = json.loads(cli("--config", path, "summary", "--from", "2026-01-09", "--to", "2026-01-10",
                          "--by", "day", "--format", "json").stdout)
    assert [(r["period"], r["volume"]) for r in data["rows"]] == [("2026-01-09", 1), ("2026-01-10", 1)]
    assert data["from"] == "2026-01-09T05:00:00Z"


def test_summary_by_brand_lists_every_configured_brand_and_names_its_column_when_empty(cli, write_config, tmp_path):
    path = write_config()  # Acme and its competitor Globex; only Acme is mentioned
    write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is terrible", hours_ago=2)])
    cli("--config", path, "import", tmp_path / "m.jsonl")
    rows = json.loads(cli("--config", path, "summary", "--by", "brand", "--format", "json").stdout)["rows"]
    assert [(r["brand"], r["volume"], r["negative_ratio"]) for r in rows] == [("Acme", 1, 1.0), ("Globex", 0, None)]
    table = cli("--config", path, "summary", "--by", "brand").stdout.splitlines()
    assert table[1].startswith("brand ") and table[4].split()[:3] == ["Globex", "0", "0"]
    # --brand keeps that brand's row, even when nothing mentions it
    only = cli("--config", path, "summary", "--by", "brand", "--brand", "globex", "--format", "csv").stdout
    assert only.splitlines()[1:] == ["Globex,0,0,0,0,0,,,,,,,,", "total,0,0,0,0,0,,,,,,,,"]
    # The first CSV column is named for --by whether or not there are rows (it was "period" then)
    empty = cli("--config", path, "summary", "--by", "platform", "--since", "1m", "--format", "csv").stdout
    assert empty.splitlines() == [
        "platform,volume,positive,neutral,negative,unsupported,negative_ratio,positive_ratio,net_sentiment,"
        "csat_pct,nps,first_response_median_s,resolution_median_s,fcr_pct", "total,0,0,0,0,0,,,,,,,,"]


def test_status_json_shape(demo, cli):
    data = json.loads(cli("status", "--format", "json").stdout)
    assert data["database"]["mentions"]["total"] > 300 and data["database"]["bytes"] > 0
    source, *disabled = data["sources"]  # the demo, then the real platforms waiting for credentials
    assert [(s["source"], s["enabled"], s["cursor"]) for s in disabled] == [("x-acme", False, None), ("reddit-acme", False, None)]
    assert source["source"] == "demo" and source["last_success"] and source["cursor"] == "360"
    assert source["last_error"] is None and source["new_24h"] > 0


def test_status_gives_a_removed_source_the_keys_of_every_other(cli, write_config):
    demo = '[[sources]]\nname = "{}"\nplatform = "demo"\n'
    path = write_config(demo.format("old"))
    assert cli("--config", path, "poll").exit_code == 0
    path = write_config(demo.format("new"))  # "old" removed from the config, its history kept
    new, old = json.loads(cli("--config", path, "status", "--format", "json").stdout)["sources"]
    assert list(old) == list(new) and old["source"] == "old" and old["last_success"] is not None
    assert (old["health"], old["health_note"], old["every"], old["enabled"], old["next_poll"]) == (
        "removed", "not in the config; its history is kept", None, None, None)
    assert old["new_24h"] > 0 and old["consecutive_failures"] == 0
    (line,) = [row for row in cli("--config", path, "status").stdout.splitlines() if row.startswith("old ")]
    assert line.split()[:3] == ["old", "demo", "removed"]


def test_init_json_shape(cli, monkeypatch):
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    data = json.loads(cli("init", "--format", "json").stdout)
    assert data["config"] == "embedded default config"
    counts = json.loads(cli("status", "--format", "json").stdout)["database"]["mentions"]
    assert counts == {"total": 0, "positive": 0, "neutral": 0, "negative": 0, "unsupported": 0}  # every key, always
    assert "sentiment-monitor:m001_mentions" in data["migrations"]  # a new database: all applied
    assert json.loads(cli("init", "--format", "json").stdout)["migrations"] == []
    assert data["problems"] == [] and data["sources"][0]["credentials"] == "ok"
    x_source = next(row for row in data["sources"] if row["source"] == "x-acme")
    assert x_source["credentials"] == "missing: bearer_token: environment variable X_BEARER_TOKEN is not set"


DELIVERY = """
[digest]
recipients = ["leads@example.com"]
[smtp]
host = "127.0.0.1"
sender = "monitor@example.com"
username = "monitor"
password = { env = "TEST_SMTP_PASSWORD" }
[alerts]
channels = ["email", "webhook"]
webhook_url = { env = "TEST_HOOK_URL" }
"""


def test_init_checks_the_credentials_of_smtp_and_the_webhook(cli, write_config, monkeypatch):
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)
    path = write_config(DELIVERY)
    result = cli("--config", path, "init")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 2 problem(s) with credentials in use:\n"
        f"  {path}: [smtp]: password: environment variable TEST_SMTP_PASSWORD is not set\n"
        f"  {path}: [alerts]: webhook_url: environment variable TEST_HOOK_URL is not set\n"
    )
    # The row names the section; each secret was named again with the file and section
    assert "[smtp] credentials: missing: password: environment variable TEST_SMTP_PASSWORD is not set\n" in result.stdout
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("TEST_HOOK_URL", "http://127.0.0.1:9/hook")
    data = json.loads(cli("--config", path, "init", "--format", "json").stdout)
    assert data["delivery"] == [{"section": "smtp", "used": True, "credentials": "ok"},
                                {"section": "alerts", "used": True, "credentials": "ok"}]
    assert data["problems"] == []


def test_init_reports_an_unused_webhook_secret_without_failing(cli, write_config, monkeypatch):
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)
    path = write_config('[alerts]\nchannels = ["email"]\nwebhook_url = { env = "TEST_HOOK_URL" }\n')
    result = cli("--config", path, "init", "--format", "json")
    assert result.exit_code == 0
    (row,) = json.loads(result.stdout)["delivery"]
    assert row["used"] is False and "TEST_HOOK_URL is not set" in row["credentials"]


def test_init_csv_is_one_csv_table(cli, write_config, monkeypatch):
    import csv
    import io

    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)
    with_problems = write_config(DELIVERY + '[[sources]]\nname = "demo"\nplatform = "demo"\n')
    for path in (None, with_problems):  # the default config, and one with problems
        result = cli(*(["--config", path] if path else []), "init", "--format", "csv")
        header, *rows = csv.reader(io.StringIO(result.stdout, newline=""))
        assert header == ["source", "platform", "brand", "enabled", "every", "credentials"]
        assert rows and all(len(row) == len(header) for row in rows)
    assert result.exit_code == 1 and "2 problem(s)" in result.stderr  # problems stay on stderr


def test_run_once_polls_every_enabled_source(cli):
    data = json.loads(cli("run", "--once", "--format", "json").stdout)
    assert [r["source"] for r in data] == ["demo"]


def test_poll_unknown_source_is_a_clear_error(cli):
    result = cli("poll", "--source", "nope")
    assert result.exit_code == 1
    assert 'Error: no source named "nope" in embedded default config (sources: demo, x-acme, reddit-acme)' in result.output
    result = cli("poll", "--source", "x-acm")
    assert result.exit_code == 1
    assert ('Error: no source named "x-acm" in embedded default config (did you mean "x-acme"?)'
            " (sources: demo, x-acme, reddit-acme)") in result.output


def test_a_source_named_twice_is_polled_once(cli, write_config, tmp_path):
    # Each extra poll of an X or Reddit source is paid requests, and its row said "0 new".
    write_jsonl(tmp_path / "a.jsonl", [record("1", "acme is fine")])
    write_jsonl(tmp_path / "b.jsonl", [record("2", "acme is fine")])
    path = write_config("".join(f'[[sources]]\nname = "{n}"\nplatform = "jsonl"\npath = "{n}.jsonl"\n' for n in "ab"))
    result = cli("--config", path, "poll", "--source", "b", "--source", "a", "--source", "b", "--format", "json")
    assert [(r["source"], r["new"]) for r in json.loads(result.stdout)] == [("b", 1), ("a", 1)]


def test_poll_of_an_unknown_source_creates_no_database(cli, write_config, tmp_path):
    result = cli("--config", write_config(), "poll", "--source", "nope")
    assert result.exit_code == 1 and 'no source named "nope"' in result.output
    assert not (tmp_path / "monitor.db").exists()


def test_failing_source_is_reported_and_recorded(cli, write_config, tmp_path):
    path = write_config('[[sources]]\nname = "gone"\nplatform = "jsonl"\npath = "missing.jsonl"\n')
    result = cli("--config", path, "poll", "--format", "json")
    assert result.exit_code == 1
    (run,) = json.loads(result.stdout)
    assert run["status"] == "error" and "missing.jsonl: file not found" in run["error"]
    (state,) = json.loads(cli("--config", path, "status", "--format", "json").stdout)["sources"]
    assert state["last_error_kind"] == "bad_payload" and state["cursor"] is None


def test_config_error_is_one_line_without_traceback(cli, write_config):
    result = cli("--config", write_config("[sentiment]\nclasifier = 'vader'\n"), "summary")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "did you mean \"classifier\"" in result.output
    assert "Traceback" not in result.output


def test_reading_before_any_poll_says_what_to_do(cli):
    result = cli("negatives")
    assert result.exit_code == 1 and "run `sentiment-monitor init` or `poll` first" in result.output


def test_bad_option_values_are_usage_errors(cli):
    assert "is not a duration such as 30s" in cli("negatives", "--since", "yesterday").output
    assert "is longer than 100 years" in cli("negatives", "--since", "9999999d").output
    assert "not a date in the form YYYY-MM-DD" in cli("summary", "--from", "01/02/2026").output
    assert "either --since or --from/--to" in cli("summary", "--since", "7d", "--from", "2026-01-01").output


@pytest.mark.parametrize(("command", "value", "why"), [
    (["summary", "--from"], "2026-13-01", "there is no month 13 (YYYY-MM-DD: months 01 to 12)"),
    (["mentions", "--to"], "2026-02-30", "February 2026 has days 01 to 28"),
    (["digest", "preview", "--date"], "2026-04-31", "April 2026 has days 01 to 30"),
])
def test_a_date_in_the_right_form_that_does_not_exist_says_which_part(cli, command, value, why):
    # It said "'2026-13-01' is not a date in the form YYYY-MM-DD": it is, but there is no month 13.
    result = cli(*command, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{command[-1]}': '{value}' is not a date: {why}" in result.output


def test_every_date_option_takes_dates_from_1900_to_9998_only(cli):
    dated = [(name, opt) for name, command in all_commands().items() for param in command.params
             for opt in param.opts if opt in ("--date", "--from", "--to")]
    assert {"summary", "mentions", "themes", "kpi show", "digest preview", "digest send"} <= {n for n, _ in dated}
    for name, opt in dated:
        for value in ("0000-01-01", "0001-01-01", "1899-12-31", "9999-12-31"):
            result = cli(*name.split(), opt, value)
            assert result.exit_code == 2, (name, opt, value, result.output)
            assert (f"Invalid value for '{opt}': {value} is out of range: dates run from 1900-01-01 to 9998-12-31"
                    in result.output)


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Etc/GMT+12"])  # UTC+14 and UTC-12: the widest offsets
def test_windows_at_the_ends_of_the_date_range(cli, write_config, tz):
    path = write_config()
    path.write_text(path.read_text().replace('timezone = "UTC"', f'timezone = "{tz}"'))
    cli("--config", path, "init")
    for command in (["summary", "--by", "week"], ["mentions"], ["themes"], ["kpi", "show", "--by", "week"]):
        for first, last in (("1900-01-01", "1900-01-01"), ("9998-12-31", "9998-12-31"), ("1900-01-01", "1999-12-31")):
            result = cli("--config", path, *command, "--from", first, "--to", last)
            assert result.exit_code == 0, (command, first, last, result.output)
        too_long = cli("--config", path, *command, "--from", "1900-01-01", "--to", "9998-12-31")
        assert too_long.exit_code == 2
        assert "Error: --from 1900-01-01 to 9998-12-31 is longer than 100 years: shorten the window" in too_long.output
    for day in ("1900-01-01", "9998-12-31"):
        assert cli("--config", path, "digest", "preview", "--date", day).exit_code == 0


def test_csv_output_quotes_commas_and_newlines(cli, write_config, tmp_path):
    path = write_config()
    text = 'acme, "why",\nagain'
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", [record("1", text)]))
    out = cli("--config", path, "mentions", "--format", "csv").stdout
    assert '"acme, ""why"",\nagain"' in out


def test_every_command_has_help_and_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, command in all_commands().items():
        assert command.help and len(command.help) > 30, f"{name} needs help text"
        if not isinstance(command, click.Group):
            assert f"sentiment-monitor {name}" in readme, f"README does not show `sentiment-monitor {name}`"


def test_every_command_and_group_help_has_examples(cli):
    # The README: "every command's help has examples" (the digest and alerts groups had none).
    for name in all_commands():
        out = cli(*name.split(), "--help").output
        assert "Example" in out, name
        examples = out.split("Example", 1)[1].split("Options:", 1)[0]
        assert "sentiment-monitor " in examples and f" {name}" in examples, name


def test_every_option_says_what_it_does(cli):
    # --limit said only "[default: 50; x>=1]": at most what, in which order?
    for name, command in all_commands().items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help and len(param.help) > 10, (name, param.opts)
    assert "Show at most N mentions, newest first." in cli("negatives", "--help").output
    # --input-format said only "Default: from the file extension." (which extensions?)
    assert "Default: from its extension: .csv, .tsv, or .json/.jsonl/.ndjson" in " ".join(cli("import", "--help").output.split())
    result = cli("mentions", "--limit", "ten")
    assert result.exit_code == 2 and "Invalid value for '--limit': 'ten' is not a valid integer." in result.output


def test_every_window_option_says_its_form_and_its_default(cli, write_config):
    # --since said "e.g. 24h or 7d", or only "How far back." (alerts list); --from and --to
    # did not say what leaving one out means
    for name, command in all_commands().items():
        for param in command.params:
            if "--since" in param.opts:
                assert "a duration such as 30s, 5m, 24h, 7d or 1h30m. Default: " in param.help, name
            if "--from" in param.opts:
                assert "Default with --to: " in param.help, name
            if "--to" in param.opts:
                assert "Default with --from: up to now." in param.help, name
    assert "Default with --to: 7d up to the end of that day." in " ".join(cli("summary", "--help").output.split())
    path = write_config()
    cli("--config", path, "init")
    data = json.loads(cli("--config", path, "summary", "--to", "2026-01-10", "--format", "json").stdout)
    assert (data["from"], data["to"]) == ("2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z")


def test_help_alias(cli):
    assert "Quick start" in cli("-h").output


@pytest.mark.parametrize("command", [
    ["negatives"], ["mentions"], ["summary"], ["themes"], ["alerts", "test"], ["import", "m.jsonl"],
])
def test_an_unknown_brand_is_refused_with_a_suggestion(demo, cli, tmp_path, command):
    (tmp_path / "m.jsonl").write_text("")
    result = cli(*command, "--brand", "Acmee")
    assert result.exit_code == 2
    assert 'no [[brands]] entry is named "Acmee" (did you mean "Acme"?); brands: Acme, Globex' in result.output


def test_a_suggestion_ignores_case(demo, cli):
    # "Acm" was answered with "Acme", "acm" with none; "DEMO" named no source at all
    result = cli("negatives", "--brand", "acm")
    assert result.exit_code == 2 and 'no [[brands]] entry is named "acm" (did you mean "Acme"?)' in result.output
    result = cli("poll", "--source", "DEMO")
    assert result.exit_code == 1 and 'no source named "DEMO" in embedded default config (did you mean "demo"?)' in result.output


def test_a_brand_is_named_in_any_case(demo, cli):
    rows = json.loads(cli("negatives", "--since", "14d", "--brand", "ACME", "--format", "json").stdout)
    assert rows and {r["brand"] for r in rows} == {"Acme"}


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "9998-12-31"], "--from 9998-12-31 is in the future: give a day up to today"),
    (["--from", "2026-03-02", "--to", "2026-03-01"], "--from must be on or before --to"),
])
def test_a_window_that_ends_before_it_starts_says_which_option(cli, write_config, args, message):
    result = cli("--config", write_config(), "summary", *args)
    assert result.exit_code == 2 and result.output.strip().endswith(f"Error: {message}")


def test_window_headers_are_local_times_in_the_configured_zone(cli, write_config):
    path = write_config()
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "Asia/Kathmandu"'))
    assert cli("--config", path, "init").exit_code == 0
    # 2026-01-10 from midnight in Kathmandu (UTC+5:45): 2026-01-09T18:15:00Z in the JSON
    summary = cli("--config", path, "summary", "--from", "2026-01-10", "--to", "2026-01-10").output
    assert summary.splitlines()[0] == "2026-01-10 00:00 to 2026-01-11 00:00 (Asia/Kathmandu)"
    data = json.loads(cli("--config", path, "summary", "--from", "2026-01-10", "--to", "2026-01-10",
                          "--format", "json").stdout)
    assert (data["from"], data["to"]) == ("2026-01-09T18:15:00Z", "2026-01-10T18:15:00Z")
    kpis = cli("--config", path, "kpi", "show", "--from", "2026-01-10", "--to", "2026-01-11").output.splitlines()
    assert kpis[:2] == ["2026-01-10 00:00 to 2026-01-12 00:00 (Asia/Kathmandu)",
                        "previous: 2026-01-08 00:00 to 2026-01-10 00:00"]


def test_an_output_format_given_as_kpi_imports_export_format_points_to_output(cli, write_config, tmp_path):
    result = cli("--config", write_config(), "kpi", "import", tmp_path / "tickets.csv", "--format", "json")
    assert result.exit_code == 2 and "'json' is how to print the result: use --output json" in result.output


def test_a_platform_or_source_no_mention_has_is_noted_after_an_empty_result(demo, cli):
    result = cli("mentions", "--platform", "Twitter", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []  # scripts still get their empty list
    assert 'note: no stored mention is from platform "twitter" (did you mean "x"?) (platforms stored: ' in result.output
    typo = cli("mentions", "--source", "dmeo", "--since", "30d").output
    assert 'note: no source is named "dmeo" (did you mean "demo"?) (sources: demo, import, ' in typo
    assert "note:" in cli("summary", "--platform", "redit").output
    assert "note:" not in cli("negatives", "--platform", "x", "--since", "1s").output  # x is stored: just none now


def test_a_net_sentiment_that_rounds_to_zero_is_never_shown_as_minus_zero(cli, write_config, tmp_path):
    from datetime import datetime, timedelta, timezone

    path = write_config()
    now = datetime.now(timezone.utc)
    yesterday = (now - timedelta(days=1)).date()
    noon = (now - datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=timezone.utc)).total_seconds() / 3600
    records = [record("n", "acme is terrible", hours_ago=noon)]
    records += [record(str(i), "acme opens at nine", hours_ago=noon) for i in range(300)]  # net -1/301
    write_jsonl(tmp_path / "m.jsonl", records)
    cli("--config", path, "import", tmp_path / "m.jsonl")
    table = cli("--config", path, "summary", "--since", "7d").stdout
    total = next(line for line in table.splitlines() if line.startswith("total"))
    assert total.split()[-1] == "+0.00", table
    digest = cli("--config", path, "digest", "preview", "--date", yesterday.isoformat(), "--output", "-").stdout
    assert "301" in digest and "+0.00" in digest and "-0.00" not in digest


def test_a_jsonl_source_file_this_user_may_not_read_fails_its_poll_as_bad_payload(write_config, tmp_path):
    # Real permissions (see run_unprivileged): telling a .jsonl file from a JSON array by its
    # first bytes let the PermissionError out (an "internal" failure with a traceback).
    import os

    from test_database_open import run_unprivileged

    data = tmp_path / "feed.jsonl"
    data.write_text(json.dumps(record("1", "acme ok")) + "\n")
    os.chmod(data, 0)
    path = write_config(f'[[sources]]\nname = "feed"\nplatform = "jsonl"\npath = "{data}"\n')
    done = run_unprivileged("--config", str(path), "poll", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    (run,) = json.loads(done.stdout)
    assert (run["status"], run["error"]) == ("error", f"{data}: Permission denied")
    os.chmod(data, 0o644)
    status = run_unprivileged("--config", str(path), "status", "--format", "json", cwd=tmp_path)
    assert json.loads(status.stdout)["sources"][0]["last_error_kind"] == "bad_payload"


def _format_args(demo_mention: str) -> dict[str, list[str]]:
    """Arguments that make each command do its work on the polled demo database."""
    return {
        "init": [], "poll": [], "run": ["--once"], "import": ["m.jsonl"], "status": [],
        "negatives": ["--since", "14d"], "mentions": ["--since", "14d"], "summary": ["--by", "day"],
        "classify": ["acme is great", "acme is awful"],
        "label": [demo_mention, "negative", "--note", "checked"], "reclassify": [],
        "eval": ["eval.csv", "--text-col", "text", "--label-col", "label"],
        "themes": ["--since", "14d"],
        "kpi import": [str(REPO / "tests" / "data" / "kpi" / "zendesk_tickets.csv")], "kpi show": [],
        "digest send": [], "digest status": [], "alerts test": ["--since", "14d"], "alerts list": [],
    }


#: Commands without --format: what they print is a document, not a result.
NOT_FORMATTED = {"digest preview"}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_every_output_command_prints_one_json_value_or_one_csv_table_on_stdout(demo, cli, tmp_path, fmt):
    # The contract: with --format json exactly one JSON value on stdout and nothing else,
    # even with debug logging and warnings; csv is one table with its header row.
    (tmp_path / "m.jsonl").write_text(json.dumps(
        {"platform": "x", "id": "one", "text": "acme broke again", "created_at": "2026-01-05T10:00:00Z"}) + "\n")
    (tmp_path / "eval.csv").write_text("text,label\nI love acme,positive\nacme is terrible,negative\n")
    first = json.loads(cli("mentions", "--since", "14d", "--limit", "1", "--format", "json").stdout)[0]
    args = _format_args(f'{first["platform"]}:{first["id"]}')
    commands = {name for name, command in all_commands().items() if not isinstance(command, click.Group)}
    assert set(args) == commands - NOT_FORMATTED, "a new command: add it to _format_args"
    for name, extra in args.items():
        option = "--output" if name == "kpi import" else "--format"  # its --format is the export's tool
        result = cli("--log-level", "debug", *name.split(), *extra, option, fmt)
        assert result.exit_code == 0, (name, result.output)
        if fmt == "json":
            value, end = json.JSONDecoder().raw_decode(result.stdout)
            assert value is not None and result.stdout[end:].strip() == "", (name, result.stdout[end:][:200])
        else:
            import csv
            import io

            rows = list(csv.reader(io.StringIO(result.stdout)))
            assert rows and len({len(row) for row in rows}) == 1, (name, result.stdout[:300])
