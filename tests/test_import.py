"""`sentiment-monitor import`: backfills, bad records, formats, progress."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys

import pytest
from factories import record, write_jsonl


def _stored(cli, path):
    return json.loads(cli("--config", path, "mentions", "--since", "3650d", "--limit", "1000", "--format", "json").stdout)


def test_import_jsonl_classifies_and_stores(cli, write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [
        record("1", "@acmesupport my order is lost and nobody answers"),
        record("2", "Globex support was wonderful today", platform="reddit", likes=3),
        record("3", "an acme anvil cartoon marathon"),  # excluded noise
        record("4", "something unrelated", brand="Acme"),  # the record's own brand
    ])
    result = cli("--config", path, "import", data, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["records"], report["new"], report["excluded"], report["skipped"]) == (4, 3, 1, 0)
    rows = {r["id"]: r for r in _stored(cli, path)}
    assert rows["1"]["brand"] == "Acme" and rows["1"]["label"] == "negative"
    assert rows["2"]["brand"] == "Globex" and rows["2"]["platform"] == "reddit" and rows["2"]["likes"] == 3
    assert rows["4"]["brand"] == "Acme"
    again = json.loads(cli("--config", path, "import", data, "--format", "json").stdout)
    assert (again["new"], again["duplicates"]) == (0, 3)


def test_bad_line_stops_import_with_file_line_and_reason_and_writes_nothing(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "m.jsonl"
    data.write_text(json.dumps(record("1", "acme ok")) + "\n" + '{"platform": "x", "id": "2", "text": \n')
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1
    assert f"{data}:2: invalid JSON" in result.output
    assert "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "monitor.db").exists()  # checked before the database is even opened


def test_missing_field_and_bad_time_are_named(cli, write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [record("1", "fine"), {"platform": "x", "id": "2", "created_at": "2026-01-01T00:00:00Z"}])
    assert f'{data}:2: missing "text"' in cli("--config", path, "import", data).output
    data = write_jsonl(tmp_path / "m.jsonl", [{**record("1", "fine"), "created_at": "yesterday"}])
    assert f"{data}:1: \"created_at\" 'yesterday' is not an ISO 8601 time" in cli("--config", path, "import", data).output
    for missing in ({}, {"created_at": None}, {"created_at": " "}):
        data = write_jsonl(tmp_path / "m.jsonl", [{**{k: v for k, v in record("1", "fine").items() if k != "created_at"}, **missing}])
        result = cli("--config", path, "import", data)
        assert result.exit_code == 1 and f'{data}:1: missing "created_at" (nothing was imported' in result.output
    for blank in ({"id": "   "}, {"platform": " "}):  # no post is named by spaces
        data = write_jsonl(tmp_path / "m.jsonl", [{**record("1", "fine"), **blank}])
        result = cli("--config", path, "import", data)
        assert result.exit_code == 1 and f'{data}:1: "{next(iter(blank))}" is blank' in result.output, result.output


def test_created_at_in_seconds_imports_and_a_time_no_command_could_show_is_a_bad_record(cli, write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [
        {**record("1", "acme ok"), "created_at": 1767261600},  # seconds since 1970: 2026-01-01T10:00:00Z
        {**record("2", "acme ok"), "created_at": 1767261600000},  # milliseconds
        {**record("3", "acme ok"), "created_at": "0001-01-01T00:00:00Z"},
        {**record("4", "acme ok"), "created_at": "9999-12-31T23:59:59Z"},
        {**record("5", "acme ok"), "created_at": -2208988801},  # 1899-12-31
    ])
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (f'{data}:2: "created_at" 1767261600000 is out of range as seconds since 1970-01-01 UTC'
            " (milliseconds? divide by 1000) (nothing was imported" in result.output)
    result = cli("--config", path, "import", data, "--skip-bad", "--format", "json")
    report = json.loads(result.stdout)
    assert (result.exit_code, report["new"]) == (0, 1)
    assert report["skipped_records"][1:] == [
        f"{data}:3: \"created_at\" '0001-01-01T00:00:00Z' is out of range: dates run from 1900-01-01 to 9998-12-31",
        f"{data}:4: \"created_at\" '9999-12-31T23:59:59Z' is out of range: dates run from 1900-01-01 to 9998-12-31",
        f'{data}:5: "created_at" -2208988801 is out of range (as seconds since 1970-01-01 UTC: 1899-12-31):'
        " dates run from 1900-01-01 to 9998-12-31",
    ]
    (row,) = _stored(cli, path)
    assert row["created_at"] == "2026-01-01T10:00:00Z"


def test_a_negative_count_imports_as_reddit_scores_go_below_zero(cli, write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [{**record("1", "acme is awful"), "platform": "reddit", "likes": -5}])
    assert cli("--config", path, "import", data).exit_code == 0
    exported = cli("--config", path, "mentions", "--since", "30d", "--format", "json").stdout
    assert [m["likes"] for m in json.loads(exported)] == [-5]
    again = tmp_path / "again.json"
    again.write_text(exported)  # the output of `mentions --format json` imports as it is
    result = cli("--config", path, "import", again, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["duplicates"] == 1


def test_skip_bad_imports_valid_records_and_lists_each_skipped(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "m.jsonl"
    lines = [json.dumps(record("1", "acme good")), "not json", json.dumps({**record("3", "x"), "likes": "many"}), json.dumps(record("4", "acme bad"))]
    data.write_text("\n".join(lines) + "\n")
    result = cli("--config", path, "import", data, "--skip-bad")
    assert result.exit_code == 0
    assert f"skipped {data}:2: invalid JSON" in result.stderr
    assert f"skipped {data}:3: \"likes\" must be a whole number, found 'many'" in result.stderr
    assert sorted(r["id"] for r in _stored(cli, path)) == ["1", "4"]


def test_csv_with_commas_quotes_and_newlines_round_trips(cli, write_config, tmp_path):
    path = write_config()
    text = 'Acme said "soon", then\nnothing, for 3 days'
    data = tmp_path / "m.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["platform", "id", "text", "created_at", "likes"])
        writer.writeheader()
        writer.writerow({**{k: record("1", text)[k] for k in ("platform", "id", "text", "created_at")}, "likes": ""})
    assert cli("--config", path, "import", data).exit_code == 0
    out = cli("--config", path, "mentions", "--since", "1d", "--format", "csv").stdout
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["text"] == text and row["likes"] == ""


def test_csv_missing_columns_named(cli, write_config, tmp_path):
    data = tmp_path / "m.csv"
    data.write_text("platform,body,created_at\nx,hi,2026-01-01T00:00:00Z\n")
    out = cli("--config", write_config(), "import", data).output
    assert f"{data}:1: missing column(s) id, text; found: platform, body, created_at" in out


def test_csv_header_names_our_fields_in_any_case_and_once(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "sheet.csv"
    data.write_text("Platform,ID,Text,Created At,Likes,Ticket\nX,1,acme is great,2026-01-01T00:00:00Z,3,T-9\n")
    result = cli("--config", path, "import", data, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["new"] == 1, result.output
    (row,) = _stored(cli, path)
    assert (row["platform"], row["id"], row["likes"]) == ("x", "1", 3)
    twice = tmp_path / "twice.csv"
    twice.write_text("platform,id,text,created_at,Text\nx,2,a,2026-01-01T00:00:00Z,b\n")
    result = cli("--config", path, "import", twice, "--skip-bad")
    assert result.exit_code == 1 and f'{twice}:1: the column "text" is in the header 2 times (columns 3, 5); keep one' in result.output


def test_excels_sep_line_names_the_delimiter_and_lines_count_it(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "excel.csv"
    data.write_bytes(b"sep=;\r\nplatform;id;text;created_at\r\nx;1;acme, as ever, great;2026-01-01T00:00:00Z\r\n"
                     b"x;2;acme;yesterday\r\n")
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1 and f"{data}:4: \"created_at\" 'yesterday' is not an ISO 8601 time" in result.output
    result = cli("--config", path, "import", data, "--skip-bad", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["new"] == 1
    assert [r["text"] for r in _stored(cli, path)] == ["acme, as ever, great"]
    data.write_text('"sep=;"\nplatform;id;text;created_at\nx;3;acme;2026-01-02T00:00:00Z\n')  # quoted by a re-save
    assert json.loads(cli("--config", path, "import", data, "--format", "json").stdout)["new"] == 1


def test_a_count_that_only_looks_like_digits_is_a_bad_record(cli, write_config, tmp_path):
    path = write_config()
    for value in ("--5", "²", "٣"):
        data = tmp_path / "m.csv"
        data.write_text(f"platform,id,text,created_at,likes\nx,1,acme,2026-01-01T00:00:00Z,{value}\n", encoding="utf-8")
        result = cli("--config", path, "import", data)
        assert result.exit_code == 1 and f"{data}:2: \"likes\" must be a whole number, found '{value}'" in result.output


def test_a_count_beyond_sqlites_integers_is_a_bad_record_not_a_traceback(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "m.jsonl"
    data.write_text(json.dumps(record("1", "acme ok")) + "\n"
                    + json.dumps(record("2", "acme ok", likes=10**23)) + "\n"
                    + json.dumps(record("3", "acme ok", followers=-(10**19))) + "\n"
                    + json.dumps(record("4", "acme ok", reposts=1e300)) + "\n")
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f'{data}:2: "likes" {10**23} is out of range for a count' in result.output
    result = cli("--config", path, "import", data, "--skip-bad", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["new"], report["skipped"]) == (1, 3)
    assert report["skipped_records"][1:] == [
        f'{data}:3: "followers" {-(10**19)} is out of range for a count (-2^63 to 2^63 - 1)',
        f'{data}:4: "reposts" 1e+300 is out of range for a count (-2^63 to 2^63 - 1)']
    csv_data = tmp_path / "m.csv"
    csv_data.write_text(f"platform,id,text,created_at,likes\nx,5,acme,2026-01-01T00:00:00Z,{2**63}\n")
    result = cli("--config", path, "import", csv_data)
    assert result.exit_code == 1 and f"{csv_data}:2: \"likes\" '{2**63}' is out of range" in result.output


def test_a_mention_repeated_in_a_file_is_stored_alike_in_one_batch_or_two_and_after_a_rerun(
    cli, write_config, tmp_path, monkeypatch,
):
    from monitor import ingest

    monkeypatch.setattr(ingest, "IMPORT_BATCH", 3)  # batches: 1-3, 4-6
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [
        record("a", "acme is wonderful", likes=1),
        record("b", "acme ok"),
        record("c", "acme ok"),
        record("a", "acme is awful", likes=7),  # `a` again, in the next batch
        record("d", "acme is wonderful", likes=1),
        record("d", "acme is awful", likes=9),  # `d` again, in the same batch
    ])
    result = cli("--config", path, "import", data, "--format", "json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["new"], json.loads(result.stdout)["duplicates"]) == (4, 2)
    rows = {r["id"]: r for r in _stored(cli, path)}
    # One rule wherever the batches end: the first copy's text and label, the last engagement
    # (as a re-import or a re-run after Ctrl-C stores them).
    assert [(rows[i]["text"], rows[i]["label"], rows[i]["likes"]) for i in "ad"] == [
        ("acme is wonderful", "positive", 7), ("acme is wonderful", "positive", 9)]


def test_a_json_array_saved_as_jsonl_imports_as_json_lines_saved_as_json_do(cli, write_config, tmp_path):
    path = write_config()
    records = [record("1", "acme ok"), record("2", "acme ok")]
    pretty, compact, lines = tmp_path / "pretty.jsonl", tmp_path / "compact.ndjson", tmp_path / "lines.json"
    pretty.write_text(json.dumps(records, indent=2))
    compact.write_text(json.dumps(records))
    write_jsonl(lines, records)
    for data in (pretty, compact, lines):
        result = cli("--config", path, "import", data, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["records"] == 2
    forced = cli("--config", path, "import", pretty, "--input-format", "jsonl")  # as told: JSON lines
    assert forced.exit_code == 1 and f"{pretty}:1: invalid JSON" in forced.output


def test_standard_input_or_a_pipe_is_refused_as_such_not_as_a_missing_file(cli, write_config, tmp_path):
    path = write_config()
    pipe = tmp_path / "m.jsonl"
    os.mkfifo(pipe)  # what `import <(zcat m.jsonl.gz)` or `import /dev/stdin` is given: read once, never twice
    for command in (["import"], ["kpi", "import"]):
        result = cli("--config", path, *command, "-", input="")
        assert (result.exit_code, result.output) == (
            1, "Error: -: reading standard input is not supported; save it to a file and import that\n")
        result = cli("--config", path, *command, pipe)
        assert (result.exit_code, result.output) == (
            1, f"Error: {pipe}: not a regular file (a pipe?); it is read more than once: save it to a file and"
               " import that\n")
        result = cli("--config", path, *command, tmp_path / "missing.csv")
        assert (result.exit_code, result.output) == (1, f"Error: {tmp_path / 'missing.csv'}: file not found\n")


def test_unreadable_file_stops_the_import_even_with_skip_bad(cli, write_config, tmp_path):
    # A header without the mention columns, a JSON file that is not an array of
    # objects: no record of the file can be read, so there is none to skip.
    path = write_config()
    tickets, broken, scalar = tmp_path / "zendesk_tickets.csv", tmp_path / "broken.json", tmp_path / "scalar.json"
    tickets.write_text("Id,Subject,Created at\n1,Order lost,2024-03-04 09:00\n")
    broken.write_text('[{"platform": "x", "id": "1",\n')
    scalar.write_text('{"platform": "x"}')
    expected = {
        tickets: f"{tickets}:1: missing column(s) platform, text; found: Id, Subject, Created at",
        broken: f"{broken}:2: invalid JSON (Expecting property name enclosed in double quotes)",
        scalar: f"{scalar}:1: expected a JSON array of mention objects",  # read as JSON, not JSON lines
    }
    for data, message in expected.items():
        for flags in ((), ("--skip-bad",)):
            result = cli("--config", path, "import", data, *flags, *(("--input-format", "json") if data == scalar else ()))
            assert result.exit_code == 1 and "Traceback" not in result.output
            assert result.output.strip() == f"Error: {message}"  # no "use --skip-bad": it would not help
    assert not (tmp_path / "monitor.db").exists()


def _excel_csv(path, encoding, delimiter):
    """Saved mentions the way Excel saves them in Europe or as "Unicode Text"."""
    rows = [["platform", "id", "text", "created_at"], ["x", "1", "acme: café awful, refund €49 still missing", "2026-01-01T00:00:00Z"]]
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def test_windows_1252_semicolon_csv_and_utf16_tsv_import_like_kpi_exports(cli, write_config, tmp_path):
    path = write_config()
    for data in (_excel_csv(tmp_path / "m.csv", "cp1252", ";"), _excel_csv(tmp_path / "m.tsv", "utf-16", "\t")):
        result = cli("--config", path, "import", data, "--format", "json")
        assert result.exit_code == 0, result.output
    (row,) = _stored(cli, path)  # the same mention twice: stored once
    assert (row["text"], row["label"]) == ("acme: café awful, refund €49 still missing", "negative")


def test_post_ids_excel_rounded_are_bad_records_not_one_mention(cli, write_config, tmp_path):
    # Excel shows a 19-digit post id as 1.23457E+18 and saves it so: three posts, one id.
    path = write_config()
    data = tmp_path / "m.csv"
    data.write_text("platform;id;text;created_at\n"
                    "x;1,23457E+18;acme is great;2026-01-01T00:00:00Z\n"
                    "x;1,23457E+18;acme is awful;2026-01-01T01:00:00Z\n"
                    "x;1234567890123456789;acme ok;2026-01-01T02:00:00Z\n", encoding="cp1252")
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1 and result.output == (
        f"Error: {data}:2: \"id\" '1,23457E+18' is a number Excel rounded and wrote in scientific notation: the real"
        " id is lost; import the file as exported (or open it in Excel with that column as Text)"
        " (nothing was imported; fix it or use --skip-bad)\n")
    result = cli("--config", path, "import", data, "--skip-bad", "--format", "json")
    report = json.loads(result.stdout)
    assert (result.exit_code, report["new"], report["duplicates"], report["skipped"]) == (0, 1, 0, 2)


def test_unclosed_quote_in_csv_is_named_by_line_and_writes_nothing(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "m.csv"
    data.write_bytes(b"platform,id,text,created_at\nx,1,fine,2026-01-01T00:00:00Z\nx,2,\"never closed,2026-01-01T00:00:00Z\n")
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (f"Error: {data}:3: a quoted cell opened in this row is never closed, so the file ends"
                             ' inside it (a stray " in it? a file cut short?)\n')
    assert not (tmp_path / "monitor.db").exists()


def test_own_json_export_imports_back(cli, write_config, tmp_path):
    path = write_config()
    cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is great")]))
    export = tmp_path / "export.json"
    export.write_text(cli("--config", path, "mentions", "--format", "json").stdout)
    other = write_config(name="other.toml").read_text().replace("monitor.db", "other.db")
    (tmp_path / "other.toml").write_text(other)
    result = cli("--config", tmp_path / "other.toml", "import", export, "--format", "json")
    assert json.loads(result.stdout)["new"] == 1
    (row,) = _stored(cli, tmp_path / "other.toml")
    assert (row["id"], row["brand"], row["text"]) == ("1", "Acme", "acme is great")


def test_not_utf8_is_a_clear_error(cli, write_config, tmp_path):
    data = tmp_path / "m.jsonl"
    data.write_bytes(json.dumps(record("1", "caf\u00e9"), ensure_ascii=False).encode("cp1252"))
    out = cli("--config", write_config(), "import", data).output
    assert "not UTF-8 text" in out and "Traceback" not in out


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_byte_that_is_not_utf8_far_down_a_json_file_is_named_by_line_and_offset(cli, write_config, tmp_path,
                                                                                    monkeypatch, workers):
    from monitor import backfill

    monkeypatch.setattr(backfill, "PARALLEL_MIN_BYTES", 0)  # --workers 2: checked by worker processes
    monkeypatch.setattr(backfill, "RANGE_BYTES", 4096)
    good = "".join(json.dumps(record(str(i), "acme ok")) + "\n" for i in range(300)).encode()
    bad = json.dumps(record("x", "caf\u00e9 acme"), ensure_ascii=False).encode("cp1252")
    offset = len(good) + bad.index(b"\xe9")
    data = tmp_path / "m.jsonl"
    data.write_bytes(good + bad + b"\n")
    expected = f"Error: {data}:301: not UTF-8 text (invalid continuation byte at byte offset {offset}); re-save it as UTF-8"
    result = cli("--config", write_config(), "import", data, "--workers", workers)
    assert (result.exit_code, result.output.strip()) == (1, expected)
    array = tmp_path / "m.json"  # a JSON array: the same words
    array.write_bytes(b"[\n" + good.replace(b"}\n", b"},\n") + bad + b"\n]\n")
    result = cli("--config", write_config(), "import", array)
    assert (result.exit_code, result.output.strip()) == (1, expected.replace(str(data), str(array)).replace(
        f"{offset}", f"{offset + 2 + 300}").replace(":301:", ":302:"))


def _run_import(config_path, data, *, stderr_tty):
    env = {**os.environ, "COLUMNS": "80"}
    cmd = [sys.executable, "-m", "monitor", "--config", str(config_path), "import", str(data)]
    if not stderr_tty:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_and_quiet_when_piped(write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [record(str(i), f"acme {i}") for i in range(2500)])
    code, err = _run_import(path, data, stderr_tty=True)
    assert code == 0 and "Importing m.jsonl" in err and "100%" in err
    data2 = write_jsonl(tmp_path / "n.jsonl", [record(f"n{i}", f"acme {i}") for i in range(2500)])
    code, err = _run_import(path, data2, stderr_tty=False)
    assert code == 0 and err == ""


def test_platform_names_are_lower_case_in_records_and_in_platform_filters(cli, write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [record("1", "acme is slow", platform="X"), record("2", "acme is fine")])
    cli("--config", path, "import", data)
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("platform,id,text,created_at\nReddit,7,acme rocks,2026-01-01T00:00:00Z\n")
    cli("--config", path, "import", csv_file)
    cli("--config", path, "import", data)  # "X" again: the same mention, not a new platform
    assert sorted((m["platform"], m["id"]) for m in _stored(cli, path)) == [("reddit", "7"), ("x", "1"), ("x", "2")]
    for option in ("X", "x"):
        found = json.loads(cli("--config", path, "mentions", "--since", "3650d", "--platform", option, "--format", "json").stdout)
        assert sorted(m["id"] for m in found) == ["1", "2"]
    by_platform = json.loads(cli("--config", path, "summary", "--since", "3650d", "--by", "platform", "--format", "json").stdout)
    assert sorted(r["platform"] for r in by_platform["rows"]) == ["reddit", "x"]
    assert cli("--config", path, "label", "X:1", "negative").exit_code == 0
    assert cli("--config", path, "label", "7", "--platform", "REDDIT", "positive").exit_code == 0


def test_a_record_brand_must_be_a_configured_brand_in_any_case(cli, write_config, tmp_path):
    path = write_config()
    data = write_jsonl(tmp_path / "m.jsonl", [
        record("1", "parcel lost again", brand="acme"),  # stored with the configured spelling
        record("2", "who are you", brand="Nope"),
        record("3", "typo", brand="Acmee"),
    ])
    result = cli("--config", path, "import", data)
    assert result.exit_code == 1
    assert (f'{data}:2: brand "Nope" is not a configured [[brands]] name (nothing was imported; fix it or use --skip-bad)'
            in result.output)
    assert not (tmp_path / "monitor.db").exists()
    result = cli("--config", path, "import", data, "--skip-bad", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["skipped_records"] == [
        f'{data}:2: brand "Nope" is not a configured [[brands]] name',
        f'{data}:3: brand "Acmee" is not a configured [[brands]] name (did you mean "Acme"?)',
    ]
    assert [(m["id"], m["brand"]) for m in _stored(cli, path)] == [("1", "Acme")]
    by_brand = json.loads(cli("--config", path, "summary", "--since", "3650d", "--by", "brand", "--format", "json").stdout)
    assert [(r["brand"], r["volume"]) for r in by_brand["rows"]] == [("Acme", 1), ("Globex", 0)]  # no "acme" row
    # --brand assigns every mention its brand: the records' own are not looked at
    result = cli("--config", path, "import", data, "--brand", "globex", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["skipped"] == 0
    assert {m["id"]: m["brand"] for m in _stored(cli, path)} == {"1": "Acme", "2": "Globex", "3": "Globex"}


OWN_POSTS = [
    record("own1", "We are aware of an outage affecting Acme Broadband customers. Sorry!", author="acmesupport"),
    record("own2", "Globex Unlimited is now £20 a month", author="@Globex"),  # a competitor's own post
    record("rival", "Acme down again? Switch to Globex", author="globex"),  # the competitor naming us: a mention
    record("c1", "acme broke my router again", author="someone"),
    record("c2", "@acmesupport thanks, fixed", author="acmesupport_fan"),  # a handle is matched whole
    record("r1", "acme support replied", author="acmesupport", platform="reddit"),  # handles are X's user names
]


def test_posts_by_a_brands_own_handles_are_excluded_not_stored(cli, write_config, tmp_path):
    path = write_config()
    result = cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", OWN_POSTS), "--format", "json")
    assert (json.loads(result.stdout)["new"], json.loads(result.stdout)["excluded"]) == (4, 2)
    assert sorted(r["id"] for r in _stored(cli, path)) == ["c1", "c2", "r1", "rival"]


def test_a_poll_excludes_posts_by_a_brands_own_handles_too(cli, write_config, tmp_path):
    write_jsonl(tmp_path / "saved.jsonl", OWN_POSTS)
    path = write_config('[[sources]]\nname = "saved"\nplatform = "jsonl"\npath = "saved.jsonl"\n')
    (polled,) = json.loads(cli("--config", path, "poll", "--format", "json").stdout)
    assert (polled["fetched"], polled["new"], polled["excluded"]) == (6, 4, 2)
    assert sorted(r["id"] for r in _stored(cli, path)) == ["c1", "c2", "r1", "rival"]


@pytest.mark.parametrize("command", ["import", "kpi import"])
def test_a_compressed_file_is_named_as_such_with_how_to_decompress_it(cli, write_config, tmp_path, command):
    import gzip
    import lzma

    path = write_config()
    for name, data, hint in (("m.jsonl.gz", gzip.compress(b"{}\n"), "compressed with gzip; decompress it first (gunzip m.jsonl.gz)"),
                             ("m.csv", lzma.compress(b"id\n"), "compressed with xz; decompress it first (unxz m.csv)")):
        (tmp_path / name).write_bytes(data)
        result = cli("--config", path, *command.split(), tmp_path / name)
        assert result.exit_code == 1 and f"{tmp_path / name}: {hint} and import the result" in result.output, result.output
    (tmp_path / "t.csv").write_text("BZh text,id\n")  # text that only starts like a compressed file
    assert "compressed with" not in cli("--config", path, *command.split(), tmp_path / "t.csv").output
