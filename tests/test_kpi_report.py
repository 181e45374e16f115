"""`kpi show` and `summary`: KPIs per day and week, the change against the
previous period, and KPIs beside sentiment."""

from __future__ import annotations

import csv
import io
import json

import pytest

from factories import kpi_sample, record, write_jsonl
from monitor import config as config_module
from monitor.errors import ConfigError


@pytest.fixture
def loaded(cli, write_config):
    """A config whose database holds the Zendesk sample, the period figures and generic tickets."""

    def load(*names: str, extra: str = ""):  # type: ignore[no-untyped-def]
        path = write_config(extra)
        for name in names:
            assert cli("--config", path, "kpi", "import", kpi_sample(name)).exit_code == 0
        return path

    return load


def show_json(cli, config, *args):  # type: ignore[no-untyped-def]
    result = cli("--config", config, "kpi", "show", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_per_day_with_change_against_the_day_before(cli, loaded):
    config = loaded("zendesk_tickets.csv")
    data = show_json(cli, config, "--from", "2024-03-04", "--to", "2024-03-10", "--by", "day")
    by_day = {r["period"]: r for r in data["rows"]}
    assert list(by_day) == [f"2024-03-{d:02d}" for d in range(4, 11)]
    mar4, mar5 = by_day["2024-03-04"], by_day["2024-03-05"]
    # 4 March: 1001 Good; first replies 30 and 60 min; 1001 resolved in 120 min, one touch
    assert (mar4["kpis"]["csat_pct"], mar4["kpis"]["first_response_median_s"]) == (100.0, 2700)
    assert (mar4["kpis"]["resolution_median_s"], mar4["kpis"]["fcr_pct"]) == (7200, 100.0)
    assert mar4["change"]["csat_pct"] is None  # nothing on 3 March to compare with
    # 5 March: Bad and Good; first replies 15 and 120 min; 1002 (1440 min) and 1003 (90 min) resolved
    assert (mar5["kpis"]["csat_pct"], mar5["change"]["csat_pct"]) == (50.0, -50.0)
    assert (mar5["kpis"]["first_response_median_s"], mar5["change"]["first_response_median_s"]) == (4050, 1350)
    assert (mar5["kpis"]["resolution_median_s"], mar5["change"]["resolution_median_s"]) == (45900, 38700)
    assert (mar5["kpis"]["fcr_pct"], mar5["change"]["fcr_pct"]) == (50.0, -50.0)
    assert (mar4["from"], mar4["to"]) == ("2024-03-04T00:00:00Z", "2024-03-05T00:00:00Z")


def test_per_week_with_figures_and_change(cli, loaded):
    config = loaded("zendesk_tickets.csv", "generic_tickets.csv", "generic_figures.csv", "generic_surveys.csv")
    data = show_json(cli, config, "--from", "2024-03-04", "--to", "2024-03-17", "--by", "week")
    w10, w11 = data["rows"]
    assert (w10["period"], w11["period"]) == ("2024-W10", "2024-W11")
    assert (w11["kpis"]["retention_pct"], w11["change"]["retention_pct"]) == (98.06, 0.06)
    assert (w11["kpis"]["abandonment_pct"], w11["change"]["abandonment_pct"]) == (8.0, 3.0)
    assert (w11["kpis"]["cost_per_resolution"], w11["change"]["cost_per_resolution"]) == (4500.0, 2500.0)
    assert (w11["kpis"]["nps"], w11["change"]["nps"]) == (28.57, None)  # no NPS in week 10
    # The whole window: Zendesk's Good, Bad, Good; generic tickets' 5, 3; the survey's 4 -> 4 of 6
    assert data["total"]["kpis"]["csat_pct"] == 66.67


def test_the_total_is_the_same_with_or_without_rows(cli, loaded):
    config = loaded("zendesk_tickets.csv", "generic_tickets.csv", "generic_figures.csv", "generic_surveys.csv",
                    "intercom_conversations.csv", "freshdesk_tickets.csv")
    window = ("--from", "2024-03-02", "--to", "2024-03-14")  # partial weeks at both ends
    plain = show_json(cli, config, *window)["total"]["kpis"]
    assert plain["tickets_created"] == 17  # not Zendesk's 1006, merged into another ticket
    assert show_json(cli, config, *window, "--by", "week")["total"]["kpis"] == plain
    assert show_json(cli, config, *window, "--by", "day")["total"]["kpis"] == plain


def test_total_against_the_window_before(cli, loaded):
    config = loaded("zendesk_tickets.csv", "generic_tickets.csv")
    data = show_json(cli, config, "--from", "2024-03-11", "--to", "2024-03-17")
    assert data["previous_window"] == {"from": "2024-03-04T00:00:00Z", "to": "2024-03-11T00:00:00Z"}
    total = data["total"]
    assert (total["kpis"]["csat_pct"], total["previous"]["csat_pct"], total["change"]["csat_pct"]) == (50.0, 66.67, -16.67)
    assert (total["kpis"]["fcr_estimated"], total["previous"]["fcr_estimated"]) == (False, True)
    assert data["rows"] == [] and data["settings"] == {
        "csat_satisfied_min": 4.0, "csat_neutral": "dissatisfied", "ces_scale": 7,
    }


def test_days_follow_the_configured_time_zone(cli, loaded):
    config = loaded("intercom_conversations.csv")
    config.write_text(config.read_text().replace('timezone = "UTC"', 'timezone = "Europe/Paris"'))
    data = show_json(cli, config, "--from", "2024-03-04", "--to", "2024-03-05", "--by", "day")
    created = {r["period"]: r["kpis"]["tickets_created"] for r in data["rows"]}
    # 3003 was created at 00:30 Paris time on 5 March (23:30 UTC on the 4th)
    assert created == {"2024-03-04": 2, "2024-03-05": 1}


def test_table_output(cli, loaded):
    config = loaded("zendesk_tickets.csv")
    result = cli("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-10")
    lines = result.stdout.splitlines()
    assert lines[0] == "2024-03-04 00:00 to 2024-03-11 00:00 (UTC)"
    assert lines[1] == "previous: 2024-02-26 00:00 to 2024-03-04 00:00"
    table = "\n".join(lines)
    assert "CSAT                                          66.7%" in table
    assert "First response time (median)                  1h00m" in table
    assert "Resolution time (mean)                        12h52m" in table
    assert "First-contact resolution (estimated)" in table
    daily = cli("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-05", "--by", "day").stdout
    assert "2024-03-05  50.0% (-50.0)" in daily and "1h07m (+22m30s)" in daily and "~50.0% (-50.0)" in daily
    assert "~ FCR estimated from replies and reopens" in daily


def test_the_estimate_note_says_for_how_many_tickets_fcr_was_estimated(cli, loaded, tmp_path):
    from test_kpi_import import _sample_with

    # Intercom's own "Resolved on first contact", left empty for one ticket: estimated for that one only
    config = loaded()
    path = _sample_with(tmp_path, "intercom_conversations.csv", "Resolved on first contact", "")
    assert cli("--config", config, "kpi", "import", path).exit_code == 0
    window = ("--from", "2024-03-04", "--to", "2024-03-10")
    total = show_json(cli, config, *window)["total"]["kpis"]
    assert (total["fcr_estimated"], total["fcr_estimated_tickets"], total["fcr_tickets"]) == (True, 1, 3)
    daily = cli("--config", config, "kpi", "show", *window, "--by", "day").stdout
    assert ("~ FCR estimated from replies and reopens for 1 of 3 tickets, which have no first-contact value"
            " in their export; the others use the export's own.") in daily
    assert "the export has no first-contact field" not in daily


def test_the_estimate_note_when_every_ticket_was_estimated(cli, loaded):
    window = ("--from", "2024-03-04", "--to", "2024-03-10")
    config = loaded("zendesk_tickets.csv")  # Zendesk has no first-contact field
    by_channel = cli("--config", config, "kpi", "show", *window, "--by", "channel").stdout
    assert "~ FCR estimated from replies and reopens for 4 of 4 tickets: their export has no first-contact field." in by_channel


def test_every_kpi_value_has_one_name_kind_and_direction():
    from monitor.kpi.display import KPIS, MAIN, SUMMARY
    from monitor.kpi.report import VALUE_KEYS
    from monitor.kpi.targets import SPECS

    assert set(KPIS) == set(VALUE_KEYS)
    assert set(MAIN) <= set(KPIS) and set(SUMMARY) <= set(MAIN)
    assert {kpi for kpi, _ in SPECS.values()} <= set(MAIN)


def test_csv_output_has_values_and_changes(cli, loaded):
    config = loaded("zendesk_tickets.csv")
    out = cli("--config", config, "kpi", "show", "--from", "2024-03-04", "--to", "2024-03-05", "--by", "day", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["period"] for r in table] == ["total", "2024-03-04", "2024-03-05"]
    assert table[2]["csat_pct"] == "50.0" and table[2]["csat_pct_change"] == "-50.0"


def test_settings_come_from_the_kpi_section(cli, loaded):
    config = loaded("freshdesk_tickets.csv", extra='[kpi]\ncsat_neutral = "exclude"\n')
    data = show_json(cli, config, "--from", "2024-03-04", "--to", "2024-03-10")
    assert data["total"]["kpis"]["csat_pct"] == 50.0 and data["settings"]["csat_neutral"] == "exclude"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[kpi]\ncsat_satisfied_min = 6\n", "[kpi]: csat_satisfied_min: must be above 1 and at most 5"),
        ('[kpi]\ncsat_neutral = "maybe"\n', "[kpi]: csat_neutral: expected one of 'dissatisfied', 'satisfied', 'exclude'"),
        ('[kpi]\ntimezone = "Mars/Olympus"\n', '[kpi]: timezone: unknown time zone "Mars/Olympus"'),
        ("[kpi]\nces_scale = 1\n", "[kpi]: ces_scale: must be between 2 and 10"),
        ("[kpi.targets]\ncsat_pct = 120\n", "[kpi]: targets: csat_pct: must be between 0 and 100"),
        ("[kpi.targets]\nfirst_response_hours = 0\n", "[kpi]: targets: first_response_hours: must be greater than 0"),
        ('[kpi.targets]\nnps = "none"\n', "[kpi]: targets: nps: expected a number"),
        ("[kpi]\nces_scale = 5\n[kpi.targets]\nces = 6\n", "[kpi]: targets: ces: must be between 1 and ces_scale (5)"),
        ("[kpi.targets]\ncsat = 80\n", '[kpi]: targets: unknown key "csat" (did you mean "csat_pct"?)'),
        ("[alerts]\nkpi_min_count = 0\n", "[alerts]: kpi_min_count: must be at least 1"),
    ],
)
def test_kpi_config_errors_name_the_key(write_config, extra, message):
    with pytest.raises(ConfigError) as caught:
        config_module.load(write_config(extra))
    assert message in str(caught.value)


