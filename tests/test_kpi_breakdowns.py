"""`kpi show --by channel|type|tag`: KPIs per normalised channel, issue type and
tag, computed by hand from the sample exports; the stored type and tags, and
their backfill for databases imported before they were stored."""

from __future__ import annotations

import json

import pytest

from factories import kpi_responses_as_before, kpi_sample
from monitor import config as config_module
from monitor.kpi.groups import channel_kind
from monitor.storage import Store
from monitor.storage.kpi import _TICKETS, _digest

MARCH_4_TO_10 = ("--from", "2024-03-04", "--to", "2024-03-10")
MARCH_11_TO_17 = ("--from", "2024-03-11", "--to", "2024-03-17")
TYPED = """id,created_at,resolved_at,channel,type,tags,replies,first_response_time (minutes),csat
T1,2024-03-11T09:00:00Z,2024-03-11T10:00:00Z,Email,Incident,"billing;refund",1,10,5
T2,2024-03-11T11:00:00Z,2024-03-11T15:00:00Z,WhatsApp,Problem,billing,2,30,2
T3,2024-03-12T09:00:00Z,,Twitter,Incident,,1,300,
T4,2024-03-12T10:00:00Z,2024-03-13T10:00:00Z,Phone call,,refund|VIP,1,60,4
"""


@pytest.fixture
def kpi_config(cli, write_config, tmp_path):
    def load(*names: str, extra: str = ""):  # type: ignore[no-untyped-def]
        path = write_config(extra)
        (tmp_path / "typed.csv").write_text(TYPED, encoding="utf-8")
        for name in names:
            file = tmp_path / name if name == "typed.csv" else kpi_sample(name)
            assert cli("--config", path, "kpi", "import", file).exit_code == 0
        return path

    return load


