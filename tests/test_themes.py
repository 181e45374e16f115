"""Complaint themes, emerging phrases, `themes` and `summary --by theme`, on
mentions written for the tests: an outage that emerges in the second week,
delivery complaints that fade."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from factories import config_error, scored
from monitor import config as config_module
from monitor.brands import TermSets
from monitor.storage import Store
from monitor.themes import STOP_WORDS, ThemeMatcher

WEEK1 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)  # Monday of the week before
WEEK2 = datetime(2026, 3, 9, 9, tzinfo=timezone.utc)  # Monday of the reported week
WINDOW = ("--from", "2026-03-09", "--to", "2026-03-15")

#: (id, day of its week, platform, label, compound, text)
MENTIONS = {
    WEEK1: [
        ("d1", 0, "x", "negative", -0.6, "@acme my parcel never arrived"),
        ("d2", 1, "x", "negative", -0.8, "courier lost my parcel again, thanks acme"),
        ("d3", 2, "reddit", "negative", -0.5, "acme order still not delivered after 9 days"),
        ("d4", 3, "x", "negative", -0.4, "where is my acme delivery??"),
        ("b1", 4, "x", "negative", -0.5, "acme charged me twice this month"),
        ("g1", 4, "x", "negative", -0.7, "globex status page is a joke, outage all day"),
    ],
    WEEK2: [
        ("o1", 0, "x", "negative", -0.7, "acme broadband down again and the status page says all fine"),
        ("o2", 0, "x", "negative", -0.9, "#acme outage for 5 hours, status page still green"),
        ("o3", 1, "reddit", "negative", -0.6, "no internet since 7am, @acmesupport status page useless"),
        ("o4", 1, "x", "negative", -0.5, "Acme is down. #outage"),
        ("o5", 2, "x", "negative", -0.3, "acme down here too, 999 calls fail"),
        ("p1", 2, "x", "positive", 0.8, "acme outage fixed fast, great work by the engineers"),
        ("d5", 3, "x", "negative", -0.4, "the courier says delivered, acme, but nothing here"),
        ("c1", 4, "x", "negative", -0.8, "acme refunded the wrong amount and the agent was rude"),
        ("l1", 4, "x", "negative", -0.5, "acme let me down again"),
        ("n1", 5, "x", "neutral", 0.0, "is the acme status page updated by hand?"),
    ],
}


@pytest.fixture
def monitored(write_config):
    """A config and database holding MENTIONS (Acme; one Globex complaint)."""

    def make(extra: str = ""):  # type: ignore[no-untyped-def]
        path = write_config(extra)
        config = config_module.load(path)
        with Store.open(config.monitor.database) as store:
            items = [
                scored(mid, text, at=week + timedelta(days=day), label=label, compound=compound, platform=platform,
                       brand="Globex" if "globex" in text else "Acme")
                for week, rows in MENTIONS.items() for mid, day, platform, label, compound, text in rows
            ]
            # history begins with the week before (the stored hours are what the period before is over)
            items.append(scored("start", "acme", at=WEEK1.replace(hour=0)))
            store.mentions.upsert(items, WEEK2)
        return path

    return make


def themes_json(cli, path, *args):  # type: ignore[no-untyped-def]
    result = cli("--config", path, "themes", *WINDOW, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_theme_emerges_in_the_second_week_and_another_fades(cli, monitored):
    data = themes_json(cli, monitored())
    assert (data["from"], data["to"]) == ("2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z")
    assert data["previous"] == {"from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"}
    (acme,) = data["brands"]  # own brands only: Globex is a competitor
    assert (acme["brand"], acme["negatives"], acme["previous_negatives"]) == ("Acme", 8, 5)
    themes = {t["theme"]: t for t in acme["themes"]}
    outage, delivery = themes["outage"], themes["delivery"]
    # o1-o5 (the positive p1 is not a complaint; "let me down" is excluded from outage)
    assert (outage["negatives"], outage["previous"], outage["trend"]) == (5, 0, "new")
    assert outage["lift"] == 6.0 and outage["share"] == 0.625  # (5+1)/(0+1); 5 of 8
    # d1-d4 before, d5 now: lift (1+1)/(4+1) = 0.4, at most 1/2
    assert (delivery["negatives"], delivery["previous"], delivery["change"], delivery["trend"]) == (1, 4, -3, "fading")
    # c1 is in two themes and counts in each; b1 was billing the week before
    assert (themes["billing"]["negatives"], themes["billing"]["previous"]) == (1, 1)
    assert themes["support"]["negatives"] == 1 and themes["billing"]["trend"] == "steady"
    assert (acme["no_theme"], acme["previous_no_theme"]) == (1, 0)  # l1; every negative before had a theme
    # most negatives first, then most before
    assert [t["theme"] for t in acme["themes"]][:4] == ["outage", "delivery", "billing", "support"]
    # examples: the most negative first, full mention objects
    assert [m["id"] for m in outage["examples"]] == ["o2", "o1", "o3"]
    assert set(outage["examples"][0]) >= {"platform", "id", "text", "url", "compound", "created_at"}


def test_emerging_phrases_leave_out_brands_handles_numbers_and_stop_words(cli, monitored):
    acme = themes_json(cli, monitored())["brands"][0]
    phrases = [p["phrase"] for p in acme["emerging"]]
    assert phrases == ["down", "status page"]  # by lift: "down" is in o1, o4, o5 and l1
    down, status = acme["emerging"]
    assert (down["negatives"], down["previous"], down["lift"], down["trend"]) == (4, 0, 5.0, "new")
    assert (status["negatives"], status["previous"], status["lift"], status["trend"]) == (3, 0, 4.0, "new")
    assert [m["id"] for m in status["examples"]] == ["o2", "o1", "o3"]
    # "status" and "page" alone say nothing more than "status page"
    assert "status" not in phrases and "page" not in phrases
    for phrase in phrases:
        words = phrase.split()
        assert not {"acme", "acmesupport", "brandx", "globex"} & set(words)
        assert not any(ch.isdigit() for ch in phrase)
        assert words[0] not in STOP_WORDS and words[-1] not in STOP_WORDS


def test_output_is_deterministic_and_competitors_are_there_on_request(cli, monitored):
    path = monitored()
    assert themes_json(cli, path) == themes_json(cli, path)
    (globex,) = themes_json(cli, path, "--brand", "globex")["brands"]
    assert globex["brand"] == "Globex" and globex["previous_negatives"] == 1
    assert "no [[brands]] entry" in cli("--config", path, "themes", "--brand", "Initech").output


def test_themes_table_and_csv(cli, monitored):
    path = monitored()
    table = cli("--config", path, "themes", *WINDOW).stdout
    assert "Acme: 8 negative mentions 2026-03-09 00:00 to 2026-03-16 00:00 UTC; 5 in the period before" in table
    outage = next(line for line in table.splitlines() if line.startswith("outage"))
    assert outage.split()[:6] == ["outage", "5", "0", "+5", "new", "62%"]
    assert "#acme outage for 5 hours" in outage
    assert "pricing" not in table  # no mention either week
    assert "status page  3" in table
    rows = cli("--config", path, "themes", *WINDOW, "--format", "csv").stdout.splitlines()
    assert rows[0] == "brand,kind,name,negatives,previous,change,lift,trend,share,example"
    assert any(r.startswith("Acme,phrase,status page,3,0,") for r in rows)
    # l1: the shares add up from the file alone; counted as a theme is (it had no previous, change, share)
    assert "Acme,no_theme,(no theme),1,0,1.0,2.0,steady,0.125," in rows
    unthemed = next(line for line in table.splitlines() if line.startswith("(no theme)"))
    assert unthemed.split() == ["(no", "theme)", "1", "0", "+1", "steady", "12%", "-"]


def test_negatives_in_no_theme_are_shown_when_no_theme_is_configured(cli, monitored):
    path = monitored("[insights]\ndefault_themes = false\n")
    table = cli("--config", path, "themes", *WINDOW).stdout
    assert "Acme: 8 negative mentions" in table and "(no negative mentions" not in table
    assert re.search(r"^\(no theme\)\s+8\s", table, re.MULTILINE)


def test_summary_by_theme_counts_every_mention_per_theme_and_platform(cli, monitored):
    path = monitored()
    out = cli("--config", path, "summary", *WINDOW, "--by", "theme", "--format", "json")
    data = json.loads(out.stdout)
    rows = {r["theme"]: r for r in data["rows"]}
    assert data["total"]["volume"] == 10  # every mention of the window, once
    outage = rows["outage"]  # o1-o5, the positive p1 and the neutral n1 ("status page")
    assert (outage["volume"], outage["negative"], outage["positive"], outage["negative_ratio"]) == (7, 5, 1, 0.7143)
    assert outage["platforms"] == [
        {"platform": "x", "volume": 6, "positive": 1, "neutral": 1, "negative": 4, "unscored": 0, "unsupported": 0,
         "negative_ratio": 0.6667, "positive_ratio": 0.1667, "net_sentiment": -0.5},
        {"platform": "reddit", "volume": 1, "positive": 0, "neutral": 0, "negative": 1, "unscored": 0,
         "unsupported": 0, "negative_ratio": 1.0, "positive_ratio": 0.0, "net_sentiment": -1.0},
    ]
    assert (rows["billing"]["volume"], rows["support"]["volume"]) == (1, 1)  # c1 in both
    assert rows["(no theme)"]["volume"] == 1  # l1
    assert list(rows)[-1] == "(no theme)"
    assert sum(r["volume"] for r in data["rows"]) > data["total"]["volume"]
    table = cli("--config", path, "summary", *WINDOW, "--by", "theme").stdout
    assert "A mention in several themes counts in each." in table and "By theme and platform:" in table


def test_configured_themes_replace_extend_and_drop_the_defaults(monitored):
    path = monitored("""
        [[themes]]
        name = "outage"
        keywords = ["status page"]
        [[themes]]
        name = "engineers"
        keywords = ["engineer*"]
        [[themes]]
        name = "pricing"
        enabled = false
    """)
    config = config_module.load(path)
    assert [t.name for t in config.theme_rules()] == ["delivery", "billing", "app", "support", "outage", "engineers"]
    matcher = ThemeMatcher(config.theme_rules())
    assert matcher.themes("acme down again") == []  # outage is now only "status page"
    assert matcher.themes("great work by the Engineers, status page updated") == ["outage", "engineers"]
    only = config_module.load(monitored('[insights]\ndefault_themes = false\n[[themes]]\nname = "x"\nkeywords = ["y"]\n'))
    assert [t.name for t in only.theme_rules()] == ["x"]


@pytest.mark.parametrize(("extra", "message"), [
    ('[[themes]]\nname = "a"\n', '[[themes]] #1 ("a"): keywords: a theme needs at least one keyword'),
    ('[[themes]]\nname = "a"\nkeywords = ["re*fund"]\n', '"re*fund": "*" is only allowed once, at the end'),
    ('[[themes]]\nname = "a"\nkeywords = ["b"]\n[[themes]]\nname = "A"\nkeywords = ["c"]\n', 'name: "A" is defined twice'),
    ("[insights]\nmin_lift = 1.0\n", "[insights]: min_lift: must be greater than 1"),
    ("[insights]\nmin_count = 0\n", "[insights]: min_count: must be at least 1"),
])
def test_theme_config_errors_name_the_key(write_config, extra, message):
    assert message in config_error(write_config(extra))


def test_shipped_themes_on_typical_complaints():
    matcher = ThemeMatcher(config_module.default_themes())
    cases = {
        "my parcel still hasn't arrived": ["delivery"],
        "refunded twice?? still waiting for my money back": ["billing"],
        "the app keeps logging me out": ["app"],
        "on hold for 40 minutes and the agent hung up": ["support"],
        "no internet since 7am": ["outage"],
        "another price rise, what a rip-off": ["pricing"],
        "they really let me down": [],
        # An exclusion cancels the words it covers, not the mention's other keywords.
        "Acme really let me down, internet down since Sunday, outage still not fixed": ["outage"],
        "acme let me down: no internet for 3 days": ["outage"],
        "app crashes every time I open it, 1 star on the app store": ["app"],
        "5 stars on the app store": [],
        "@acmesupport please DM me": [],  # a handle is not the word "support"
    }
    assert {text: matcher.themes(text) for text in cases} == cases


def test_term_sets_find_overlapping_and_shared_terms():
    sets = TermSets({"a": ["status page", "refund*"], "b": ["page", "refund"], "c": ["#outage"]})
    assert sets.find("The STATUS   page lies") == ["a", "b"]  # "page" inside the longer match
    assert sets.find("refund please") == ["a", "b"] and sets.find("refunded") == ["a"]
    assert sets.find("#outage and @refund") == ["a", "b", "c"]  # a leading # or @ is allowed, as for brands
    assert sets.find("@refunddesk") == ["a"] and sets.find("@pagesupport") == []  # "page" is not the handle's word
    assert sets.find("pages, refundable") == ["a"]
    assert sets.find("nothing here") == []


def test_terms_are_compared_as_brand_masking_compares_them():
    from sentiment.text import brand_term_keys

    terms = ["@ Acme  Mobile", "#acme"]
    assert brand_term_keys(terms) == ["acme mobile", "acme"]
    assert TermSets({"x": terms[:1], "y": terms[1:]}).find("my acme mobile bill") == ["x", "y"]


def test_switching_off_a_theme_that_is_not_shipped_is_a_config_error(write_config, cli):
    path = write_config('[[themes]]\nname = "Pricng"\nenabled = false\n')
    result = cli("--config", path, "init")
    assert result.exit_code == 1
    assert result.output == (
        f'Error: {path}: [[themes]] #1 ("Pricng"): name: no shipped theme is named "Pricng", so enabled = false'
        ' switches nothing off (did you mean "pricing"?) (shipped: delivery, billing, app, support, outage, pricing)\n'
    )
    # a shipped theme (in any case), or an own theme kept with its keywords, can be switched off
    for entry, name in (('name = "Pricing"', "pricing"), ('name = "roaming"\nkeywords = ["roaming"]', "roaming")):
        rules = config_module.load(write_config(f"[[themes]]\n{entry}\nenabled = false\n")).theme_rules()
        assert name not in [t.name.lower() for t in rules] and len(rules) == 6 - (name == "pricing")


def test_the_period_before_starts_where_the_stored_history_does(cli, monitored):
    """A new install: the week before holds four days and fifteen hours of history, not seven
    days of which two (and a morning) were quiet. The comparison is with the hours stored, so
    delivery is not "fading" for want of the days before the first mention."""
    path = monitored()
    with Store.open(config_module.load(path).monitor.database) as store:
        store.conn.execute("DELETE FROM mentions WHERE id IN ('start', 'd1', 'd2')")  # history begins Wednesday 09:00
    data = themes_json(cli, path)
    assert data["previous"] == {"from": "2026-03-04T09:00:00Z", "to": "2026-03-09T00:00:00Z"}  # its hour
    delivery = {t["theme"]: t for t in data["brands"][0]["themes"]}["delivery"]
    assert (delivery["negatives"], delivery["previous"], delivery["expected"]) == (1, 2, 3.03)  # 2 in 111 hours: 3.03 in 168
    result = cli("--config", path, "themes", *WINDOW)
    assert "; 3 in the period before (from 2026-03-04 09:00: where the stored history begins)" in result.output


def test_themes_of_a_window_before_any_history_compare_with_the_whole_period_before(cli, monitored):
    data = themes_json(cli, monitored())  # the first mention is inside the period before: as long as the window
    assert data["previous"] == {"from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"}
    result = cli("--config", monitored(), "themes", "--from", "2026-03-02", "--to", "2026-03-08", "--format", "json")
    assert json.loads(result.stdout)["previous"] == {"from": "2026-02-23T00:00:00Z", "to": "2026-03-02T00:00:00Z"}


def test_a_new_installs_first_hours_are_not_compared_with_the_quiet_hours_before_it(write_config):
    """Installed at 09:00, ``themes --since 6h`` at 17:00: the period before (05:00 to 11:00) holds
    two hours of history. Complaints as frequent as ever are steady, not growing (over the six
    hours, or from that day's midnight, the four before the install would count as quiet ones)."""
    from monitor.themes import report

    config = config_module.load(write_config())
    nine = datetime(2026, 3, 10, 9, 5, tzinfo=timezone.utc)
    with Store.open(config.monitor.database) as store:
        store.mentions.upsert([scored(f"o{h}", "acme outage again", at=nine + timedelta(hours=h), label="negative")
                               for h in range(8)], nine)  # one an hour, 09:05 to 16:05
        end = nine.replace(hour=17, minute=0)
        (acme,) = report(store, config, start=end - timedelta(hours=6), end=end)
    assert acme.previous_start == nine.replace(minute=0)  # the first stored mention's hour
    (outage,) = [t for t in acme.themes if t.theme == "outage"]
    assert (outage.negatives, outage.previous, outage.expected, outage.trend) == (6, 2, 6.0, "steady")
