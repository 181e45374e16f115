"""An older helpdesk export imported after a newer one does not undo it: where both the
stored ticket and the incoming row say when the ticket was last updated, the newer is
kept, with the rating its row carries (or its lack of one). Without that time on both
sides, the last import wins, as before.
"""

from __future__ import annotations

import pytest

from factories import kpi_imported, kpi_totals
from monitor import config as config_module
from monitor.kpi import importer
from monitor.storage import Store

WEEK = ("--from", "2024-03-04", "--to", "2024-03-10")

#: Format -> (header, the ticket's newer row: solved and rated, its older row: open, unrated).
EXPORTS = {
    "zendesk": (
        "Id,Created at,Updated at,Solved at,Status,Via,Satisfaction Score,Replies,Reopens\n",
        "7001,2024-03-04 09:00,2024-03-06 10:00,2024-03-05 09:00,Solved,Mail,Good,1,0\n",
        "7001,2024-03-04 09:00,2024-03-04 10:00,,Open,Mail,Offered,1,0\n",
    ),
    "freshdesk": (
        "Ticket ID,Created time,Resolved time,Last update time,Status,Source,Agent interactions,Survey results\n",
        "2001,2024-03-04 09:00:00,2024-03-05 09:00:00,2024-03-06 10:00:00,Resolved,Email,1,Extremely happy\n",
        "2001,2024-03-04 09:00:00,,2024-03-04 10:00:00,Open,Email,0,\n",
    ),
    "intercom": (
        "Conversation ID,Conversation created at (Europe/London),Conversation last closed at (Europe/London),"
        "Conversation updated at (Europe/London),Current conversation state,Channel,Conversation rating\n",
        "9001,2024-03-04 09:00:00,2024-03-05 09:00:00,2024-03-06 10:00:00,closed,Chat,5\n",
        "9001,2024-03-04 09:00:00,,2024-03-04 10:00:00,open,Chat,\n",
    ),
    "generic": (
        "id,created_at,updated_at,resolved_at,status,csat\n",
        "T1,2024-03-04T09:00:00Z,2024-03-06T10:00:00Z,2024-03-05T09:00:00Z,solved,5\n",
        "T1,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,,open,\n",
    ),
    # No update time: the row's own latest time (closed, rated, created) stands in for it.
    "helpscout": (
        "Conversation ID,Mailbox,Created At,Closed At,Status,Type,Replies,Rating,Rating Created At\n",
        "987,Support,2024-03-04T09:00:00Z,2024-03-05T09:00:00Z,closed,email,1,Great,2024-03-06T10:00:00Z\n",
        "987,Support,2024-03-04T09:00:00Z,,active,email,0,,\n",
    ),
}


def kpis(cli, config) -> dict:  # type: ignore[no-untyped-def]
    return kpi_totals(cli, config, *WEEK)


def solved_and_rated(k: dict) -> tuple:
    return k["tickets_created"], k["tickets_resolved"], k["csat_responses"], k["csat_pct"]


@pytest.mark.parametrize("fmt", list(EXPORTS))
def test_an_older_export_imported_after_a_newer_one_changes_nothing(cli, write_config, tmp_path, fmt):
    config, (header, newer, older) = write_config(), EXPORTS[fmt]
    kpi_imported(cli, config, tmp_path / "newer.csv", header + newer)
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)
    result = kpi_imported(cli, config, tmp_path / "older.csv", header + older)
    # The ticket stays solved and keeps the rating given since the older export was taken.
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)
    assert (result["new"], result["updated"], result["unchanged"], result["older"]) == (0, 0, 0, 1)
    assert result["records"]["tickets"]["older"] == 1


def test_a_newer_export_still_updates_and_the_summary_says_what_was_older(cli, write_config, tmp_path):
    config, (header, newer, older) = write_config(), EXPORTS["zendesk"]
    kpi_imported(cli, config, tmp_path / "older.csv", header + older)
    assert solved_and_rated(kpis(cli, config)) == (1, 0, 0, None)
    assert kpi_imported(cli, config, tmp_path / "newer.csv", header + newer)["updated"] == 1
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)
    (tmp_path / "older.csv").write_text(header + older, encoding="utf-8")
    result = cli("--config", config, "kpi", "import", tmp_path / "older.csv")
    assert result.exit_code == 0, result.output
    head, _, row = result.stdout.splitlines()[:3]
    assert head.split()[-3:] == ["unchanged", "older", "repeated"] and row.split()[-4:] == ["0", "0", "1", "0"]
    assert "note: 1 record(s) from rows updated before the stored ones were kept as stored" in result.stderr
    # A later rating change in a newer export is taken.
    bad = newer.replace("2024-03-06 10:00", "2024-03-07 10:00").replace("Good", "Bad")
    assert kpi_imported(cli, config, tmp_path / "newest.csv", header + bad)["updated"] == 2
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 0.0)


