"""Period figures (retention, cost per resolution, abandonment): each KPI combines
only inputs that cover the same days, and overlapping figures are refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from factories import kpi_sample
from monitor.config import KpiConfig
from monitor.kpi.importer import import_export
from monitor.kpi.report import kpis_for
from monitor.storage import Store

WEEK10 = datetime(2024, 3, 4, tzinfo=timezone.utc)  # Monday 4 March 2024


def window(store: Store, start: datetime = WEEK10, days: int = 14) -> dict:
    return kpis_for(store, [("w", start, start + timedelta(days=days))], timezone.utc, KpiConfig())["w"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_figure_missing_for_part_of_the_period_is_not_combined_with_the_rest(fresh_store, tmp_path):
    # Week 11 lacks contacts_handled and customers_new.
    gap = write(tmp_path, "gap.csv", "start,end,contacts_offered,contacts_handled,customers_start,customers_end,customers_new\n"
                "2024-03-04,2024-03-10,400,380,1000,1030,50\n"
                "2024-03-11,2024-03-17,500,,1030,1050,\n")
    import_export(fresh_store, gap)
    both = window(fresh_store)
    # Abandonment from the days having both: week 10's (400 - 380) / 400, not (900 - 380) / 900
    assert both["abandonment_pct"] == 5.0
    # Retention needs the new customers of the whole span: unknown, not (1050 - 50) / 1000
    assert both["retention_pct"] is None
    assert window(fresh_store, days=7)["retention_pct"] == 98.0  # week 10 alone is complete


def test_cost_per_resolution_counts_the_tickets_resolved_on_the_days_that_have_a_cost(fresh_store, tmp_path):
    import_export(fresh_store, kpi_sample("zendesk_tickets.csv"))  # 4 resolved in week 10
    import_export(fresh_store, kpi_sample("generic_tickets.csv"))  # 2 resolved in week 11
    import_export(fresh_store, write(tmp_path, "cost.csv", "start,end,operating_cost\n2024-03-04,2024-03-10,8000\n"))
    # Week 10's cost over week 10's resolutions, not over the fortnight's 6
    assert window(fresh_store)["cost_per_resolution"] == 2000.0
    assert window(fresh_store, WEEK10 + timedelta(days=7), 7)["cost_per_resolution"] is None  # no cost in week 11


def test_cost_per_resolution_is_based_on_the_tickets_it_was_divided_by(cli, write_config, tmp_path):
    config = write_config()
    for name in ("zendesk_tickets.csv", "generic_tickets.csv"):  # 4 resolved in week 10, 2 in week 11
        cli("--config", config, "kpi", "import", kpi_sample(name))
    cli("--config", config, "kpi", "import", write(tmp_path, "cost.csv", "start,end,operating_cost\n2024-03-04,2024-03-10,8000\n"))
    fortnight = ("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-17")
    kpis = json.loads(cli(*fortnight, "--format", "json").output)["total"]["kpis"]
    # 8000 / 4, so a reader checking it by hand needs 4, not the fortnight's 6 resolved
    assert (kpis["cost_per_resolution"], kpis["cost_tickets"], kpis["tickets_resolved"]) == (2000.0, 4, 6)
    row = next(line for line in cli(*fortnight).output.splitlines() if line.startswith("Cost per resolution"))
    assert row.split()[3:6] == ["2,000.00", "-", "-"] and row.split()[6] == "4", row
    with Store.open(tmp_path / "monitor.db") as store:
        assert window(store, WEEK10 + timedelta(days=7), 7)["cost_tickets"] is None  # no cost that week


def test_a_figure_overlapping_a_stored_one_of_its_metric_is_refused_and_nothing_written(cli, write_config, tmp_path):
    config = write_config()
    assert cli("--config", config, "kpi", "import", kpi_sample("generic_figures.csv")).exit_code == 0  # two weeks
    month = write(tmp_path, "month.csv", "start,end,contacts_offered,contacts_handled\n2024-03-01,2024-03-31,2000,1900\n")
    refused = cli("--config", config, "kpi", "import", month)
    assert refused.exit_code != 0
    assert (f'{month}:2: "contacts_offered" for 2024-03-01 to 2024-03-31 overlaps the stored "contacts_offered"'
            f" for 2024-03-04 to 2024-03-10 (imported from {kpi_sample('generic_figures.csv')})") in refused.output
    assert "nothing was imported" in refused.output
    store = Store.open(tmp_path / "monitor.db")
    assert store.kpi.counts()["figures"] == 12 and len(store.kpi.imports()) == 1
    assert window(store, days=28)["abandonment_pct"] == 6.67  # (900 - 840) / 900: the weeks, not weeks + month
    store.close()
    # Within one file too; the same dates again replace the stored figure
    both = write(tmp_path, "both.csv", "start,end,cost\n2024-03-18,2024-03-24,5\n2024-03-20,2024-03-21,5\n")
    assert "both.csv:3:" in cli("--config", config, "kpi", "import", both).output
    same = write(tmp_path, "same.csv", "start,end,contacts_offered\n2024-03-04,2024-03-10,410\n")
    assert cli("--config", config, "kpi", "import", same).exit_code == 0