def by(cli, config, group, *window):  # type: ignore[no-untyped-def]
    result = cli("--config", config, "kpi", "show", *window, "--by", group, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return data, {r[group]: r for r in data["rows"]}


def test_by_channel_normalises_each_tools_names(cli, kpi_config):
    config = kpi_config("zendesk_tickets.csv")
    data, rows = by(cli, config, "channel", *MARCH_4_TO_10)
    assert list(rows) == ["email", "chat", "web"]  # most tickets first, then by name (1006, merged, is not counted)
    email = rows["email"]  # Mail: 1001, 1004, 1005
    assert (email["as_exported"], email["kpis"]["tickets_created"], email["kpis"]["tickets_resolved"]) == (["Mail"], 3, 2)
    assert email["kpis"]["csat_pct"] == 100.0  # 1001 Good; 1004 Offered and 1005 Unoffered are no answers
    assert email["kpis"]["first_response_median_s"] == 7200  # 30, 120, 240 minutes
    assert email["kpis"]["resolution_median_s"] == 46800  # 120 and 1440 minutes
    assert email["kpis"]["fcr_pct"] == 50.0  # 1001 one touch; 1005 two replies
    assert email["meets_target"] == {"csat_pct": True, "nps": None, "ces": None, "first_response_median_s": True,
                                     "resolution_median_s": True, "fcr_pct": False, "abandonment_pct": None}
    web = rows["web"]  # Web form: 1002, Bad, 24 h to resolve (exactly the target: met)
    assert (web["kpis"]["csat_pct"], web["kpis"]["resolution_median_s"]) == (0.0, 86400)
    assert (web["meets_target"]["csat_pct"], web["meets_target"]["resolution_median_s"]) == (False, True)
    assert rows["chat"]["as_exported"] == ["Native Messaging"] and rows["chat"]["kpis"]["first_response_median_s"] == 900
    assert "other" not in rows  # "Closed Ticket": 1006, merged into another ticket, is counted in that one
    # the groups add up to the total; period figures belong to no group
    assert sum(r["kpis"]["tickets_created"] for r in rows.values()) == data["total"]["kpis"]["tickets_created"] == 5
    assert all(r["kpis"]["retention_pct"] is None for r in rows.values())
    assert data["by"] == "channel" and data["targets"]["csat_pct"]["target"] == 80.0


def test_by_tag_counts_a_ticket_under_each_of_its_tags(cli, kpi_config):
    config = kpi_config("zendesk_tickets.csv")
    _, rows = by(cli, config, "tag", *MARCH_4_TO_10)
    billing, refund = rows["billing"], rows["refund"]  # 1001 is in both
    assert (billing["kpis"]["tickets_created"], billing["kpis"]["tickets_resolved"]) == (2, 1)  # 1001, 1004
    assert billing["kpis"]["first_response_median_s"] == 4500  # 30 and 120 minutes
    assert (refund["kpis"]["tickets_created"], refund["kpis"]["tickets_resolved"]) == (1, 1)  # 1001; 1006 merged away
    assert refund["kpis"]["csat_pct"] == 100.0 and "as_exported" not in refund
    assert sum(r["kpis"]["tickets_created"] for r in rows.values()) == 8  # 5 tickets, 8 tags (not merged 1006's 2)


def test_type_and_tags_of_a_generic_export_and_answers_without_a_ticket(cli, kpi_config):
    config = kpi_config("typed.csv", "generic_surveys.csv")
    data, types = by(cli, config, "type", *MARCH_11_TO_17)
    assert list(types) == ["incident", "problem", "(none)"]
    assert (types["incident"]["kpis"]["tickets_created"], types["incident"]["kpis"]["csat_pct"]) == (2, 100.0)
    assert types["incident"]["kpis"]["first_response_median_s"] == 9300  # 10 and 300 minutes
    assert (types["problem"]["kpis"]["csat_pct"], types["problem"]["kpis"]["resolution_median_s"]) == (0.0, 14400)
    # T4 has no type; the NPS answers belong to no ticket: both in "(none)"
    assert types["(none)"]["kpis"]["tickets_created"] == 1
    assert types["(none)"]["kpis"]["nps"] == data["total"]["kpis"]["nps"] is not None
    _, channels = by(cli, config, "channel", *MARCH_11_TO_17)
    assert {k: r["as_exported"] for k, r in channels.items() if k != "(none)"} == {
        "email": ["Email"], "chat": ["WhatsApp"], "social": ["Twitter"], "phone": ["Phone call"]}
    _, tags = by(cli, config, "tag", *MARCH_11_TO_17)
    assert (tags["billing"]["kpis"]["csat_pct"], tags["billing"]["kpis"]["resolution_median_s"]) == (50.0, 9000)
    assert (tags["refund"]["kpis"]["csat_pct"], tags["vip"]["kpis"]["tickets_created"]) == (100.0, 1)


def test_breakdown_table_and_csv(cli, kpi_config):
    config = kpi_config("zendesk_tickets.csv")
    table = cli("--config", config, "kpi", "show", *MARCH_4_TO_10, "--by", "channel").stdout
    lines = table.splitlines()
    assert lines[1].split() == ["channel", "tickets", "CSAT", "1st", "reply", "(med)", "resolution", "(med)", "FCR"]
    assert lines[3].split() == ["email", "3", "100.0%", "✓", "2h00m", "✓", "13h00m", "✓", "~50.0%", "✗"]
    assert "channels as exported: email = Mail; chat = Native Messaging; web = Web form" in table
    assert "✓ meets its [kpi.targets] target, ✗ misses it." in table
    rows = cli("--config", config, "kpi", "show", *MARCH_4_TO_10, "--by", "tag", "--format", "csv").stdout.splitlines()
    assert rows[0].startswith("tag,from,to,csat_pct,") and rows[0].endswith(",fcr_pct_meets_target,abandonment_pct_meets_target")
    assert rows[1].startswith("total,") and any(r.startswith("billing,") for r in rows)


@pytest.mark.parametrize(("value", "kind"), [
    ("Mail", "email"), ("Outbound Email", "email"), ("Web form", "web"), ("Portal", "web"),
    ("Feedback Widget", "web"), ("Native Messaging", "chat"), ("WhatsApp", "chat"), ("Chat", "chat"),
    ("Instagram DM", "social"), ("Facebook Messenger", "social"), ("Twitter", "social"), ("X", "social"),
    ("Phone call (inbound)", "phone"), ("Voicemail", "phone"), ("API", "api"), ("Closed Ticket", "other"),
    ("", "(none)"), (None, "(none)"),
])
def test_channel_kinds(value, kind):
    assert channel_kind(value) == kind


def test_type_and_tags_are_backfilled_for_tickets_imported_before(cli, kpi_config, tmp_path):
    config = kpi_config("zendesk_tickets.csv", "freshdesk_tickets.csv")
    database = config_module.load(config).monitor.database
    old = _TICKETS.columns[: _TICKETS.columns.index("raw") + 1]
    with Store.open(database) as store:  # the database as the previous version left it
        rows = store.conn.execute(f"SELECT rowid, {', '.join(old)} FROM kpi_tickets").fetchall()
        store.conn.executemany("UPDATE kpi_tickets SET digest = ? WHERE rowid = ?",
                               [(_digest(tuple(r[1:])), r[0]) for r in rows])
        store.conn.execute("DROP INDEX kpi_tickets_created")  # m005's, which index left_out
        store.conn.execute("DROP INDEX kpi_tickets_resolved")
        store.conn.execute("DROP INDEX kpi_tickets_left_out")  # m007's, on left_out too
        for column in ("ticket_type", "tags", "left_out", "updated_at"):
            store.conn.execute(f"ALTER TABLE kpi_tickets DROP COLUMN {column}")
        store.conn.execute("ALTER TABLE kpi_imports DROP COLUMN older")
        store.conn.execute("DELETE FROM _sqlite_migrations WHERE name IN ('m002_ticket_type_and_tags',"
                           " 'm005_tickets_reports_leave_out', 'm006_tickets_updated_at',"
                           " 'm007_answers_on_another_formats_tickets')")
        store.conn.execute("PRAGMA user_version = 0")  # stamped by an older version
    with Store.open(database) as store:
        found = dict(((f, t), (ty, tags)) for f, t, ty, tags in store.conn.execute(
            "SELECT source_format, ticket_id, ticket_type, tags FROM kpi_tickets"))
    assert found["zendesk", "1001"] == ("Question", '["refund","billing","vip"]')
    assert found["freshdesk", "2001"] == ("Question", '["password","login"]')
    assert found["freshdesk", "2003"] == ("Question", None)
    again = json.loads(cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv"),
                           "--output", "json").stdout)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 9)  # the backfill kept digests right