def test_without_an_update_time_on_both_sides_the_last_import_wins(cli, write_config, tmp_path):
    config = write_config()
    header = "id,created_at,updated_at,resolved_at,status,csat\n"
    kpi_imported(cli, config, tmp_path / "a.csv", header
             + "T1,2024-03-04T09:00:00Z,2024-03-06T10:00:00Z,2024-03-05T09:00:00Z,solved,5\n"
             + "T2,2024-03-04T09:00:00Z,,2024-03-05T09:00:00Z,solved,5\n")
    assert solved_and_rated(kpis(cli, config)) == (2, 2, 2, 100.0)
    result = kpi_imported(cli, config, tmp_path / "b.csv", header
                      + "T1,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,,open,\n"
                      + "T2,2024-03-04T09:00:00Z,2024-03-04T10:00:00Z,,open,\n")
    # T1 is older than stored: kept. T2 was stored without a time: the import replaces it.
    assert solved_and_rated(kpis(cli, config)) == (2, 1, 1, 100.0)
    assert (result["updated"], result["older"]) == (1, 1)


@pytest.mark.parametrize("batch", [1, 1000])
def test_within_one_file_the_newest_row_of_a_ticket_is_kept_in_any_batch(cli, write_config, tmp_path, monkeypatch, batch):
    monkeypatch.setattr(importer, "BATCH", batch)
    config, (header, newer, older) = write_config(), EXPORTS["freshdesk"]
    result = kpi_imported(cli, config, tmp_path / "both.csv", header + newer + older)
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)
    assert result["records"]["tickets"] == {"new": 1, "updated": 0, "unchanged": 0, "older": 0, "repeated": 1}


def test_a_database_from_before_knows_when_its_tickets_were_updated(cli, write_config, tmp_path):
    config, (header, newer, older) = write_config(), EXPORTS["zendesk"]
    zone = ("--timezone", "America/New_York")
    kpi_imported(cli, config, tmp_path / "newer.csv", header + newer, *zone)
    database = config_module.load(config).monitor.database
    with Store.open(database) as store:  # the database as the previous version left it
        store.conn.execute("ALTER TABLE kpi_tickets DROP COLUMN updated_at")
        store.conn.execute("ALTER TABLE kpi_imports DROP COLUMN older")
        store.conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm006_tickets_updated_at'")
        store.conn.execute("PRAGMA user_version = 0")  # stamped by an older version
    with Store.open(database) as store:  # read in the import's zone: 10:00 in New York
        assert store.conn.execute("SELECT updated_at FROM kpi_tickets").fetchall() == [("2024-03-06T15:00:00Z",)]
    assert kpi_imported(cli, config, tmp_path / "newer.csv", header + newer, *zone)["unchanged"] == 2  # digests kept
    assert kpi_imported(cli, config, tmp_path / "older.csv", header + older, *zone)["older"] == 1
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)


#: Survey files that date each answer -> (header, the answer given again later: 1 of 5 or NPS 2,
#: the same answer as first given: 5 of 5 or NPS 10). Each file's answer has one id.
ANSWERS = {
    "intercom csat": (
        "Conversation ID,Updated at (Europe/London),Conversation rating remark,Conversation rating,"
        "User name,Company name,Agent rated type,Last survey sent\n",
        "9001,2024-03-06 10:00:00,changed my mind,1,Maria Lopez,Acme Corp,Teammate,\n",
        "9001,2024-03-05 10:00:00,great,5,Maria Lopez,Acme Corp,Teammate,\n",
    ),
    "helpscout ratings": (
        "Conversation Number,Happiness rating,Rating Created At,Rating Comments\n",
        "45678,Not Good,2024-03-06T10:00:00Z,changed my mind\n",
        "45678,Great,2024-03-05T10:00:00Z,great\n",
    ),
    "generic surveys": (
        "id,type,score,date,comment\n",
        "A1,nps,2,2024-03-06T10:00:00Z,changed my mind\n",
        "A1,nps,10,2024-03-05T10:00:00Z,great\n",
    ),
}


def answers(k: dict) -> tuple:
    """(answers, KPI): CSAT or NPS, whichever the file gave."""
    return (k["csat_responses"], k["csat_pct"]) if k["csat_responses"] else (k["nps_responses"], k["nps"])


@pytest.mark.parametrize("name", list(ANSWERS))
def test_an_answer_changed_since_an_older_survey_file_keeps_its_newer_value(cli, write_config, tmp_path, name):
    config, (header, later, earlier) = write_config(), ANSWERS[name]
    kpi_imported(cli, config, tmp_path / "later.csv", header + later)
    # One answer, given again as 1 of 5 (CSAT 0%) or NPS 2 (a detractor: -100).
    low = answers(kpis(cli, config))
    assert low in ((1, 0.0), (1, -100.0))
    result = kpi_imported(cli, config, tmp_path / "earlier.csv", header + earlier)
    assert answers(kpis(cli, config)) == low  # the earlier answer does not come back
    assert (result["new"], result["updated"], result["unchanged"], result["older"]) == (0, 0, 0, 1)
    assert result["records"]["responses"]["older"] == 1


