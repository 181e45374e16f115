"""Tickets a helpdesk's own reports leave out: spam (and deleted) ones entirely, a
merged one because it counts in the ticket it was merged into. No KPI counts them
(tickets created, first response, resolution, FCR, cost per resolution), and a
re-export that marks a ticket so, or no longer does, updates it.
"""

from __future__ import annotations

import json

import pytest

from factories import kpi_imported, kpi_sample, kpi_totals
from monitor import config as config_module
from monitor.storage import Store
from monitor.storage.kpi import _TICKETS, _digest

WEEK = ("--from", "2024-03-04", "--to", "2024-03-10")
HELPSCOUT = ("Conversation ID,Mailbox,Created At,Closed At,Status,Type,Replies,"
             "First Response Time (seconds),Resolution Time (seconds)\n")
ZENDESK = "Id,Created at,Solved at,Status,Via,Tags,Replies,Reopens,First reply time in minutes,Full resolution time in minutes\n"


def kpis(cli, config) -> dict:  # type: ignore[no-untyped-def]
    return kpi_totals(cli, config, *WEEK)


def counts(k: dict) -> tuple:
    return (k["tickets_created"], k["tickets_resolved"], k["first_response_count"], k["resolution_count"],
            k["fcr_tickets"])


def test_a_helpscout_conversation_marked_spam_later_leaves_every_kpi(cli, write_config, tmp_path):
    config, path = write_config(), tmp_path / "helpscout.csv"
    rows = ["1,Support,2024-03-04T09:00:00Z,2024-03-04T12:00:00Z,closed,email,1,600,10800\n",
            "2,Support,2024-03-05T09:00:00Z,2024-03-05T10:00:00Z,{},email,1,7200,3600\n"]
    kpi_imported(cli, config, path, HELPSCOUT + rows[0] + rows[1].format("closed"))
    before = kpis(cli, config)
    assert counts(before) == (2, 2, 2, 2, 2) and before["first_response_mean_s"] == 3900
    # The next export: conversation 2 was spam after all. Help Scout's reports leave it out entirely.
    result = kpi_imported(cli, config, path, HELPSCOUT + rows[0] + rows[1].format("spam"))
    assert (result["new"], result["updated"], result["unchanged"]) == (0, 1, 1)
    after = kpis(cli, config)
    assert counts(after) == (1, 1, 1, 1, 1)
    assert (after["first_response_mean_s"], after["resolution_mean_s"]) == (600, 10800)
    # ... and marked "not spam" again, it counts again.
    kpi_imported(cli, config, path, HELPSCOUT + rows[0] + rows[1].format("closed"))
    assert kpis(cli, config) == before


def test_a_zendesk_ticket_merged_later_counts_only_in_the_ticket_it_was_merged_into(cli, write_config, tmp_path):
    config, path = write_config(), tmp_path / "zendesk.csv"
    first = "7001,2024-03-04 09:00,2024-03-04 11:00,Solved,Mail,refund,1,0,30,120\n"
    second = "7002,2024-03-04 09:05,{solved},{status},Mail,{tags},1,0,60,{minutes}\n"
    kpi_imported(cli, config, path, ZENDESK + first + second.format(solved="", status="Open", tags="refund", minutes=""))
    assert counts(kpis(cli, config)) == (2, 1, 2, 1, 1)
    # The customer wrote twice; the agent merged 7002 into 7001. Zendesk closes 7002 and tags it closed_by_merge.
    kpi_imported(cli, config, path, ZENDESK + first + second.format(
        solved="2024-03-04 11:05", status="Closed", tags="closed_by_merge refund", minutes="120"))
    k = kpis(cli, config)
    assert counts(k) == (1, 1, 1, 1, 1)
    assert (k["first_response_mean_s"], k["resolution_mean_s"]) == (30 * 60, 120 * 60)  # 7001's alone
    data = json.loads(cli("--config", config, "kpi", "show", *WEEK, "--by", "tag", "--format", "json").stdout)
    assert [(r["tag"], r["kpis"]["tickets_created"]) for r in data["rows"]] == [("refund", 1)]


@pytest.mark.parametrize("status", ["spam", "Spam", "deleted", "merged"])
def test_spam_deleted_and_merged_statuses_are_left_out_of_every_kpi(cli, write_config, tmp_path, status):
    config, path = write_config(), tmp_path / "tickets.csv"
    kpi_imported(cli, config, path,
             "id,created_at,first_response_at,resolved_at,status,replies,first_contact_resolved\n"
             "T1,2024-03-04T09:00:00Z,2024-03-04T09:10:00Z,2024-03-04T10:00:00Z,solved,1,true\n"
             f"T2,2024-03-04T09:00:00Z,2024-03-04T09:30:00Z,2024-03-04T12:00:00Z,{status},1,true\n")
    kpi_imported(cli, config, tmp_path / "figures.csv", "start,end,operating_cost\n2024-03-04,2024-03-10,500\n")
    k = kpis(cli, config)
    assert counts(k) == (1, 1, 1, 1, 1)
    assert (k["first_response_mean_s"], k["resolution_mean_s"], k["fcr_pct"]) == (600, 3600, 100.0)
    assert (k["cost_per_resolution"], k["cost_tickets"]) == (500.0, 1)