SURVEYS_ON_ZENDESK = """type,score,date,ticket_id,ticket_format
ces,6,2024-03-05,1001,zendesk
nps,10,2024-03-05,1004,Zendesk
nps,0,2024-03-06,1003,zendesk
ces,2,2024-03-06,1006,zendesk
nps,9,2024-03-06,,
"""


def test_survey_answers_on_another_tools_tickets_count_under_their_groups(cli, kpi_config, tmp_path):
    config = kpi_config("zendesk_tickets.csv")
    (tmp_path / "nicereply.csv").write_text(SURVEYS_ON_ZENDESK, encoding="utf-8")
    assert cli("--config", config, "kpi", "import", tmp_path / "nicereply.csv").exit_code == 0
    data, rows = by(cli, config, "channel", *MARCH_4_TO_10)
    # 1001 and 1004 came by Mail, 1003 by Native Messaging; 1006 was merged: its CES is left out with it.
    assert (rows["email"]["kpis"]["nps"], rows["email"]["kpis"]["ces"], rows["email"]["kpis"]["ces_responses"]) == (100.0, 6.0, 1)
    assert (rows["chat"]["kpis"]["nps"], rows["chat"]["kpis"]["nps_responses"]) == (-100.0, 1)
    assert (rows["(none)"]["kpis"]["nps"], rows["(none)"]["kpis"]["nps_responses"]) == (100.0, 1)  # the 9: no ticket
    total = data["total"]["kpis"]  # NPS: 10, 0, 9: 2 promoters, 1 detractor of 3
    assert (total["nps"], total["nps_responses"], total["ces"], total["ces_responses"]) == (33.33, 3, 6.0, 1)