@pytest.mark.parametrize("name", list(ANSWERS))
def test_a_later_answer_replaces_an_earlier_one_in_either_file_order(cli, write_config, tmp_path, name):
    config, (header, later, earlier) = write_config(), ANSWERS[name]
    kpi_imported(cli, config, tmp_path / "earlier.csv", header + earlier)
    assert answers(kpis(cli, config)) == (1, 100.0)  # 5 of 5 (satisfied), or NPS 10 (a promoter)
    assert kpi_imported(cli, config, tmp_path / "later.csv", header + later)["updated"] == 1
    assert answers(kpis(cli, config)) in ((1, 0.0), (1, -100.0))


@pytest.mark.parametrize("name", list(ANSWERS))
@pytest.mark.parametrize("batch", [1, 1000])
def test_within_one_file_the_later_answer_is_kept_in_any_batch(cli, write_config, tmp_path, monkeypatch, name, batch):
    monkeypatch.setattr(importer, "BATCH", batch)
    config, (header, later, earlier) = write_config(), ANSWERS[name]
    result = kpi_imported(cli, config, tmp_path / "both.csv", header + later + earlier)
    assert answers(kpis(cli, config)) in ((1, 0.0), (1, -100.0))
    assert result["records"]["responses"] == {"new": 1, "updated": 0, "unchanged": 0, "older": 0, "repeated": 1}


def test_answers_of_the_same_time_or_without_one_the_last_import_wins(cli, write_config, tmp_path):
    config, (header, later, _) = write_config(), ANSWERS["generic surveys"]
    kpi_imported(cli, config, tmp_path / "a.csv", header + later)
    # The same time, another score (a corrected file): the last import wins, as before.
    assert kpi_imported(cli, config, tmp_path / "b.csv", header + later.replace(",2,", ",8,"))["updated"] == 1
    assert answers(kpis(cli, config)) == (1, 0.0)  # 8: a passive (neither promoter nor detractor)
    # A Help Scout conversation export rates without a time: the last import wins there too.
    conversations = "Conversation ID,Mailbox,Created At,Closed At,Status,Type,Rating\n"
    row = "987,Support,2024-03-05T09:00:00Z,2024-03-05T10:00:00Z,closed,email,{}\n"
    kpi_imported(cli, config, tmp_path / "c.csv", conversations + row.format("Not Good"))
    assert kpi_imported(cli, config, tmp_path / "d.csv", conversations + row.format("Great"))["updated"] == 2
    assert (kpis(cli, config)["csat_responses"], kpis(cli, config)["csat_pct"]) == (1, 100.0)


def test_a_helpscout_rating_survives_a_row_from_before_it_but_not_a_later_update(cli, write_config, tmp_path):
    config, (header, newer, _) = write_config(), EXPORTS["helpscout"]
    kpi_imported(cli, config, tmp_path / "newer.csv", header + newer)  # closed 03-05 09:00, rated 03-06 10:00
    # Exported after the close, before the rating: its latest time (03-05 09:00) predates the rating.
    closed_unrated = "987,Support,2024-03-04T09:00:00Z,2024-03-05T09:00:00Z,closed,email,1,,\n"
    result = kpi_imported(cli, config, tmp_path / "closed.csv", header + closed_unrated)
    assert (result["new"], result["updated"], result["unchanged"], result["older"]) == (0, 0, 0, 1)
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)
    # A re-rating is later than the stored rating: taken (Not Good: 0% satisfied).
    rerated = newer.replace("Great,2024-03-06T10:00:00Z", "Not Good,2024-03-08T10:00:00Z")
    assert kpi_imported(cli, config, tmp_path / "rerated.csv", header + rerated)["updated"] == 2
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 0.0)
    # Help Scout's "User Updated At", later than the rating, on a row without one: the customer
    # took the rating back. The conversation stays resolved; the rating goes.
    updated = header.replace("\n", ",User Updated At\n")
    taken_back = closed_unrated.replace("\n", ",2024-03-09T08:00:00Z\n")
    assert kpi_imported(cli, config, tmp_path / "taken_back.csv", updated + taken_back)["updated"] == 1
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 0, None)


def test_a_database_from_before_ranks_its_helpscout_conversations_too(cli, write_config, tmp_path):
    config, (header, newer, older) = write_config(), EXPORTS["helpscout"]
    kpi_imported(cli, config, tmp_path / "newer.csv", header + newer)
    database = config_module.load(config).monitor.database
    with Store.open(database) as store:  # as the previous version left it: no time for Help Scout rows
        store.conn.execute("UPDATE kpi_tickets SET updated_at = NULL")
        store.conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_helpscout_conversations_ranked'")
        store.conn.execute("PRAGMA user_version = 0")
    with Store.open(database) as store:  # the latest time the stored row shows: the rating's
        assert store.conn.execute("SELECT updated_at FROM kpi_tickets").fetchall() == [("2024-03-06T10:00:00Z",)]
    assert kpi_imported(cli, config, tmp_path / "newer.csv", header + newer)["unchanged"] == 2  # digests kept
    assert kpi_imported(cli, config, tmp_path / "older.csv", header + older)["older"] == 1
    assert solved_and_rated(kpis(cli, config)) == (1, 1, 1, 100.0)
