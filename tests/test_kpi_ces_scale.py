"""CES answers without a declared scale follow `[kpi] ces_scale` when KPIs are
computed, in new and in existing databases."""

from __future__ import annotations

import json

from factories import kpi_responses_as_before
from monitor import config as config_module
from monitor.storage import Store

UNDECLARED = "type,score,date\nces,4,2024-03-08\nces,5,2024-03-08\nces,5,2024-03-08\n"
DECLARED = "type,score,date,scale_max\nces,7,2024-03-08,7\n"
WINDOW = ("--from", "2024-03-04", "--to", "2024-03-10")


def ces(cli, config) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    result = cli("--config", config, "kpi", "show", *WINDOW, "--format", "json")
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.stdout)["total"]["kpis"]
    return kpis["ces"], kpis["ces_responses"]


def imported(cli, write_config, tmp_path, *texts: str):  # type: ignore[no-untyped-def]
    config = write_config()  # the default ces_scale, 7
    for i, text in enumerate(texts):
        (tmp_path / f"ces{i}.csv").write_text(text, encoding="utf-8")
        assert cli("--config", config, "kpi", "import", tmp_path / f"ces{i}.csv").exit_code == 0
    return config


def on_scale_5(config):  # type: ignore[no-untyped-def]
    config.write_text(config.read_text() + "\n[kpi]\nces_scale = 5\n")
    return config


def test_changing_ces_scale_after_the_import_needs_no_reimport(cli, write_config, tmp_path):
    config = imported(cli, write_config, tmp_path, UNDECLARED)
    assert ces(cli, config) == (4.67, 3)
    # The answers were given on the configured scale: corrected to 5, they stay 4, 5, 5 (not 3.0, 3.67, 3.67)
    assert ces(cli, on_scale_5(config)) == (4.67, 3)


def test_declared_scales_are_still_rescaled_and_answers_above_a_lowered_scale_left_out(cli, write_config, tmp_path):
    config = imported(cli, write_config, tmp_path, DECLARED, "type,score,date\nces,6,2024-03-08\n")
    assert ces(cli, config) == (6.5, 2)
    # 7 of 7 declared is 5 of 5; the undeclared 6 cannot be on 1-5: left out
    assert ces(cli, on_scale_5(config)) == (5.0, 1)


def test_existing_databases_are_migrated(cli, write_config, tmp_path):
    config = imported(cli, write_config, tmp_path, UNDECLARED, DECLARED)
    database = config_module.load(config).monitor.database
    with Store.open(database) as store:  # as the previous version stored them: on 1..7 of the import
        store.conn.execute("UPDATE kpi_responses SET scale_max = 7")
        kpi_responses_as_before(store, "m003_ces_on_the_configured_scale")
    assert ces(cli, on_scale_5(config)) == (4.75, 4)  # 4, 5, 5 on 1-5 and the declared 7 of 7
    again = json.loads(cli("--config", config, "kpi", "import", tmp_path / "ces0.csv", "--output", "json").stdout)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 3)