def test_a_ticket_format_that_is_not_one_we_read_is_refused(cli, write_config, tmp_path):
    config, path = write_config(), tmp_path / "surveys.csv"
    path.write_text("type,score,date,ticket_id,ticket_format\nnps,9,2024-03-05,1,zendesk\nnps,9,2024-03-05,2,jira\n",
                    encoding="utf-8")
    result = cli("--config", config, "kpi", "import", path)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {path}:3: column \"ticket_format\": 'jira' is not one of zendesk, freshdesk, intercom, helpscout,"
        " generic (the format of the export the ticket came in); nothing was imported")


def test_answers_imported_before_ticket_format_existed_keep_their_tickets_and_digests(cli, kpi_config):
    config = kpi_config("zendesk_tickets.csv", "intercom_csat.csv", "generic_surveys.csv")
    before = by(cli, config, "channel", *MARCH_4_TO_10)[0]
    database = config_module.load(config).monitor.database
    with Store.open(database) as store:  # the database as the previous version left it
        kpi_responses_as_before(store)
    assert by(cli, config, "channel", *MARCH_4_TO_10)[0] == before
    for name in ("zendesk_tickets.csv", "intercom_csat.csv", "generic_surveys.csv"):
        again = json.loads(cli("--config", config, "kpi", "import", kpi_sample(name), "--output", "json").stdout)
        assert (again["new"], again["updated"]) == (0, 0), name  # the migration kept digests right


def test_answers_naming_a_ticket_not_stored_are_counted_and_the_breakdown_says_so(cli, write_config, tmp_path):
    from factories import kpi_imported

    config = write_config()
    kpi_imported(cli, config, tmp_path / "tickets.csv", "id,created_at,resolved_at,status,channel\n"
                 "T1,2024-03-04T09:00:00Z,2024-03-04T11:00:00Z,solved,email\n")
    kpi_imported(cli, config, tmp_path / "surveys.csv", "type,score,date,ticket_id,ticket_format\n"
                 "csat,5,2024-03-05,T1,\n"          # T1: email
                 "csat,1,2024-03-05,T2,\n"          # no ticket T2 (a typo, or its export not imported yet)
                 "csat,4,2024-03-05,T1,zendesk\n"   # no Zendesk ticket T1 (a wrong ticket_format)
                 "nps,10,2024-03-05,T2,\n"          # no ticket T2
                 "nps,9,2024-03-06,,\n")            # names no ticket: (none) as it should be
    data, rows = by(cli, config, "channel", *MARCH_4_TO_10)
    # Total: CSAT 5, 1, 4 -> 2 of 3 satisfied; NPS 10, 9 -> two promoters.
    assert (data["total"]["kpis"]["csat_pct"], data["total"]["kpis"]["nps"]) == (66.67, 100.0)
    # email: the 5 on T1. (none): 1 and 4 (50%), and both NPS answers.
    assert (rows["email"]["kpis"]["csat_responses"], rows["email"]["kpis"]["csat_pct"]) == (1, 100.0)
    assert (rows["(none)"]["kpis"]["csat_responses"], rows["(none)"]["kpis"]["csat_pct"]) == (2, 50.0)
    assert data["unmatched_answers"] == {"csat": 2, "nps": 1, "ces": 0}
    table = cli("--config", config, "kpi", "show", *MARCH_4_TO_10, "--by", "channel")
    assert table.exit_code == 0, table.output
    assert ("note: 3 survey answers (2 CSAT, 1 NPS) name a ticket that is not stored (generic T2, zendesk T1): they count"
            " in the total but under (none) here; import their helpdesk export, or check their ticket_id"
            " and ticket_format") in table.output
    # Once the ticket is stored, its answers move to its channel and the note goes.
    kpi_imported(cli, config, tmp_path / "more.csv", "id,created_at,resolved_at,status,channel\n"
                 "T2,2024-03-04T10:00:00Z,,open,chat\n")
    data, rows = by(cli, config, "channel", *MARCH_4_TO_10)
    assert data["unmatched_answers"] == {"csat": 1, "nps": 0, "ces": 0}
    assert (rows["chat"]["kpis"]["csat_pct"], rows["chat"]["kpis"]["nps"]) == (0.0, 100.0)
