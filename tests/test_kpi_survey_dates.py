"""A survey answer dated with a date alone reports on that calendar day, whatever
the import zone, in new and in existing databases."""

from __future__ import annotations

import json

from factories import kpi_responses_as_before
from monitor import config as config_module
from monitor.storage import Store

ANSWERS = "type,score,date\nnps,10,2024-03-11\nnps,0,2024-03-11\nnps,10,2024-03-12\nnps,9,2024-03-12T23:30:00\n"


def by_day(cli, config) -> dict[str, int]:  # type: ignore[no-untyped-def]
    result = cli("--config", config, "kpi", "show", "--from", "2024-03-10", "--to", "2024-03-13", "--by", "day",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    return {r["period"]: r["kpis"]["nps_responses"] for r in json.loads(result.stdout)["rows"]}


def test_a_date_alone_is_that_day_with_an_import_zone_east_of_the_monitor(cli, write_config, tmp_path):
    config = write_config()  # [monitor] timezone = "UTC"
    (tmp_path / "sd.csv").write_text(ANSWERS, encoding="utf-8")
    assert cli("--config", config, "kpi", "import", tmp_path / "sd.csv", "--timezone", "Asia/Tokyo").exit_code == 0
    # 2024-03-11 is the 11th, not 15:00 UTC on the 10th; a time keeps its zone: 23:30 Tokyo is the 12th in UTC
    assert by_day(cli, config) == {"2024-03-10": 0, "2024-03-11": 2, "2024-03-12": 2, "2024-03-13": 0}


def test_date_only_answers_imported_before_are_moved_to_their_day(cli, write_config, tmp_path):
    config = write_config()
    (tmp_path / "sd.csv").write_text(ANSWERS, encoding="utf-8")
    assert cli("--config", config, "kpi", "import", tmp_path / "sd.csv", "--timezone", "Asia/Tokyo").exit_code == 0
    database = config_module.load(config).monitor.database
    with Store.open(database) as store:  # as the previous version stored them: at midnight in Tokyo
        store.conn.execute("UPDATE kpi_responses SET responded_at = replace(responded_at, 'T03:00:00Z', 'T00:00:00Z')")
        store.conn.execute("UPDATE kpi_responses SET responded_at = date(responded_at, '-1 day') || 'T15:00:00Z'"
                           " WHERE responded_at LIKE '%T00:00:00Z'")
        kpi_responses_as_before(store, "m004_date_only_answers_on_their_day")
    with Store.open(database) as store:
        assert store.conn.execute("SELECT count(*) FROM kpi_responses WHERE responded_at LIKE '%T15:00:00Z'"
                                  ).fetchone()[0] == 0
    assert by_day(cli, config) == {"2024-03-10": 0, "2024-03-11": 2, "2024-03-12": 2, "2024-03-13": 0}
    again = json.loads(cli("--config", config, "kpi", "import", tmp_path / "sd.csv", "--timezone", "Asia/Tokyo",
                           "--output", "json").stdout)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 4)