# --------------------------------------------------------------- summary
_SUMMARY_KEYS = ["volume", "positive", "neutral", "negative", "unscored", "unsupported", "negative_ratio", "positive_ratio", "net_sentiment"]


def _with_mentions(config, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    """Mentions on 4 and 5 March 2024 (hours_ago is relative to now: use fixed times)."""
    records = [
        {**record("m1", "acme support was great, thanks"), "created_at": "2024-03-04T12:00:00Z"},
        {**record("m2", "acme lost my parcel, terrible"), "created_at": "2024-03-05T12:00:00Z"},
        {**record("m3", "acme is awful, never again"), "created_at": "2024-03-05T13:00:00Z"},
    ]
    assert cli("--config", config, "import", write_jsonl(tmp_path / "m.jsonl", records)).exit_code == 0


def test_summary_json_adds_kpis_and_keeps_its_keys(cli, loaded, tmp_path):
    config = loaded("zendesk_tickets.csv")
    _with_mentions(config, tmp_path, cli)
    out = cli("--config", config, "summary", "--from", "2024-03-04", "--to", "2024-03-05", "--by", "day", "--format", "json")
    data = json.loads(out.stdout)
    # keys are only ever added, at the end (targets: issue 10)
    assert list(data) == ["from", "to", "timezone", "by", "brand", "platform", "total", "rows", "targets"]
    assert list(data["total"]) == [*_SUMMARY_KEYS, "kpis", "meets_target"]
    assert list(data["rows"][0]) == ["period", *_SUMMARY_KEYS, "kpis", "meets_target"]
    mar4, mar5 = data["rows"]
    assert (mar4["volume"], mar4["kpis"]["csat_pct"]) == (1, 100.0)
    assert (mar5["negative"], mar5["kpis"]["csat_pct"], mar5["kpis"]["first_response_median_s"]) == (2, 50.0, 4050)
    assert data["total"]["kpis"]["csat_pct"] == 66.67  # Good, Bad, Good


def test_summary_by_brand_gives_kpis_for_the_total_only(cli, loaded, tmp_path):
    config = loaded("zendesk_tickets.csv")
    _with_mentions(config, tmp_path, cli)
    data = json.loads(cli("--config", config, "summary", "--from", "2024-03-04", "--to", "2024-03-05",
                          "--by", "brand", "--format", "json").stdout)
    assert "kpis" in data["total"] and all("kpis" not in r for r in data["rows"])


def test_summary_table_shows_kpis_beside_sentiment(cli, loaded, write_config, tmp_path):
    config = loaded("zendesk_tickets.csv")
    _with_mentions(config, tmp_path, cli)
    table = cli("--config", config, "summary", "--from", "2024-03-04", "--to", "2024-03-05", "--by", "day").stdout
    header, _, mar4, mar5, total = table.splitlines()[1:6]
    # only the KPIs with data: no NPS was imported
    assert header.split()[-8:] == ["net_sentiment", "CSAT", "1st", "reply", "(med)", "resolution", "(med)", "FCR"]
    assert mar5.split() == ["2024-03-05", "2", "0", "0", "2", "0", "100%", "0%", "-1.00",
                            "50.0%", "✗", "1h07m", "✓", "12h45m", "✓", "~50.0%", "✗"]
    assert total.split()[0] == "total" and "66.7%" in total
    # Without KPI data the table is as it always was
    plain = write_config(name="plain.toml").read_text().replace("monitor.db", "plain.db")
    (tmp_path / "plain.toml").write_text(plain)
    _with_mentions(tmp_path / "plain.toml", tmp_path, cli)
    header = cli("--config", tmp_path / "plain.toml", "summary", "--from", "2024-03-04", "--to", "2024-03-05").stdout.splitlines()[1]
    assert header.split()[-1] == "net_sentiment"


# ---------------------------------------------------------------- digest
def test_the_digest_shows_the_days_kpis_with_their_change(loaded):
    from datetime import date

    from monitor.digest import build, render
    from monitor.storage import Store

    config = config_module.load(loaded("zendesk_tickets.csv", "intercom_conversations.csv"))
    store = Store.open(config.monitor.database)
    digest = build(store, config, date(2024, 3, 5))
    shown = {k.name: (k.value_text, k.change_text, k.better) for k in digest.kpis}
    # 5 March against 4 March. CSAT: Zendesk Bad, Good (1 of 2); 4 March: Good and Intercom's 5 -> 100 %
    assert shown["CSAT"] == ("50.0%", "-50.0", "higher")
    # First replies of tickets created on the 5th: 15 and 120 min -> 67.5 min; the 4th: 30, 60 min,
    # and Intercom's 210, 32400, 60 s -> median of 60, 210, 1800, 3600, 32400 s = 1800 s
    assert shown["First response time (median)"] == ("1h07m", "+37m30s", "lower")
    # Resolved on the 5th: Zendesk 1002 (not one-touch), 1003 (one-touch) -> 50 %, estimated
    assert shown["First-contact resolution (estimated)"][0] == "50.0%"
    assert "NPS" not in shown  # no data that day: not listed
    text = render.text(digest)
    assert "CSAT: 50.0% (-50.0)" in text and "No KPI data imported" not in text
    store.close()
