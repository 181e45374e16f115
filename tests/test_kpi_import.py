"""`kpi import`: each tool's export, detection, encodings, bad input, idempotence.

Expected KPI values are worked out by hand from the sample files in
tests/data/kpi (see the comments); every sample is in its tool's real column
layout, except Help Scout's, whose layout is synthetic (see formats/helpscout.py).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from factories import kpi_sample
from monitor.cli.kpi import FORMAT_CHOICES
from monitor.errors import MonitorError
from monitor.kpi import formats, importer
from monitor.kpi.importer import import_export
from monitor.kpi.report import kpis_for
from monitor.storage import Store

WEEK10 = datetime(2024, 3, 4, tzinfo=timezone.utc)  # Monday 4 March 2024
WEEK11 = WEEK10 + timedelta(days=7)


def week(store: Store, start: datetime = WEEK10, days: int = 7, **settings) -> dict:
    from monitor.config import KpiConfig

    return kpis_for(store, [("w", start, start + timedelta(days=days))], timezone.utc, KpiConfig(**settings))["w"]


def rows(store: Store, table: str) -> list[dict]:
    return [dict(r) for r in store.db[table].rows_where(order_by="rowid")]


def test_cli_format_choices_are_the_importers():
    assert FORMAT_CHOICES == formats.CHOICES


def test_zendesk_ticket_export(fresh_store):
    result = import_export(fresh_store, kpi_sample("zendesk_tickets.csv"))
    assert (result.format, result.layout, result.rows) == ("zendesk", "tickets", 6)
    # Good/Bad are answers; Offered, Unoffered and blank are not.
    assert {k: vars(c) for k, c in result.records.items()} == {
        "tickets": {"new": 6, "updated": 0, "unchanged": 0, "repeated": 0, "older": 0},
        "responses": {"new": 3, "updated": 0, "unchanged": 0, "repeated": 0, "older": 0},
    }
    k = week(fresh_store)
    assert k["csat_pct"] == 66.67 and k["csat_responses"] == 3  # Good, Bad, Good
    # First reply (min) by creation: 30, 60, 15, 120, 240 -> mean 93, median 60
    assert (k["first_response_mean_s"], k["first_response_median_s"]) == (93 * 60, 60 * 60)
    # ... within business hours: 30, 45, 15, 100, 180 -> mean 74, median 45
    assert (k["first_response_business_mean_s"], k["first_response_business_median_s"]) == (74 * 60, 45 * 60)
    # Full resolution (min) of resolved tickets: 120, 1440, 90, 1440 (1006 was merged away)
    # -> mean 772.5, median (120 + 1440) / 2 = 780
    assert (k["resolution_mean_s"], k["resolution_median_s"]) == (772.5 * 60, 780 * 60)
    # ... business hours: 120, 480, 90, 600 -> mean 322.5, median 300
    assert (k["resolution_business_mean_s"], k["resolution_business_median_s"]) == (322.5 * 60, 300 * 60)
    # One-touch and never reopened: 1001 and 1003 of 4 resolved; no FCR field, so an estimate
    assert (k["fcr_pct"], k["fcr_tickets"], k["fcr_estimated"]) == (50.0, 4, True)
    # 1006 was merged into another ticket: counted there, as in Zendesk's reports
    assert (k["tickets_created"], k["tickets_resolved"]) == (5, 4)
    merged = fresh_store.conn.execute("SELECT resolved_at FROM kpi_tickets WHERE ticket_id = '1006'").fetchone()
    assert merged[0] is None and fresh_store.kpi.raw_row("tickets", ("zendesk", "1006"))["Tags"] == "closed_by_merge refund"
    # every raw value is kept, named by the header of the import
    raw = fresh_store.kpi.raw_row("tickets", ("zendesk", "1001"))
    assert (raw["Summation column"], raw["Full resolution time in minutes"], raw["Motivo do Contato [list]"]) == ("1", "120", "Billing")
    rating = rows(fresh_store, "kpi_responses")[0]
    assert (rating["response_id"], rating["label"], rating["score"], rating["raw"]) == ("ticket:1001", "Good", 5.0, None)


def test_freshdesk_ticket_export(fresh_store):
    import_export(fresh_store, kpi_sample("freshdesk_tickets.csv"))
    k = week(fresh_store)
    # Calendar first response from the timestamps: 30, 120, 10, 60 min (2005 has none)
    assert (k["first_response_mean_s"], k["first_response_median_s"]) == (3300, 2700)
    # "First response time (in hrs)", business hours HH:MM:SS: 0:30, 1:15, 0:10, 1:00;
    # 2005's 00:00:00 with no response time is "not yet", not zero
    assert (k["first_response_business_mean_s"], k["first_response_business_median_s"]) == (2625, 2700)
    # Resolved: 4 h, 48 h, 6 h; business: 4 h, 16 h, 5 h
    assert (k["resolution_mean_s"], k["resolution_median_s"]) == (69600, 21600)
    assert (k["resolution_business_mean_s"], k["resolution_business_median_s"]) == (30000, 18000)
    # Extremely happy (5), Unhappy (2), Neutral (3): 1 of 3 satisfied
    assert k["csat_pct"] == 33.33
    # One agent and one customer interaction: 2001 and 2004 of 3 resolved
    assert (k["fcr_pct"], k["fcr_estimated"]) == (66.67, True)


def test_csat_neutral_and_threshold_settings(fresh_store):
    import_export(fresh_store, kpi_sample("freshdesk_tickets.csv"))  # ratings 5, 2, 3
    assert week(fresh_store, csat_neutral="satisfied")["csat_pct"] == 66.67
    excluded = week(fresh_store, csat_neutral="exclude")
    assert (excluded["csat_pct"], excluded["csat_responses"]) == (50.0, 2)
    assert week(fresh_store, csat_satisfied_min=5)["csat_pct"] == 33.33
    assert week(fresh_store, csat_satisfied_min=2)["csat_pct"] == 100.0


def test_with_neutrals_satisfied_a_rating_above_the_middle_is_satisfied_too(cli, write_config, tmp_path):
    # On 1-7, 4 is the middle (3.0 of 1-5) and 5 is above it (3.67): counting the middle as
    # satisfied must count 5 so too, whatever csat_satisfied_min says.
    path = tmp_path / "csat7.csv"
    path.write_text("type,score,date,scale_max\ncsat,4,2024-03-05,7\ncsat,5,2024-03-05,7\ncsat,2,2024-03-05,7\n"
                    "csat,4,2024-03-05,5\ncsat,3,2024-03-05,5\n", encoding="utf-8")
    for settings, expected in (('csat_neutral = "satisfied"', 80.0), ('csat_neutral = "satisfied"\ncsat_satisfied_min = 5', 80.0),
                               ('csat_neutral = "dissatisfied"', 20.0), ('csat_neutral = "exclude"', 33.33)):
        config = write_config(f"[kpi]\n{settings}\n")
        assert cli("--config", config, "kpi", "import", path).exit_code == 0
        out = cli("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-10", "--format", "json")
        assert json.loads(out.output)["total"]["kpis"]["csat_pct"] == expected, settings


def test_intercom_conversations_take_the_zone_from_the_header(fresh_store):
    result = import_export(fresh_store, kpi_sample("intercom_conversations.csv"), timezone="America/New_York")
    assert (result.format, result.layout) == ("intercom", "conversations")
    created = {r["ticket_id"]: r["created_at"] for r in rows(fresh_store, "kpi_tickets")}
    # "(Europe/Paris)" in the header wins over --timezone: 00:30 in Paris is 23:30 UTC the day before
    assert created["215467891230003"] == "2024-03-04T23:30:00Z"
    k = week(fresh_store)
    # First response (s): 210, 32400, 60, 60 -> mean 8182.5, median (60 + 210) / 2
    assert (k["first_response_mean_s"], k["first_response_median_s"]) == (8182.5, 135)
    # Office hours: 210, 1800, 60 (3003 has none)
    assert (k["first_response_business_mean_s"], k["first_response_business_median_s"]) == (690, 210)
    # Time to close of the closed ones: 1200, 124200, 1800
    assert (k["resolution_mean_s"], k["resolution_median_s"]) == (42400, 1800)
    assert k["csat_pct"] == 66.67  # ratings 5, 2, 4
    # "Resolved on first contact": true, false, true -- Intercom's own field, not an estimate
    assert (k["fcr_pct"], k["fcr_estimated"]) == (66.67, False)


def test_intercom_csat_export_and_the_conversation_export_agree(fresh_store):
    import_export(fresh_store, kpi_sample("intercom_conversations.csv"))
    csat = import_export(fresh_store, kpi_sample("intercom_csat.csv"))
    assert csat.layout == "csat"
    # 3001's rating is the same answer: dated now by the CSAT export; 3005 is new
    assert (csat.total.new, csat.total.updated) == (1, 1)
    again = import_export(fresh_store, kpi_sample("intercom_conversations.csv"))
    # the conversation export (rating time unknown) does not overwrite the dated answer
    assert (again.total.new, again.total.updated, again.total.unchanged) == (0, 0, 7)
    rated = fresh_store.conn.execute(
        "SELECT responded_at FROM kpi_responses WHERE response_id = 'ticket:215467891230001'"
    ).fetchone()[0]
    assert rated == "2024-03-04T10:00:00Z"  # 11:00 Paris
    assert week(fresh_store)["csat_responses"] == 4  # 5, 2, 4, 3


def test_helpscout_conversations(fresh_store):
    result = import_export(fresh_store, kpi_sample("helpscout_conversations.csv"))
    assert (result.format, result.layout) == ("helpscout", "conversations")
    k = week(fresh_store)
    assert k["csat_pct"] == 33.33  # Great, Okay, Not Good
    assert (k["first_response_mean_s"], k["first_response_median_s"]) == (2430, 1200)  # 1800, 120, 600, 7200
    assert (k["resolution_mean_s"], k["resolution_median_s"]) == (33600, 10800)  # 10800, 3600, 86400
    assert k["fcr_pct"] is None and k["fcr_tickets"] == 0  # no replies column: not guessed
    labels = [r["label"] for r in rows(fresh_store, "kpi_responses")]
    assert labels == ["Great", "Okay", "Not Good"]


def test_helpscout_counts_a_conversation_resolved_as_help_scout_does(cli, write_config, tmp_path):
    # Help Scout: resolved = closed with at least one user reply; resolved on first reply = one reply.
    path = tmp_path / "helpscout.csv"
    path.write_text(
        "Conversation ID,Conversation Number,Created At,Closed At,Status,Type,Rating Comments,Replies,Resolution Time (seconds)\n"
        "1,11,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,closed,email,,0,3600\n"  # closed unanswered
        "2,12,2024-03-04T09:00:00Z,2024-03-04T11:00:00Z,closed,email,,1,7200\n"
        "3,13,2024-03-05T09:00:00Z,2024-03-05T13:00:00Z,closed,email,,2,14400\n",
        encoding="utf-8",
    )
    config = write_config()
    assert cli("--config", config, "kpi", "import", path).exit_code == 0
    kpis = json.loads(cli("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-10",
                          "--format", "json").output)["total"]["kpis"]
    assert (kpis["tickets_created"], kpis["tickets_resolved"], kpis["resolution_mean_s"]) == (3, 2, 10800)
    assert (kpis["fcr_pct"], kpis["fcr_tickets"]) == (50.0, 2)  # 1 of 2, not 2 of 3


def test_generic_tickets(fresh_store):
    import_export(fresh_store, kpi_sample("generic_tickets.csv"))
    k = week(fresh_store, WEEK11)
    # G1 from its timestamps (20 min), G2 "45" in a "(minutes)" column, G3 30 min (+01:00 offset)
    assert (k["first_response_mean_s"], k["first_response_median_s"]) == (1900, 1800)
    # G1 from its timestamps (1 h), G2 written "24h"
    assert (k["resolution_mean_s"], k["resolution_median_s"]) == (45000, 45000)
    assert k["csat_pct"] == 50.0  # 5 and 3
    assert (k["fcr_pct"], k["fcr_estimated"]) == (50.0, False)


def test_generic_surveys(fresh_store):
    result = import_export(fresh_store, kpi_sample("generic_surveys.csv"))
    assert (result.layout, result.total.new) == ("surveys", 13)  # identical answers stay distinct
    k = week(fresh_store, WEEK11)
    # NPS 10, 9, 8, 6, 0, 10, 10: 4 promoters, 1 passive, 2 detractors -> (4 - 2) / 7
    assert (k["nps"], k["nps_responses"]) == (28.57, 7)
    # CES 6, 7, 4, 5 on 1-7 and 4 on 1-5 (= 5.5 on 1-7): 27.5 / 5
    assert (k["ces"], k["ces_responses"]) == (5.5, 5)
    assert k["csat_pct"] == 100.0


def test_generic_period_figures(fresh_store):
    result = import_export(fresh_store, kpi_sample("generic_figures.csv"))
    assert (result.layout, result.total.new) == ("figures", 12)
    import_export(fresh_store, kpi_sample("zendesk_tickets.csv"))  # 4 resolved in week 10
    import_export(fresh_store, kpi_sample("generic_tickets.csv"))  # 2 resolved in week 11
    w10, w11 = week(fresh_store), week(fresh_store, WEEK11)
    assert (w10["retention_pct"], w10["abandonment_pct"], w10["cost_per_resolution"]) == (98.0, 5.0, 2000.0)
    # (1050 - 40) / 1030; (500 - 460) / 500; 9000 / 2
    assert (w11["retention_pct"], w11["abandonment_pct"], w11["cost_per_resolution"]) == (98.06, 8.0, 4500.0)
    both = week(fresh_store, WEEK10, 14)
    # S from the first week, E from the last, N summed: (1050 - 90) / 1000; 60 / 900; 17000 / 6
    assert (both["retention_pct"], both["abandonment_pct"], both["cost_per_resolution"]) == (96.0, 6.67, 2833.33)
    one_day = week(fresh_store, WEEK10, 1)
    assert one_day["retention_pct"] is None  # a week's figures say nothing about one day


@pytest.mark.parametrize(
    ("name", "fmt", "layout"),
    [
        ("zendesk_tickets.csv", "zendesk", "tickets"),
        ("zendesk_bom.csv", "zendesk", "tickets"),
        ("freshdesk_tickets.csv", "freshdesk", "tickets"),
        ("freshdesk_cp1252.csv", "freshdesk", "tickets"),
        ("intercom_conversations.csv", "intercom", "conversations"),
        ("intercom_csat.csv", "intercom", "csat"),
        ("helpscout_conversations.csv", "helpscout", "conversations"),
        ("generic_tickets.csv", "generic", "tickets"),
        ("generic_surveys.csv", "generic", "surveys"),
        ("generic_figures.csv", "generic", "figures"),
    ],
)
def test_every_sample_is_detected_from_its_header(fresh_store, name, fmt, layout):
    result = import_export(fresh_store, kpi_sample(name))
    assert (result.format, result.layout) == (fmt, layout)
    assert result.rows > 0


def test_headers_match_whatever_the_case_spacing_and_aliases(fresh_store, tmp_path):
    path = tmp_path / "explore.csv"
    path.write_text(
        "TICKET ID,  created_AT ,Solved at,Satisfaction score,first reply time (min)\n"
        "77,2024-03-04 09:00,2024-03-04 10:00,good,45\n",
        encoding="utf-8",
    )
    result = import_export(fresh_store, path)
    assert result.format == "zendesk"
    k = week(fresh_store)
    assert (k["first_response_median_s"], k["csat_pct"]) == (2700, 100.0)


def test_zendesk_report_without_resolution_minutes_takes_them_from_its_times(cli, write_config, tmp_path):
    # An Explore report of timestamps only: resolution is created -> solved (the last
    # solve, as Zendesk's full resolution time), in the period the ticket was solved.
    path = tmp_path / "explore.csv"
    path.write_text(
        "Ticket ID,Ticket created - Timestamp,Ticket solved - Timestamp,Ticket status,Satisfaction rating\n"
        "1,2024-03-04 09:00,2024-03-04 13:00,Solved,Good\n"
        "2,2024-03-01 10:00,2024-03-05 12:30,Closed,Bad\n"
        "3,2024-03-05 10:00,2024-03-05 11:00,Open,\n",
        encoding="utf-8",
    )
    config = write_config()
    result = cli("--config", config, "kpi", "import", path)  # told from Explore's names
    assert result.exit_code == 0 and "zendesk" in result.output, result.output
    out = json.loads(cli("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-10",
                         "--format", "json").output)["total"]["kpis"]
    # 4 h and 4 d 2 h 30 m (created the week before); ticket 3 was reopened: not resolved
    assert (out["resolution_count"], out["resolution_mean_s"], out["resolution_median_s"]) == (
        2, (4 * 3600 + 354600) / 2, (4 * 3600 + 354600) / 2)


def test_intercom_header_without_a_zone_uses_the_import_zone(fresh_store, tmp_path):
    path = tmp_path / "conversations.csv"
    path.write_text("Conversation ID,Conversation started at,Last teammate rating\n9,2024-03-04 10:00:00,4\n")
    import_export(fresh_store, path, timezone="Europe/Paris")
    assert rows(fresh_store, "kpi_tickets")[0]["created_at"] == "2024-03-04T09:00:00Z"


def test_timezone_option_and_config_for_offsetless_times(cli, write_config):
    config = write_config('[kpi]\ntimezone = "Europe/Paris"\n')
    cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv"))
    with Store.open(config.parent / "monitor.db") as store:
        assert store.conn.execute("SELECT created_at FROM kpi_tickets WHERE ticket_id = '1001'").fetchone()[0] == "2024-03-04T08:00:00Z"
    cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv"), "--timezone", "UTC")
    with Store.open(config.parent / "monitor.db") as store:
        assert store.conn.execute("SELECT created_at FROM kpi_tickets WHERE ticket_id = '1001'").fetchone()[0] == "2024-03-04T09:00:00Z"
        # the raw value is kept as written
        assert store.kpi.raw_row("tickets", ("zendesk", "1001"))["Created at"] == "2024-03-04 09:00"



@pytest.mark.parametrize("written", ["Europe/Pari", "europe/paris"])
def test_an_unknown_timezone_suggests_the_closest_zone(cli, write_config, written):
    # "--timezone Europe/Pari" said only "use an IANA name such as Europe/Paris"; config the same.
    config = write_config()
    result = cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv"), "--timezone", written)
    assert result.exit_code == 1
    assert result.output == f'Error: --timezone: unknown time zone "{written}" (did you mean "Europe/Paris"?)\n'
    for name, toml in [("monitor", f'[monitor]\ntimezone = "{written}"\n'), ("kpi", f'[kpi]\ntimezone = "{written}"\n')]:
        bad = write_config(toml, base=name == "kpi", name=f"{name}.toml")  # the base config sets [monitor]
        result = cli("--config", bad, "kpi", "import", kpi_sample("zendesk_tickets.csv"))
        assert result.exit_code == 1
        assert f'[{name}]: timezone: unknown time zone "{written}" (did you mean "Europe/Paris"?)' in result.output


# ------------------------------------------------------------ encodings
def test_utf8_bom_file(fresh_store):
    result = import_export(fresh_store, kpi_sample("zendesk_bom.csv"))
    assert result.encoding == "utf-8-sig"
    raw = fresh_store.kpi.raw_row("tickets", ("zendesk", "1101"))
    assert "Summation column" in raw  # the BOM is not part of the first header
    assert raw["Subject"] == "Pedido não chegou" and raw["Tags"] == "informação_pedido"


def test_windows_1252_file(fresh_store):
    result = import_export(fresh_store, kpi_sample("freshdesk_cp1252.csv"))
    assert result.encoding == "cp1252"
    raw = fresh_store.kpi.raw_row("tickets", ("freshdesk", "2101"))
    assert raw["Subject"] == "Remboursement de 49 € non reçu" and raw["Agent"] == "Amélie Durand"


def test_utf16_tab_separated_file_from_excel(fresh_store, tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_text("type\tscore\tdate\nnps\t10\t2024-03-04\ncsat\t4\t2024-03-04\n", encoding="utf-16")
    result = import_export(fresh_store, path)
    assert (result.encoding, result.layout, result.rows) == ("utf-16", "surveys", 2)


def test_unknown_encoding_is_a_clear_error(cli, write_config, tmp_path):
    path = tmp_path / "weird.csv"
    path.write_bytes(b"type,score,date,comment\nnps,10,2024-03-04,\x81\x8d\x90\n")
    result = cli("--config", write_config(), "kpi", "import", path)
    assert result.exit_code == 1
    assert "unknown text encoding: not UTF-8 (byte 0x81 at offset 42) and not Windows-1252" in result.output
    assert "--encoding" in result.output and "Traceback" not in result.output


def test_utf16_without_bom_is_recognised(fresh_store, tmp_path):
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes("type,score,date\nnps,10,2024-03-04\ncsat,4,2024-03-04\n".encode(encoding))
        result = import_export(fresh_store, path)
        assert (result.encoding, result.layout, result.rows) == (encoding, "surveys", 2)


@pytest.mark.parametrize(("encoding", "script"), [
    ("shift_jis", "Chinese, Japanese or Korean"), ("gbk", "Chinese, Japanese or Korean"), ("cp1251", "Cyrillic"),
])
def test_east_asian_or_cyrillic_file_is_refused_not_read_as_windows_1252(cli, write_config, tmp_path, encoding, script):
    comments = {"shift_jis": ["返金がまだです", "ありがとうございました"], "gbk": ["退款还没有到账", "谢谢你们的帮助"],
                "cp1251": ["Возврат денег не получен", "Спасибо за помощь"]}[encoding]
    path = tmp_path / "survey.csv"
    path.write_bytes(f"type,score,date,comment\nnps,2,2024-03-04,{comments[0]}\nnps,10,2024-03-04,{comments[1]}\n".encode(encoding))
    result = cli("--config", write_config(), "kpi", "import", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"not UTF-8 (byte 0x{comments[0].encode(encoding)[0]:02x} at offset 41), and it reads like {script} text" in result.output
    assert "rather than Windows-1252; pass --encoding" in result.output
    ok = cli("--config", write_config(), "kpi", "import", path, "--encoding", encoding, "--output", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["rows"] == 2


def test_shift_jis_file_that_windows_1252_cannot_decode_gets_the_cp932_hint(cli, write_config, tmp_path):
    # "、" and "。" are 0x81 0x41 / 0x81 0x42 in Shift-JIS: 0x81 is undefined in Windows-1252,
    # so this is the commoner case of the hint than the one above.
    texts = ["お問い合わせありがとうございます", "商品が届きません。返金をお願いします", "配送が遅れています、いつ届きますか"]
    survey, mentions = tmp_path / "survey.csv", tmp_path / "mentions.csv"
    survey.write_bytes("".join(f"csat,4,2024-03-04,{t}\r\n" for t in ["comment", *texts]).replace(
        "csat,4,2024-03-04,comment", "type,score,date,comment").encode("cp932"))
    mentions.write_bytes("".join(f"x,{i},{t},2024-03-04T10:00:00Z\r\n" for i, t in enumerate(texts)).join(
        ["platform,id,text,created_at\r\n", ""]).encode("cp932"))
    with pytest.raises(UnicodeDecodeError):
        survey.read_bytes().decode("cp1252")
    config = write_config()
    kpi = cli("--config", config, "kpi", "import", survey)
    backfill = cli("--config", config, "import", mentions)
    for result in (kpi, backfill):
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "and it reads like Chinese, Japanese or Korean text (perhaps cp932) rather than Windows-1252" in result.output
    assert "pass --encoding cp932 if that is right, or re-save it as UTF-8" in kpi.output
    assert backfill.output.rstrip().endswith("rather than Windows-1252; re-save it as UTF-8")  # import has no --encoding


def test_explicit_encoding(fresh_store, cli, write_config):
    result = import_export(fresh_store, kpi_sample("freshdesk_cp1252.csv"), encoding="latin-1")
    assert result.encoding == "iso8859-1"
    with pytest.raises(MonitorError, match=r"freshdesk_cp1252.csv:2: not utf-8 text: b'Remboursement de 49 \\x80 non re\\xe7u'"):
        import_export(fresh_store, kpi_sample("freshdesk_cp1252.csv"), encoding="utf-8")
    out = cli("--config", write_config(), "kpi", "import", kpi_sample("zendesk_tickets.csv"), "--encoding", "klingon")
    assert out.exit_code == 1 and 'unknown encoding "klingon"' in out.output


@pytest.mark.parametrize(("encoding", "reason"), [
    ("utf-16", ":1: not utf-16 text (UTF-16 stream does not start with BOM at byte offset 0)"),
    ("utf-16-le", ":1: not utf-16-le text (truncated data at byte offset 26)"),
    ("utf-32", ":1: not utf-32 text (code point not in range(0x110000) at byte offset 0)"),
    ("rot13", ': "rot13" is not a text encoding'),
    ("idna", ': "idna" is not a text encoding'),
])
def test_wrong_explicit_encoding_is_one_clear_error(cli, write_config, tmp_path, encoding, reason):
    path = tmp_path / "plain.csv"
    path.write_bytes(b"id,created_at\n1,2024-03-01\n")
    result = cli("--config", write_config(), "kpi", "import", path, "--encoding", encoding)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.count("Error:") == 1
    if reason.startswith(":1:"):
        assert f"{path}{reason}; re-save it as UTF-8 or pass the right --encoding" in result.output
    else:
        assert reason in result.output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_bom_less_file_with_a_bad_unit_names_the_missing_bom(cli, write_config, tmp_path, encoding):
    # The decoder meets the bad unit before it notices there is no BOM: was a traceback.
    path = tmp_path / "nobom.csv"
    path.write_bytes("type,score,date\n".encode(f"{encoding}-le") + b"\x00\xd8\x41\x00\x00\x00")
    result = cli("--config", write_config(), "kpi", "import", path, "--encoding", encoding)
    assert result.exit_code == 1 and "Traceback" not in result.output
    name = encoding.upper()
    assert (f"{path}:1: not {encoding} text ({name} stream does not start with BOM at byte offset 0);"
            " re-save it as UTF-8 or pass the right --encoding") in result.output


def test_damaged_utf16_file_is_refused_at_its_line(cli, write_config, tmp_path):
    path = tmp_path / "u16bad.csv"
    path.write_bytes(b"\xff\xfei\x00d\x00\n\x00\x00\xdc\n\x00")  # a lone low surrogate on line 2
    config = write_config()
    kpi, mentions = cli("--config", config, "kpi", "import", path), cli("--config", config, "import", path)
    for result in (kpi, mentions):
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"{path}:2: not utf-16 text (illegal encoding at byte offset 8); re-save it as UTF-8" in result.output
    assert "or pass the right --encoding" in kpi.output and "--encoding" not in mentions.output


def test_damaged_utf16_row_far_down_is_named_by_its_line(fresh_store, tmp_path):
    # The text is decoded a chunk ahead of the rows read: the line is found from the byte.
    path = tmp_path / "long.csv"
    lines = "".join(f"csat,4,2024-03-04,row {i}\r\n" for i in range(2, 1001))
    data = ("type,score,date,comment\r\n" + lines).encode("utf-16")
    bad = data.index("row 700".encode("utf-16-le"))
    path.write_bytes(data[:bad] + b"\x00\xdc" + data[bad + 2:])
    with pytest.raises(MonitorError, match=rf"long.csv:700: not utf-16 text \(illegal encoding at byte offset {bad}\)"):
        import_export(fresh_store, path)
    assert rows(fresh_store, "kpi_responses") == []


def test_damaged_zip_file_is_refused(cli, write_config, tmp_path):
    path = tmp_path / "corrupt.zip"
    path.write_bytes(bytes(range(256)) + bytes(range(44)))
    result = cli("--config", write_config(), "kpi", "import", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}: damaged zip file (no zip directory at its end)" in result.output


def test_zip_as_zendesk_mails_it(fresh_store, tmp_path):
    path = tmp_path / "export-2024-03-08-1200-12345-abc.csv.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(kpi_sample("zendesk_tickets.csv"), "export-2024-03-08-1200-12345-abc.csv")
    result = import_export(fresh_store, path)
    assert (result.format, result.rows) == ("zendesk", 6)


# ------------------------------------------------------------- bad input
def _refused(cli, write_config, path: Path) -> str:
    """The output of a `kpi import` of ``path`` that fails in one line and stores nothing."""
    config = write_config()
    result = cli("--config", config, "kpi", "import", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert _stored(config) == {"tickets": 0, "responses": 0, "figures": 0, "imports": 0}
    return result.output


def _stored(config: Path) -> dict[str, int]:
    with Store.open(config.parent / "monitor.db") as store:
        counts = store.kpi.counts()
        counts["imports"] = len(store.kpi.imports())
        return counts


def test_missing_columns_are_named_before_anything_is_written(cli, write_config):
    config = write_config()
    result = cli("--config", config, "kpi", "import", kpi_sample("zendesk_missing_column.csv"))
    assert result.exit_code == 1
    assert "not a complete Zendesk ticket export: missing column(s) 'Created at'" in result.output
    assert "expected Id, Created at (optional: " in result.output
    assert "found: 'Summation column', 'Id', 'Requester'," in result.output
    assert _stored(config) == {"tickets": 0, "responses": 0, "figures": 0, "imports": 0}


def test_a_forced_format_that_does_not_fit(cli, write_config):
    result = cli("--config", write_config(), "kpi", "import", kpi_sample("zendesk_tickets.csv"), "--format", "freshdesk")
    assert result.exit_code == 1
    assert "not a complete Freshdesk ticket export: missing column(s) 'Ticket ID', 'Created time'" in result.output


def test_unrecognised_header(cli, write_config, tmp_path):
    path = tmp_path / "mystery.csv"
    path.write_text("foo,bar\n1,2\n")
    result = cli("--config", write_config(), "kpi", "import", path)
    assert result.exit_code == 1
    assert "cannot tell which tool wrote this export from its header; found: 'foo', 'bar'." in result.output
    assert "--format (zendesk, freshdesk, intercom, helpscout, generic)" in result.output


def test_bad_date_names_file_line_and_value_and_writes_nothing(cli, write_config):
    config = write_config()
    result = cli("--config", config, "kpi", "import", kpi_sample("generic_bad_date.csv"))
    assert result.exit_code == 1
    assert f"{kpi_sample('generic_bad_date.csv')}:4: column \"created_at\": '2024-31-03 09:00' is not a date and time" in result.output
    assert "nothing was imported" in result.output
    assert _stored(config) == {"tickets": 0, "responses": 0, "figures": 0, "imports": 0}


def _sample_with(tmp_path: Path, sample: str, header: str, value: str) -> Path:
    """A copy of a sample export whose first row has ``value`` in column ``header``
    (added, empty in the other rows, when the sample has no such column)."""
    rows = list(csv.reader(io.StringIO(kpi_sample(sample).read_text(encoding="utf-8-sig"), newline="")))
    if header not in rows[0]:
        rows = [[*row, header if i == 0 else value if i == 1 else ""] for i, row in enumerate(rows)]
    else:
        rows[1][rows[0].index(header)] = value
    path = tmp_path / sample
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize(("sample", "header"), [
    ("generic_tickets.csv", "created_at"), ("zendesk_tickets.csv", "Created at"),
    ("freshdesk_tickets.csv", "Created time"), ("intercom_conversations.csv", "Conversation created at (Europe/Paris)"),
    ("intercom_csat.csv", "Updated at (Europe/Paris)"), ("helpscout_conversations.csv", "Created At"),
])
def test_a_blank_required_time_is_named_not_a_traceback(cli, write_config, tmp_path, sample, header):
    path = _sample_with(tmp_path, sample, header, "")
    output = _refused(cli, write_config, path)
    assert f'{path}:2: column "{header}": \'\' is not filled in (this column is required)' in output


def test_bad_number_names_file_line_and_value(fresh_store, tmp_path):
    path = tmp_path / "zendesk.csv"
    source = kpi_sample("zendesk_tickets.csv").read_text(encoding="utf-8").splitlines()
    assert source[3].count(",0,1,15,") == 1  # ticket 1003: Reopens, Replies, First reply time
    path.write_text("\n".join([*source[:3], source[3].replace(",0,1,15,", ",0,one,15,"), *source[4:]]) + "\n")
    with pytest.raises(MonitorError) as caught:
        import_export(fresh_store, path)
    assert f"{path}:4: column \"Replies\": 'one' is not a number" in str(caught.value)


def test_a_bad_row_after_many_batches_rolls_back_the_whole_file(fresh_store, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "created_at", "resolved_at", "replies"])
        for i in range(5000):
            writer.writerow([f"T{i}", "2024-03-04T09:00:00Z", "2024-03-04T10:00:00Z", 1])
        writer.writerow(["T-bad", "2024-03-04T09:00:00Z", "2024-03-04T10:00:00Z", "-3"])
    with pytest.raises(MonitorError, match=r"big.csv:5002: column \"replies\": -3 is negative"):
        import_export(fresh_store, path)
    assert fresh_store.kpi.counts() == {"tickets": 0, "responses": 0, "figures": 0}
    assert fresh_store.kpi.imports() == []


@pytest.mark.parametrize(("signame", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
@pytest.mark.parametrize(("method", "stored"), [("save", False), ("finish_import", True)])
def test_ctrl_c_or_sigterm_says_whether_the_file_was_imported_and_exits_128_plus_the_signal(
    cli, write_config, monkeypatch, signame, code, method, stored,
):
    import os
    import signal

    from monitor.storage.kpi import KpiStore

    path = write_config()
    monkeypatch.setattr(importer, "BATCH", 2)  # saves in the middle of the file
    original = getattr(KpiStore, method)
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(method)
        if len(calls) == 2 or method == "finish_import":  # mid-file, or while the last batch is stored
            os.kill(os.getpid(), getattr(signal, signame))  # delivered at once to this (the main) thread
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KpiStore, method, interrupted)
    def ignored(*_):  # a SIGTERM the command does not take kills no test run
        pass

    outside = signal.signal(signal.SIGTERM, ignored)
    try:
        result = cli("--config", path, "kpi", "import", kpi_sample("zendesk_tickets.csv"))
        assert signal.getsignal(signal.SIGTERM) is ignored  # the command's own handler is gone
    finally:
        signal.signal(signal.SIGTERM, outside)
    assert result.exit_code == code and "Traceback" not in result.output and "Aborted" not in result.output
    with Store.open(path.parent / "monitor.db") as store:
        counts, imports = store.kpi.counts(), store.kpi.imports()
    if stored:  # taken once the transaction committed: all of it is there, and said
        assert result.output.strip() == "Interrupted once the file was imported whole (its counts were not printed)."
        assert counts == {"tickets": 6, "responses": 3, "figures": 0} and len(imports) == 1
    else:
        assert result.output.strip() == ("Interrupted: nothing was imported (a file imports in one transaction or"
                                         " not at all); run the same import again.")
        assert counts == {"tickets": 0, "responses": 0, "figures": 0} and imports == []
    monkeypatch.setattr(KpiStore, method, original)
    again = cli("--config", path, "kpi", "import", kpi_sample("zendesk_tickets.csv"), "--output", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["new"] == (0 if stored else 9)


@pytest.mark.parametrize(("cells", "message"), [
    ("10,50,", 'column "contacts_handled": 50 is more than "contacts_offered" (10)'),
    ("10,5,-100", 'column "operating_cost": -100 is negative'),
    ("-10,,", 'column "contacts_offered": -10 is negative'),
    ("10.5,,", "column \"contacts_offered\": '10.5' is not a whole number"),
])
def test_figures_that_cannot_be_true_are_refused_and_nothing_is_written(cli, write_config, tmp_path, cells, message):
    path = tmp_path / "figures.csv"
    path.write_text(f"start,end,contacts_offered,contacts_handled,operating_cost\n"
                    f"2024-03-04,2024-03-10,100,90,5000\n2024-03-11,2024-03-17,{cells}\n")
    output = _refused(cli, write_config, path)
    assert f"{path}:3: {message}; nothing was imported" in output


@pytest.mark.parametrize(("sample", "header", "value"), [
    ("generic_figures.csv", "customers_new", "-50"),
    ("generic_tickets.csv", "replies", "-1"),
    ("generic_tickets.csv", "first_response_time (minutes)", "-5"),
    ("zendesk_tickets.csv", "First reply time in minutes", "-38"),
    ("zendesk_tickets.csv", "Reopens", "-1"),
    ("freshdesk_tickets.csv", "Resolution time (in hrs)", "-01:30:00"),
    ("freshdesk_tickets.csv", "Agent interactions", "-2"),
    ("intercom_conversations.csv", "Time to close (seconds)", "-60"),
    ("helpscout_conversations.csv", "Replies", "-1"),
])
def test_negative_counts_and_durations_are_refused_in_every_format(cli, write_config, tmp_path, sample, header, value):
    path = _sample_with(tmp_path, sample, header, value)
    output = _refused(cli, write_config, path)
    assert f'{path}:2: column "{header}": {value} is negative; nothing was imported' in output


@pytest.mark.parametrize(("sample", "header", "value", "reason"), [
    ("generic_tickets.csv", "replies", "99999999999999999999", "is too large for a count (at most 999999999999999)"),
    ("generic_tickets.csv", "reopens", "9223372036854775808", "is too large for a count (at most 999999999999999)"),
    ("zendesk_tickets.csv", "Replies", "1" + "0" * 30, "is too large for a count"),
    ("freshdesk_tickets.csv", "Customer interactions", "99999999999999999999", "is too large for a count"),
    ("generic_figures.csv", "contacts_offered", "99999999999999999999999", "is too large for a count"),
    ("generic_tickets.csv", "first_response_time (minutes)", "100000000000000", "is more than 100 years"),
    ("zendesk_tickets.csv", "Full resolution time in minutes", "52596001", "is more than 100 years"),
    ("intercom_conversations.csv", "Time to close (seconds)", "3155760001", "is more than 100 years"),
])
def test_counts_and_durations_too_large_are_refused_not_a_traceback(cli, write_config, tmp_path, sample, header, value, reason):
    path = _sample_with(tmp_path, sample, header, value)
    output = _refused(cli, write_config, path)
    assert f'{path}:2: column "{header}": {value} {reason}' in output and "nothing was imported" in output


@pytest.mark.parametrize(("sample", "header", "value", "created"), [
    ("generic_tickets.csv", "resolved_at", "2024-03-11T08:00:00Z", ("created_at", "2024-03-11T09:00:00Z")),
    ("generic_tickets.csv", "first_response_at", "2024-03-11T08:59:00Z", ("created_at", "2024-03-11T09:00:00Z")),
    ("zendesk_tickets.csv", "Solved at", "2024-03-04 08:00", ("Created at", "2024-03-04 09:00")),
    ("freshdesk_tickets.csv", "Resolved time", "2024-03-04 08:00:00", ("Created time", "2024-03-04 09:00:00")),
    ("freshdesk_tickets.csv", "Initial response time", "2024-03-04 08:00:00", ("Created time", "2024-03-04 09:00:00")),
    ("intercom_conversations.csv", "Conversation last closed at (Europe/Paris)", "2024-03-04 09:00:00",
     ("Conversation created at (Europe/Paris)", "2024-03-04 10:00:00")),
    ("helpscout_conversations.csv", "Closed At", "2024-03-04T08:00:00Z", ("Created At", "2024-03-04T09:00:00Z")),
])
def test_a_ticket_answered_or_resolved_before_it_was_created_is_refused(cli, write_config, tmp_path, sample, header, value, created):
    path = _sample_with(tmp_path, sample, header, value)
    output = _refused(cli, write_config, path)
    assert (f'{path}:2: column "{header}": {value} is before "{created[0]}" ({created[1]}); nothing was imported'
            in output)


@pytest.mark.parametrize(("row", "message"), [
    ("csat,1,2024-03-04,0", "column \"scale_max\": '0' is not at least 2"),  # was read as no scale: 1-5
    ("csat,1,2024-03-04,-3", "column \"scale_max\": '-3' is not at least 2"),
    ("ces,1,2024-03-04,1", "column \"scale_max\": '1' is not at least 2"),
    ("ces,1,2024-03-04,7.5", "column \"scale_max\": '7.5' is not a whole number"),
    ("nps,1,2024-03-04,0", "column \"scale_max\": '0' is not 10 (NPS is asked 0-10)"),
    ("csat,4,0001-01-01,", 'column "date": 0001-01-01 is out of range: dates run from 1900-01-01 to 9998-12-31'),
    ("csat,4,9999-12-31,", 'column "date": 9999-12-31 is out of range: dates run from 1900-01-01 to 9998-12-31'),
    ("csat,4,0001-01-01T00:30:00+01:00,",  # before year 1 in UTC: no traceback either
     'column "date": 0001-01-01T00:30:00+01:00 is out of range: dates run from 1900-01-01 to 9998-12-31'),
])
def test_survey_answers_that_cannot_be_true_are_refused(cli, write_config, tmp_path, row, message):
    path = tmp_path / "surveys.csv"
    path.write_text(f"type,score,date,scale_max\ncsat,4,2024-03-04,5\n{row}\n")
    output = _refused(cli, write_config, path)
    assert f"{path}:3: {message}; nothing was imported" in output


def test_dates_the_commands_take_are_accepted_to_the_ends_of_the_range(fresh_store, tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text("start,end,customers_new\n1900-01-01,9998-12-31,3\n")
    assert import_export(fresh_store, path).rows == 1
    path.write_text("start,end,customers_new\n1899-12-31,1900-01-01,3\n")
    with pytest.raises(MonitorError, match=r'figures.csv:2: column "start": 1899-12-31 is out of range'):
        import_export(fresh_store, path)


@pytest.mark.parametrize(("header", "row", "message"), [
    ("type,score,date,score", "csat,4,2024-03-04,5", "the column 'score' is in the header 2 times (columns 2, 4)"),
    ("id,created_at,Created_At,resolved_at", "T1,2024-03-04,2024-03-05,", "the column 'created_at' is in the header 2 times (columns 2, 3)"),
])
def test_a_column_read_twice_in_the_header_is_refused(cli, write_config, tmp_path, header, row, message):
    path = tmp_path / "twice.csv"
    path.write_text(f"{header}\n{row}\n")
    output = _refused(cli, write_config, path)
    assert f"{path}: {message}; keep one (nothing was imported)" in output


def test_a_column_not_read_may_be_in_the_header_twice(fresh_store, tmp_path):
    path = tmp_path / "surveys.csv"
    path.write_text("type,score,date,note,note\ncsat,4,2024-03-04,a,b\n")
    assert import_export(fresh_store, path).rows == 1


def test_an_id_repeated_in_the_file_is_counted_once_and_said_and_the_last_row_kept(cli, write_config, tmp_path):
    path = tmp_path / "surveys.csv"
    path.write_text("id,type,score,date\nR1,csat,2,2024-03-04\nR2,nps,9,2024-03-04\nR1,csat,5,2024-03-05\n")
    config = write_config()
    result = cli("--config", config, "kpi", "import", path, "--output", "json")
    out = json.loads(result.stdout)
    assert (out["rows"], out["new"], out["repeated"]) == (3, 2, 1)
    assert out["records"] == {"responses": {"new": 2, "updated": 0, "unchanged": 0, "repeated": 1, "older": 0}}
    assert ("note: records repeating the id of an earlier row of the file: responses 1 (each id counted once,"
            " its last row kept" in result.stderr)
    table = cli("--config", config, "kpi", "import", path)
    header, _, row = table.stdout.splitlines()[:3]
    assert header.split()[-3:] == ["unchanged", "older", "repeated"] and row.split()[-6:] == ["responses", "0", "0", "2", "0", "1"]
    with Store.open(config.parent / "monitor.db") as store:
        assert [(r["response_id"], r["score"]) for r in rows(store, "kpi_responses")] == [("R1", 5.0), ("R2", 9.0)]


def test_repeats_are_counted_and_kept_alike_within_and_across_batches(fresh_store, tmp_path, monkeypatch):
    # Help Scout: conversation 7 twice, rated with a date, then again without one.
    path = tmp_path / "helpscout.csv"
    path.write_text(
        "Conversation ID,Created At,Closed At,Status,Rating,Rating Created At\n"
        "7,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,closed,Great,2024-03-04T11:00:00Z\n"
        "8,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,closed,,\n"
        "7,2024-03-04T09:00:00Z,2024-03-04T12:00:00Z,closed,Not Good,\n"
    )
    results = {}
    for batch in (1000, 1):
        monkeypatch.setattr(importer, "BATCH", batch)
        with Store.open(tmp_path / f"b{batch}.db") as store:
            result = import_export(store, path)
            results[batch] = (result.as_dict()["records"], rows(store, "kpi_tickets"), rows(store, "kpi_responses"))
    assert results[1] == results[1000]
    records, tickets, responses = results[1]
    assert records == {"tickets": {"new": 2, "updated": 0, "unchanged": 0, "repeated": 1, "older": 0},
                       "responses": {"new": 1, "updated": 0, "unchanged": 0, "repeated": 1, "older": 0}}
    assert [t["resolved_at"] for t in tickets if t["ticket_id"] == "7"] == ["2024-03-04T12:00:00Z"]  # the last row
    assert [(r["label"], r["dated"]) for r in responses] == [("Great", 1)]  # an undated rating never replaces a dated one


def test_a_stored_record_repeated_with_a_change_counts_as_updated_in_any_batch(fresh_store, tmp_path, monkeypatch):
    # Ticket 7 is stored; the file repeats it, first as stored, then changed.
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    header = "Conversation ID,Created At,Closed At,Status,Rating,Rating Created At\n"
    first = "7,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,closed,,\n"
    before.write_text(header + first)
    after.write_text(header + first + "7,2024-03-04T09:00:00Z,2024-03-04T12:00:00Z,closed,,\n")
    results = {}
    for batch in (1000, 1):
        monkeypatch.setattr(importer, "BATCH", batch)
        with Store.open(tmp_path / f"b{batch}.db") as store:
            import_export(store, before)
            result = import_export(store, after)
            results[batch] = (result.as_dict()["records"]["tickets"], rows(store, "kpi_tickets"))
    assert results[1] == results[1000]
    counts, tickets = results[1]
    assert counts == {"new": 0, "updated": 1, "unchanged": 0, "repeated": 1, "older": 0}
    assert [t["resolved_at"] for t in tickets] == ["2024-03-04T12:00:00Z"]


def test_unquoted_comma_is_caught(fresh_store, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,created_at,channel\nA,2024-03-04T09:00:00Z,email\nB,2024-03-04T09:00:00Z,phone,extra\n")
    with pytest.raises(MonitorError, match=r"t.csv:3: 4 fields but the header has 3"):
        import_export(fresh_store, path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_an_export_cut_short_in_its_last_row_is_refused_and_nothing_is_written(cli, write_config, tmp_path, encoding):
    whole = kpi_sample("zendesk_tickets.csv").read_text(encoding="utf-8")
    assert whole.endswith("\n")
    cut = tmp_path / "zendesk_cut.csv"
    cut.write_text(whole[: whole.rindex(",Solved,") + 4], encoding=encoding)  # the download stopped in "Solved"
    path = write_config()
    result = cli("--config", path, "kpi", "import", cut)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (
        f"Error: {cut}:6: the last row has 13 of the header's 42 fields and no line break after it: the file looks"
        " cut short (a download that did not finish? export it again); nothing was imported\n")
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.kpi.counts() == {"tickets": 0, "responses": 0, "figures": 0} and store.kpi.imports() == []
    # A last row without a line break is no sign of it when whole; a short row followed by one is read as
    # before, its missing cells empty (as some tools write them).
    whole_no_break = tmp_path / "zendesk_whole.csv"
    whole_no_break.write_text(whole.rstrip("\n"), encoding=encoding)
    header, first = whole.splitlines()[:2]
    short_then_break = tmp_path / "zendesk_short.csv"
    short_then_break.write_text(f"{header}\n{','.join(first.split(',')[:25])}\n", encoding=encoding)
    for data in (whole_no_break, short_then_break):
        assert cli("--config", path, "kpi", "import", data).exit_code == 0


def test_a_quote_never_closed_is_refused_not_read_as_the_rest_of_the_file(cli, write_config, tmp_path):
    # A stray quote opening a cell of the last column: the csv module would read every line after it
    # as that one cell, so the file's later rows were lost without a word.
    path = write_config()
    data = tmp_path / "surveys.csv"
    data.write_bytes(b'type,score,date,comment\r\ncsat,4,2024-03-04,fine\r\ncsat,5,2024-03-05,"stray\r\n'
                     b"csat,1,2024-03-06,x\r\nnps,0,2024-03-06,y\r\n")
    result = cli("--config", path, "kpi", "import", data)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (
        f"Error: {data}:3: a quoted cell opened in this row is never closed, so lines 3-5 would be read as one cell"
        " (a stray \" in it? a file cut short?)\n")
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.kpi.counts() == {"tickets": 0, "responses": 0, "figures": 0} and store.kpi.imports() == []
    # Quoted cells across lines that are closed are read as before.
    data.write_bytes(b'type,score,date,comment\r\ncsat,5,2024-03-05,"two\r\nlines"\r\ncsat,1,2024-03-06,x\r\n')
    result = cli("--config", path, "kpi", "import", data, "--output", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["rows"] == 2


def test_decimal_commas_of_a_semicolon_separated_export_are_read(cli, write_config, tmp_path):
    # European Excel saves "CSV" with semicolons between cells and a comma before the decimals;
    # such numbers were refused ("'8000,50' is not a number"), and "1.500" (thousands) read as 1.5.
    path = write_config()
    figures, tickets, surveys = tmp_path / "figures.csv", tmp_path / "tickets.csv", tmp_path / "surveys.csv"
    figures.write_bytes("start;end;operating_cost;contacts_offered;contacts_handled\r\n"
                        "2024-03-04;2024-03-10;8.000,50;400;380\r\n".encode("cp1252"))
    tickets.write_bytes(b"id;created_at;resolved_at;resolution_time (hours)\r\n"
                        b"A;2024-03-04 09:00;2024-03-04 13:00;1,5\r\nB;2024-03-05 09:00;2024-03-05 11:00;0,5\r\n")
    surveys.write_bytes(b"type;score;date;scale_max\r\nces;4,5;2024-03-05;\r\nces;5,5;2024-03-06;\r\n")
    for data in (figures, tickets, surveys):
        result = cli("--config", path, "kpi", "import", data)
        assert result.exit_code == 0, result.output
    shown = cli("--config", path, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-10", "--format", "json")
    k = json.loads(shown.stdout)["total"]["kpis"]
    assert (k["cost_per_resolution"], k["ces"], k["resolution_mean_s"]) == (4000.25, 5.0, 3600.0)
    # A comma-separated file's "12,5" is still refused (the comma there may group thousands), and so is
    # a semicolon-separated file's "1.500", which is 1.5 with a decimal point and 1500 with grouped thousands.
    comma = tmp_path / "comma.csv"
    comma.write_text('type,score,date\nces,"4,5",2024-03-05\n')
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("start;end;operating_cost\n2024-03-11;2024-03-17;1.500\n")
    result = cli("--config", path, "kpi", "import", comma)
    assert result.output == f"Error: {comma}:2: column \"score\": '4,5' is not a number; nothing was imported\n"
    result = cli("--config", path, "kpi", "import", ambiguous)
    assert result.exit_code == 1 and result.output == (
        f"Error: {ambiguous}:2: column \"operating_cost\": '1.500' is not a number: in a semicolon-separated file,"
        " write 1500 or 1,500 (the dot may group thousands or mark decimals); nothing was imported\n")


def test_blank_lines_before_the_header_are_skipped_not_taken_for_an_empty_file(cli, write_config, tmp_path):
    # Blank lines (or rows of bare separators, as a spreadsheet writes empty rows) above the header
    # made the import say "the file is empty (no header line)".
    path = write_config()
    data = tmp_path / "surveys.csv"
    data.write_bytes(b"\r\n;;\r\nsep=;\r\n\r\ntype;score;date\r\ncsat;4;2024-03-04\r\ncsat;x;2024-03-05\r\n")
    result = cli("--config", path, "kpi", "import", data)
    assert result.output == f"Error: {data}:7: column \"score\": 'x' is not a number; nothing was imported\n"
    data.write_bytes(b"\n , \ntype,score,date\ncsat,4,2024-03-04\n")
    result = cli("--config", path, "kpi", "import", data, "--output", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["rows"] == 1
    data.write_bytes(b"\r\n,,\r\n\r\n")
    result = cli("--config", path, "kpi", "import", data)
    assert result.output == f"Error: {data}: the file is empty (no header line)\n"


def test_unknown_rating_labels_are_reported_not_counted(cli, write_config, tmp_path):
    path = tmp_path / "zendesk.csv"
    text = kpi_sample("zendesk_tickets.csv").read_text(encoding="utf-8").replace(",Good,", ",Bom,")
    path.write_text(text, encoding="utf-8")
    result = cli("--config", write_config(), "kpi", "import", path, "--output", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["unknown_values"] == {"Satisfaction Score: Bom": 2}
    assert data["records"]["responses"]["new"] == 1  # only the Bad
    assert "warning: unknown value 'Satisfaction Score: Bom' in 2 row(s): not counted" in result.stderr


# ---------------------------------------------------------- idempotence
def test_reimporting_changes_nothing(cli, write_config):
    config = write_config()
    names = ["zendesk_tickets.csv", "freshdesk_tickets.csv", "intercom_conversations.csv", "intercom_csat.csv",
             "helpscout_conversations.csv", "generic_tickets.csv", "generic_surveys.csv", "generic_figures.csv"]
    for name in names:
        assert cli("--config", config, "kpi", "import", kpi_sample(name)).exit_code == 0

    def snapshot() -> dict[str, list[dict]]:
        with Store.open(config.parent / "monitor.db") as store:
            return {t: rows(store, t) for t in ("kpi_tickets", "kpi_responses", "kpi_figures")}

    before = snapshot()
    for name in names:
        data = json.loads(cli("--config", config, "kpi", "import", kpi_sample(name), "--output", "json").stdout)
        assert (data["new"], data["updated"]) == (0, 0), name
        assert data["unchanged"] == sum(c["unchanged"] for c in data["records"].values()) > 0
    assert snapshot() == before


def test_a_changed_row_is_updated(fresh_store, tmp_path):
    import_export(fresh_store, kpi_sample("zendesk_tickets.csv"))
    path = tmp_path / "later.csv"
    path.write_text(kpi_sample("zendesk_tickets.csv").read_text(encoding="utf-8").replace(",Open,", ",Solved,"), encoding="utf-8")
    result = import_export(fresh_store, path)
    assert (result.total.new, result.total.updated, result.total.unchanged) == (0, 1, 8)


def test_a_rating_gone_from_a_reexported_ticket_row_is_removed(cli, write_config, tmp_path):
    config = write_config()
    assert cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv")).exit_code == 0
    window = ("--from", "2024-03-04", "--to", "2024-03-10", "--format", "json")
    shown = json.loads(cli("--config", config, "kpi", "show", *window).stdout)["total"]["kpis"]
    assert (shown["csat_pct"], shown["csat_responses"]) == (66.67, 3)  # Good, Bad, Good
    # 1001 re-exported after its rating was taken back: no answer now
    path = _sample_with(tmp_path, "zendesk_tickets.csv", "Satisfaction Score", "Offered")
    assert cli("--config", config, "kpi", "import", path).exit_code == 0
    shown = json.loads(cli("--config", config, "kpi", "show", *window).stdout)["total"]["kpis"]
    assert (shown["csat_pct"], shown["csat_responses"]) == (50.0, 2)
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.conn.execute("SELECT count(*) FROM kpi_responses WHERE response_id = 'ticket:1001'").fetchone()[0] == 0


def test_a_rating_from_a_separate_file_stays_when_the_ticket_row_has_none(fresh_store, tmp_path):
    import_export(fresh_store, kpi_sample("intercom_csat.csv"))  # 3001 rated 5, dated
    path = _sample_with(tmp_path, "intercom_conversations.csv", "Last teammate rating", "")  # 3001 without it
    import_export(fresh_store, path)
    assert week(fresh_store)["csat_responses"] == 4  # 3001's 5 from the CSAT file, 2, 4, 3
    # a generic tickets file without a csat column says nothing about ratings
    import_export(fresh_store, kpi_sample("generic_tickets.csv"))
    assert week(fresh_store, WEEK11)["csat_responses"] == 2  # G1's 5, G2's 3
    without = tmp_path / "no_csat.csv"
    rows_ = list(csv.reader(io.StringIO(kpi_sample("generic_tickets.csv").read_text(encoding="utf-8"))))
    column = rows_[0].index("csat")
    with without.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([r[:column] + r[column + 1:] for r in rows_])
    import_export(fresh_store, without)
    assert week(fresh_store, WEEK11)["csat_responses"] == 2
    import_export(fresh_store, _sample_with(tmp_path, "generic_tickets.csv", "csat", ""))  # G1 with an empty csat
    assert week(fresh_store, WEEK11)["csat_responses"] == 1


def test_progress_reports_every_byte(fresh_store):
    sizes: list[int] = []
    steps: list[int] = []
    import_export(fresh_store, kpi_sample("zendesk_tickets.csv"), on_open=sizes.append, progress=steps.append)
    assert sizes == [kpi_sample("zendesk_tickets.csv").stat().st_size] and sum(steps) == sizes[0]


def test_import_output_table(cli, write_config):
    result = cli("--config", write_config(), "kpi", "import", kpi_sample("zendesk_tickets.csv"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["path", "format", "layout", "encoding", "rows", "records", "new", "updated", "unchanged",
                                "older", "repeated"]
    assert "zendesk   tickets   utf-8       6       3 responses, 6 tickets  9" in lines[2]


def test_a_time_the_clocks_skipped_is_named_as_such_not_as_before_the_creation(cli, write_config, tmp_path):
    rows_ = list(csv.reader(io.StringIO(kpi_sample("freshdesk_tickets.csv").read_text(encoding="utf-8"))))
    created, replied = rows_[0].index("Created time"), rows_[0].index("Initial response time")
    rows_[1][created], rows_[1][replied] = "2024-03-31 02:30:00", "2024-03-31 03:10:00"  # spring forward in Paris
    path = tmp_path / "spring.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows_)
    config = write_config()
    result = cli("--config", config, "kpi", "import", path, "--timezone", "Europe/Paris")
    assert result.exit_code == 1 and "is before" not in result.output
    assert (f'{path}:2: column "Created time": 2024-03-31 02:30:00 does not exist in Europe/Paris: the clocks'
            " jumped ahead 1 hour there that night; check --timezone") in result.output
    assert _stored(config)["tickets"] == 0


def test_times_in_the_hour_the_clock_goes_through_twice_are_read_so_the_reply_follows(fresh_store, tmp_path):
    # New York, 3 Nov 2024: 01:00-02:00 happens twice. Created 01:50 (first pass), answered
    # 01:10 and resolved 01:20 on the second pass: 20 and 30 minutes later, not before.
    path = tmp_path / "dst.csv"
    path.write_text("id,created_at,first_response_at,resolved_at,status\n"
                    "1,2024-11-03 01:50,2024-11-03 01:10,2024-11-03 01:20,solved\n")
    assert import_export(fresh_store, path, fmt="generic", timezone="America/New_York").rows == 1
    (row,) = fresh_store.conn.execute("SELECT first_response_s, resolution_s FROM kpi_tickets").fetchall()
    assert tuple(row) == (20 * 60, 30 * 60)
    path.write_text("id,created_at,first_response_at\n1,2024-11-03 01:50,2024-11-03 00:55\n")  # before either pass
    with pytest.raises(MonitorError, match='column "first_response_at": 2024-11-03 00:55 is before "created_at"'):
        import_export(fresh_store, path, fmt="generic", timezone="America/New_York")


def test_a_mistyped_file_name_creates_no_database(cli, write_config, tmp_path):
    database = tmp_path / "new" / "kpi.db"
    result = cli("--config", write_config(), "--db", database, "kpi", "import", tmp_path / "tickts.csv")
    assert result.exit_code == 1 and "tickts.csv: file not found" in result.output
    assert not database.exists() and not database.parent.exists()