def test_a_database_from_before_leaves_out_what_it_already_holds(cli, write_config):
    config = write_config()
    assert cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv")).exit_code == 0
    database = config_module.load(config).monitor.database
    old = _TICKETS.columns[: _TICKETS.columns.index("left_out")]
    with Store.open(database) as store:  # the database as the previous version left it
        rows = store.conn.execute(f"SELECT rowid, {', '.join(old)} FROM kpi_tickets").fetchall()
        store.conn.executemany("UPDATE kpi_tickets SET digest = ? WHERE rowid = ?",
                               [(_digest(tuple(r[1:])), r[0]) for r in rows])
        store.conn.execute("DROP INDEX kpi_tickets_created")
        store.conn.execute("DROP INDEX kpi_tickets_resolved")
        store.conn.execute("DROP INDEX kpi_tickets_left_out")  # m007's, on left_out too
        store.conn.execute("ALTER TABLE kpi_tickets DROP COLUMN left_out")
        store.conn.execute("ALTER TABLE kpi_tickets DROP COLUMN updated_at")
        store.conn.execute("ALTER TABLE kpi_imports DROP COLUMN older")
        store.conn.execute("DELETE FROM _sqlite_migrations WHERE name IN"
                           " ('m005_tickets_reports_leave_out', 'm006_tickets_updated_at',"
                           " 'm007_answers_on_another_formats_tickets')")
        store.conn.execute("PRAGMA user_version = 0")  # stamped by an older version
    assert kpis(cli, config)["tickets_created"] == 5  # 1006 (closed_by_merge) left out without a re-import
    again = json.loads(cli("--config", config, "kpi", "import", kpi_sample("zendesk_tickets.csv"),
                           "--output", "json").stdout)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 9)  # the backfill kept digests right


def test_answers_on_a_ticket_left_out_are_left_out_whenever_they_were_imported(cli, write_config, tmp_path):
    config = write_config()
    # Answers first: a CSAT and a CES on T2, a CSAT on T1, an NPS on no ticket.
    kpi_imported(cli, config, tmp_path / "surveys.csv", "type,score,date,ticket_id\n"
                 "csat,1,2024-03-05,T2\nces,2,2024-03-05,T2\ncsat,5,2024-03-05,T1\nnps,10,2024-03-05,\n")
    k = kpis(cli, config)
    assert (k["csat_responses"], k["csat_pct"], k["ces_responses"], k["nps_responses"]) == (2, 50.0, 1, 1)
    # The ticket export marks T2 spam: its answers leave CSAT and CES, as the helpdesks' reports leave them out.
    tickets = "id,created_at,resolved_at,status,channel,csat\n"
    t1 = "T1,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,solved,email,\n"
    kpi_imported(cli, config, tmp_path / "tickets.csv", tickets + t1 + "T2,2024-03-04T09:00:00Z,,{},chat,{}\n".format("spam", 2))
    k = kpis(cli, config)  # T1's 5 alone: 1 answer, 100% satisfied; no CES; the NPS on no ticket stays
    assert (k["csat_responses"], k["csat_pct"], k["ces_responses"], k["ces"], k["nps_responses"]) == (1, 100.0, 0, None, 1)
    # An answer imported after the ticket was marked is left out too, and by channel or tag as well.
    kpi_imported(cli, config, tmp_path / "more.csv", "type,score,date,ticket_id\ncsat,2,2024-03-06,T2\n")
    assert (kpis(cli, config)["csat_responses"], kpis(cli, config)["csat_pct"]) == (1, 100.0)
    data = json.loads(cli("--config", config, "kpi", "show", *WEEK, "--by", "channel", "--format", "json").stdout)
    by_channel = [(r["channel"], r["kpis"]["csat_responses"], r["kpis"]["nps_responses"]) for r in data["rows"]]
    assert by_channel == [("email", 1, 0), ("(none)", 0, 1)]  # no "chat": T2 and its answers are left out
    # Marked "not spam" again (solved, rated 4 on its row), its answers count again: 5, 4, 1, 2 -> 2 of 4 satisfied.
    kpi_imported(cli, config, tmp_path / "tickets.csv", tickets + t1 + "T2,2024-03-04T09:00:00Z,2024-03-04T11:00:00Z,{},chat,{}\n".format("solved", 4))
    k = kpis(cli, config)
    assert (k["csat_responses"], k["csat_pct"], k["ces_responses"], k["ces"]) == (4, 50.0, 1, 2.0)


def test_a_rating_on_a_spam_conversations_row_is_left_out(cli, write_config, tmp_path):
    config, path = write_config(), tmp_path / "helpscout.csv"
    header = "Conversation ID,Mailbox,Created At,Closed At,Status,Type,Replies,Rating\n"
    rows = "1,Support,2024-03-04T09:00:00Z,2024-03-04T12:00:00Z,closed,email,1,Great\n" \
           "2,Support,2024-03-05T09:00:00Z,2024-03-05T10:00:00Z,{},email,1,Not Good\n"
    kpi_imported(cli, config, path, header + rows.format("closed"))
    assert (kpis(cli, config)["csat_responses"], kpis(cli, config)["csat_pct"]) == (2, 50.0)
    kpi_imported(cli, config, path, header + rows.format("spam"))
    assert (kpis(cli, config)["csat_responses"], kpis(cli, config)["csat_pct"]) == (1, 100.0)
