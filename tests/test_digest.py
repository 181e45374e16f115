"""What the digest says and how it is put together (no delivery: see test_digest_send)."""

from __future__ import annotations

import email
import io
from datetime import date, datetime, timedelta, timezone
from email.policy import default

from factories import closed_at_end, scored
from monitor import config as config_module
from monitor.digest import build, chart, render
from monitor.digest.kpis import KpiFigure
from monitor.storage import Store
from monitor.storage.sources import PollRun

DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)


def setup(write_config, extra: str = "") -> tuple[config_module.Config, Store]:
    config = config_module.load(write_config(extra))
    return config, closed_at_end(Store.open(config.monitor.database))


def add(store: Store, at: datetime, labels: dict[str, int], brand: str = "Acme", prefix: str = "", **kw) -> None:
    items = []
    for label, n in labels.items():
        items += [scored(f"{prefix}{at:%d%H}{label}{i}", at=at + timedelta(minutes=i), label=label, brand=brand, **kw)
                  for i in range(n)]
    store.mentions.upsert(items, at)


def test_figures_changes_and_share_of_voice_by_hand(write_config):
    config, store = setup(write_config)
    add(store, NOON, {"negative": 2, "positive": 5, "neutral": 3})  # the day: 10 mentions
    add(store, NOON - timedelta(days=1), {"positive": 4})  # the day before: 4
    for back in range(2, 8):  # 6 more days of 2 negatives each
        add(store, NOON - timedelta(days=back), {"negative": 2})
    add(store, NOON - timedelta(days=8), {"negative": 50})  # outside the 7-day window
    add(store, NOON, {"negative": 5}, brand="Globex", platform="reddit")
    digest = build(store, config, DAY)
    (acme,) = digest.brands
    assert (acme.figures["volume"], acme.figures["negative"], acme.figures["negative_ratio"]) == (10, 2, 0.2)
    assert acme.figures["net_sentiment"] == 0.3 and acme.previous["volume"] == 4
    assert acme.average["volume"] == 16 / 7  # (4 + 6 × 2) / 7
    assert acme.average["negative_ratio"] == 0.75  # 12 of 16, pooled
    assert [p.volume for p in acme.history][-9:] == [50, 2, 2, 2, 2, 2, 2, 4, 10]
    assert len(acme.history) == 14 and acme.history[-1].day == DAY
    share = {r["brand"]: (r["volume"], round(r["share"], 3), r["competitor"]) for r in digest.share_of_voice}
    assert share == {"Acme": (10, 0.667, False), "Globex": (5, 0.333, True)}
    text = render.text(digest)
    assert "+150% / +338%" in text  # 10 vs 4, and vs 16/7
    assert "No KPI data imported for this period." in text


def test_the_week_average_counts_unsupported_mentions_as_the_day_does(write_config):
    config, store = setup(write_config)
    for back in range(8):  # every day: 2 neutral and 2 in an unsupported language
        add(store, NOON - timedelta(days=back), {"neutral": 2, "unsupported": 2})
    (acme,) = build(store, config, DAY).brands
    assert (acme.figures["volume"], acme.average["volume"]) == (4, 4)  # no change against the week
    assert acme.average["unsupported"] == 14


def test_a_new_install_averages_only_the_days_it_has(write_config):
    config, store = setup(write_config)
    add(store, NOON - timedelta(days=2, hours=3), {"neutral": 6})  # history begins two days before
    add(store, NOON - timedelta(days=1), {"neutral": 4})
    add(store, NOON, {"neutral": 5})
    (acme,) = build(store, config, DAY).brands
    assert acme.average["volume"] == 5  # (6 + 4) / 2 days, not / 7: a new install is no quieter week
    assert "(+25% / +0%)" in render.text(build(store, config, DAY))  # 5 vs 4 the day before, vs 5 a day
    first_day = build(store, config, DAY - timedelta(days=2))  # nothing before it to average
    assert first_day.brands[0].average["volume"] is None and "(new / –)" in render.text(first_day)


def test_a_new_install_compares_its_themes_with_the_days_it_has(write_config):
    config, store = setup(write_config)
    add(store, NOON - timedelta(days=2), {"negative": 9}, text="acme outage again")  # history begins 36 hours before
    add(store, NOON, {"negative": 6}, text="acme outage again")
    (acme,) = build(store, config, DAY).brands
    (outage,) = [t for t in acme.themes.themes if t.theme == "outage"]
    # 9 in the 36 hours stored: 6 a day, as today (over 7 days, 1.3 a day: "growing")
    assert (outage.negatives, outage.previous, outage.expected, outage.trend) == (6, 9, 6.0, "steady")
    assert acme.themes.previous_start == NOON - timedelta(days=2)  # the first stored mention's hour


def test_an_evening_install_compares_the_next_days_themes_with_its_evening_not_a_whole_day(write_config):
    config, store = setup(write_config)
    evening = datetime(2026, 3, 9, 20, tzinfo=timezone.utc)  # installed the evening before
    store.mentions.upsert([scored(f"o{h}", "acme outage again", at=evening + timedelta(hours=h, minutes=5),
                                  label="negative") for h in range(28)], evening)  # one an hour, to the day's end
    (acme,) = build(store, config, DAY).brands
    (outage,) = [t for t in acme.themes.themes if t.theme == "outage"]
    # 4 in the 4 hours stored: 24 a day, as the day had (over the whole day before, 4: "growing")
    assert (outage.negatives, outage.previous, outage.expected, outage.trend) == (24, 4, 24.0, "steady")
    assert acme.themes.previous_start == evening


def test_top_negative_mentions_most_negative_and_most_engaged(write_config):
    config, store = setup(write_config)
    store.mentions.upsert([
        scored("a", "awful", at=NOON, label="negative", compound=-0.9),
        scored("b", "bad", at=NOON, label="negative", compound=-0.2, likes=40, replies=3),
        scored("c", "meh", at=NOON, label="negative", compound=-0.1),
        scored("d", "great", at=NOON, label="positive", likes=999),
    ], NOON)
    config = config_module.load(write_config("[digest]\ntop = 2\n"))
    (acme,) = build(store, config, DAY).brands
    assert [m["id"] for m in acme.most_negative] == ["a", "b"]
    assert [m["id"] for m in acme.most_engaged] == []  # b is already shown; c has no engagement
    config = config_module.load(write_config("[digest]\ntop = 1\n"))
    (acme,) = build(store, config, DAY).brands
    assert [m["id"] for m in acme.most_negative] == ["a"]
    assert [(m["id"], m["engagement"]) for m in acme.most_engaged] == [("b", 43)]


def test_kpis_come_from_the_provider_seam(write_config):
    config, store = setup(write_config)
    add(store, NOON, {"negative": 1})
    seen = []

    def provider(store_, config_, start, end):
        seen.append((start, end))
        return [KpiFigure("first_response_median_s", 9000.0, change=-1800.0)]

    digest = build(store, config, DAY, kpi_provider=provider)
    assert seen == [(datetime(2026, 3, 10, tzinfo=timezone.utc), datetime(2026, 3, 11, tzinfo=timezone.utc))]
    html = render.standalone_html(digest)
    assert "First response time (median)" in html and "2h30m" in html and "-30m00s" in html
    assert "No KPI data imported" not in html
    assert "No KPI data imported" in render.standalone_html(build(store, config, DAY))


def test_the_teams_kpis_show_once_beside_one_brand_and_once_after_several(write_config, tmp_path):
    def provider(store_, config_, start, end):
        return [KpiFigure("first_response_median_s", 9000.0, change=-1800.0)]

    config, store = setup(write_config)
    add(store, NOON, {"negative": 1})
    one = build(store, config, DAY, kpi_provider=provider)
    text = render.text(one)
    assert text.count("Service KPIs:") == 1 and text.index("Service KPIs:") < text.index("Most negative mentions:")
    two_brands = write_config('[[brands]]\nname = "Initech"\nkeywords = ["initech"]\n', name="two.toml")
    config = config_module.load(two_brands)
    several = build(store, config, DAY, kpi_provider=provider)
    assert [b.name for b in several.brands] == ["Acme", "Initech"]
    for rendered in (render.text(several), render.standalone_html(several)):
        assert rendered.count("First response time (median)") == 1  # the team's, not each brand's
        assert "Service KPIs (whole team)" in rendered and rendered.count("Service KPIs") == 1
        assert rendered.index("Initech") < rendered.index("Service KPIs") < rendered.index("Share of voice")


def test_source_health_says_which_source_failed_or_returned_nothing(write_config):
    config, store = setup(write_config, """
        [[sources]]
        name = "good"
        platform = "jsonl"
        path = "a.jsonl"
        [[sources]]
        name = "empty"
        platform = "jsonl"
        path = "b.jsonl"
        [[sources]]
        name = "broken"
        platform = "jsonl"
        path = "c.jsonl"
        [[sources]]
        name = "silent"
        platform = "jsonl"
        path = "d.jsonl"
        """)
    def run(source: str, status: str = "ok", new: int = 0, error: str | None = None) -> None:
        store.sources.record(PollRun(source, "jsonl", NOON, NOON + timedelta(seconds=1), status, new=new, error=error))

    run("good", new=7)
    run("empty")
    run("broken", new=2)
    run("broken", "error", error="HTTP 401: token expired")
    health = {s.name: (s.status, s.new, s.detail) for s in build(store, config, DAY, now=NOON + timedelta(minutes=10)).sources}
    assert health["good"] == ("ok", 7, "1 polls")
    assert health["empty"] == ("ok", 0, "1 polls returned nothing that day")
    assert health["broken"] == (
        "failing", 2, "1 of 2 polls failed; last: HTTP 401: token expired; now 1 failed poll(s) in a row (error)")
    assert health["silent"] == ("never polled", 0, "no poll recorded yet")
    # Health is `status`'s verdict when the digest is made; the counts stay the day's
    later = build(store, config, DAY, now=NOON + timedelta(hours=20, seconds=1)).sources
    assert (later[0].status, later[0].new, later[0].detail) == (
        "not working", 7, "1 polls; now no successful poll for 20h (3 intervals of 15m)")


def test_the_message_is_text_and_html_with_an_inline_chart(write_config):
    config, store = setup(write_config)
    add(store, NOON, {"negative": 3, "positive": 1})
    digest = build(store, config, DAY)
    raw = render.message(digest, sender="m@example.com", recipients=["a@example.com"]).as_bytes()
    message = email.message_from_bytes(raw, policy=default)
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert image.get_content_type() == "image/png" and image["Content-Disposition"].startswith("inline")
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html_part.get_content()
    assert message["Subject"] == "Daily digest Tue 10 Mar 2026: Acme 4 mentions, 75% negative"


def test_chart_draws_volume_bars_and_the_reported_day_darker():
    from PIL import Image

    points = [chart.DayPoint(DAY - timedelta(days=13 - i), v, r)
              for i, (v, r) in enumerate([(0, None)] * 4 + [(10, 0.1)] * 9 + [(40, 0.5)])]
    image = Image.open(io.BytesIO(chart.render(points)))
    assert image.size == (chart.WIDTH * 2, chart.HEIGHT * 2)
    colours = {c for _, c in image.getcolors(maxcolors=100_000)}
    assert chart._BAR_DAY in colours and chart._BAR in colours and chart._LINE in colours


def test_chart_scale_fits_a_busy_day_and_its_axis_reads_in_thousands():
    # Above 20,000 a day the axis rose in powers of ten: 900,000 mentions got an axis of
    # 4,000,000 ("4e+06"), its bar a fifth of the chart's height.
    from PIL import Image

    points = [chart.DayPoint(DAY - timedelta(days=13 - i), 450_000, 0.2) for i in range(13)]
    image = Image.open(io.BytesIO(chart.render([*points, chart.DayPoint(DAY, 900_000, 0.2)]))).convert("RGB")
    tops = [y for y in range(image.height) if image.getpixel((image.width - 125, y)) == chart._BAR_DAY]
    assert tops, "the reported day's bar"
    plot = (chart.HEIGHT - 26 - 28) * 2  # the plot's height, in pixels at 2x
    assert (max(tops) - min(tops)) / plot >= 0.85  # 900,000 of an axis of 1,000,000
    assert chart._nice_step(900_000) * 4 == 1_000_000 and chart._axis_label(250_000) == "250k"
    assert [chart._axis_label(v) for v in (0, 25, 7500, 1_500_000)] == ["0", "25", "7500", "1.5M"]


def test_digest_with_no_mentions_renders(write_config):
    config, store = setup(write_config)
    digest = build(store, config, DAY)
    assert "No negative mentions this day." in render.standalone_html(digest)
    assert "Acme 0 mentions, – negative" in render.subject(digest)


def test_subject_counts_one_mention_in_the_singular(write_config):
    config, store = setup(write_config)
    add(store, NOON, {"negative": 1})
    assert "Acme 1 mention, 100% negative" in render.subject(build(store, config, DAY))  # was "1 mentions"


def test_preview_command_writes_html_or_eml(cli, write_config, tmp_path):
    path = write_config()
    config, store = setup(write_config)
    add(store, NOON, {"negative": 1})
    store.close()
    out = cli("--config", path, "digest", "preview", "--date", "2026-03-10")
    assert out.exit_code == 0 and "Wrote digest-2026-03-10.html" in out.output
    assert "data:image/png;base64," in (tmp_path / "digest-2026-03-10.html").read_text()
    cli("--config", path, "digest", "preview", "--date", "2026-03-10", "--output", "d.eml")
    message = email.message_from_bytes((tmp_path / "d.eml").read_bytes(), policy=default)
    assert message.get_content_type() == "multipart/alternative"
    assert cli("--config", path, "digest", "status").output.startswith("(no digest sent yet)")
    to_stdout = cli("--config", path, "digest", "preview", "--date", "2026-03-10", "--output", "-")
    assert to_stdout.exit_code == 0 and to_stdout.stdout.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in to_stdout.stdout and not to_stdout.stderr
    (tmp_path / "blocker").write_text("a file, not a folder")
    out = cli("--config", path, "digest", "preview", "--date", "2026-03-10", "--output", tmp_path / "blocker" / "d.html")
    assert out.exit_code == 1 and out.output.startswith("Error: cannot write") and "Traceback" not in out.output


def test_complaint_themes_of_the_day_against_the_week_before(write_config):
    config, store = setup(write_config)
    add(store, NOON - timedelta(days=8), {"neutral": 1})  # history begins before the week
    week = [("parcel never arrived", -0.5), ("courier lost my parcel", -0.6)]
    store.mentions.upsert([scored(f"w{back}{i}", f"acme {text}", at=NOON - timedelta(days=back), label="negative",
                                  compound=score) for back in range(1, 8) for i, (text, score) in enumerate(week)], NOON)
    day = ["broadband down, status page green", "status page says fine, no internet", "outage again, status page lies",
           "still waiting for my parcel"]
    store.mentions.upsert([scored(f"d{i}", f"acme {text}", at=NOON + timedelta(minutes=i), label="negative",
                                  compound=-0.9 + i / 10) for i, text in enumerate(day)], NOON)
    (acme,) = build(store, config, DAY).brands
    assert [(t.theme, t.negatives, round(t.expected, 2), t.trend) for t in acme.top_themes] == [
        ("outage", 3, 0.0, "new"), ("delivery", 1, 2.0, "steady")]
    assert [(p.phrase, p.negatives, p.trend) for p in acme.themes.emerging] == [("status page", 3, "new")]
    text = render.text(build(store, config, DAY))
    assert "Complaint themes (negative mentions; 7-day average):" in text
    assert '  outage          3  (0)  new  e.g. "acme broadband down, status page green"' in text
    assert 'Emerging: "status page" (3, new)' in text
    page = render.html(build(store, config, DAY), {"Acme": "cid:x"})
    assert ">outage" in page and "Emerging in negative mentions:" in page and "“status page” (3, new)" in page


def test_kpis_are_marked_against_their_targets(write_config, cli):
    from factories import kpi_sample

    path = write_config('[kpi.targets]\nfirst_response_hours = 1\n')
    assert cli("--config", path, "kpi", "import", kpi_sample("zendesk_tickets.csv")).exit_code == 0
    config = config_module.load(path)
    with Store.open(config.monitor.database) as store:
        digest = build(store, config, date(2024, 3, 5))
    figures = {k.name: k for k in digest.kpis}
    csat, first = figures["CSAT"], figures["First response time (median)"]
    # written as `kpi show` writes them
    assert (csat.value, csat.target, csat.meets, csat.mark, csat.target_text) == (50.0, 80.0, False, "✗", "≥ 80.0%")
    assert (first.value_text, first.target_text, first.meets) == ("1h07m", "≤ 1h00m", False)  # 67.5 min
    assert figures["Resolution time (median)"].mark == "✓"  # 12h45m against 24 h
    text = render.text(digest)
    assert "  CSAT: 50.0% (-50.0)  ✗ target ≥ 80.0%" in text
    assert "  Resolution time (median): 12h45m (+10h45m)  ✓ target ≤ 1d00h" in text
    page = render.html(digest, {"Acme": "cid:x"})
    assert "✗</span> ≥ 80.0%" in page and "✓</span> ≤ 1d00h" in page


def test_a_negative_label_on_a_mention_never_scored_renders_last_without_a_score(cli, write_config, tmp_path):
    # A person labels negative a mention in a language the classifier does not read (no score):
    # the digest rendered `"%.2f" % None` (a traceback) and listed it first as the "most negative".
    from factories import write_jsonl

    path = write_config()
    records = [{"platform": "x", "id": "es", "created_at": "2026-03-10T09:00:00Z",
                "text": "acme es terrible y horrible, nunca más, qué desastre de servicio"},
               {"platform": "x", "id": "en", "created_at": "2026-03-10T10:00:00Z",
                "text": "acme is terrible, awful, worst ever"}]
    assert cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", records)).exit_code == 0
    assert '"compound": null' in cli("--config", path, "mentions", "--from", "2026-03-10", "--format", "json").output
    assert cli("--config", path, "label", "x:es", "negative").exit_code == 0
    out = cli("--config", path, "digest", "preview", "--date", "2026-03-10", "--output", "d.eml")
    assert out.exit_code == 0, out.output
    message = email.message_from_bytes((tmp_path / "d.eml").read_bytes(), policy=default)
    text = message.get_body(("plain",)).get_content()
    listed = text[text.index("Most negative mentions:"):]
    assert listed.index("acme is terrible") < listed.index("acme es terrible")
    assert "score –: acme es terrible" in listed
    assert "score –" in message.get_body(("html",)).get_content()


def test_large_counts_are_written_with_thousands_separators_everywhere(cli, write_config, tmp_path):
    # The cards said "1,001" while the subject, the counts line, the platform and share-of-voice
    # tables, themes and interactions said "1001" (and a wider count pushed its row out of line).
    from factories import write_jsonl

    path = write_config()
    records = [{"platform": "x", "id": str(i), "created_at": f"2026-03-10T10:{i % 60:02d}:00Z",
                "text": "acme opens at nine"} for i in range(1000)]
    records.append({"platform": "x", "id": "angry", "created_at": "2026-03-10T11:00:00Z", "likes": 1234567,
                    "text": "acme lost my parcel, terrible, awful service"})
    records.append({"platform": "reddit", "id": "g", "created_at": "2026-03-10T11:00:00Z", "text": "globex is fine"})
    assert cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", records)).exit_code == 0
    out = cli("--config", path, "digest", "preview", "--date", "2026-03-10", "--output", "d.eml")
    assert "Acme 1,001 mentions" in out.output
    message = email.message_from_bytes((tmp_path / "d.eml").read_bytes(), policy=default)
    assert message["Subject"].startswith("Daily digest Tue 10 Mar 2026: Acme 1,001 mentions")
    text = message.get_body(("plain",)).get_content()
    assert "counts: 0 positive, 1,000 neutral, 1 negative" in text
    assert "  x            1,001 mentions   100% of all" in text
    assert "  Acme             1,001 mentions" in text and "  Globex*              1 mentions" in text  # in line
    html = message.get_body(("html",)).get_content()
    assert ">1,001</td>" in html and "1,234,567 likes" in html


def test_untrusted_names_and_texts_cannot_reverse_or_drive_what_follows_them(cli, write_config, tmp_path):
    # An author named "\u202eevil" (a right-to-left override left open) showed the rest of its line
    # reversed, time and score included; an Arabic name took the time after it into its run; an
    # escape sequence went into the message as it was.
    from factories import write_jsonl

    path = write_config()
    records = [
        {"platform": "x", "id": "1", "created_at": "2026-03-10T09:00:00Z", "author": "\u202eevil",
         "text": "acme terrible awful service \u202e" + "so slow " * 60},
        {"platform": "x", "id": "2", "created_at": "2026-03-10T10:00:00Z", "author": "محمد",
         "text": "acme is terrible, awful, worst ever"},
        {"platform": "x", "id": "3", "created_at": "2026-03-10T11:00:00Z", "author": "e\x1b[2Jvil",
         "text": "acme is awful \x1b]0;pwned\x07 terrible"},
    ]
    assert cli("--config", path, "import", write_jsonl(tmp_path / "m.jsonl", records)).exit_code == 0
    assert cli("--config", path, "digest", "preview", "--date", "2026-03-10", "--output", "d.eml").exit_code == 0
    message = email.message_from_bytes((tmp_path / "d.eml").read_bytes(), policy=default)
    text = message.get_body(("plain",)).get_content()
    assert "- [x] \u202eevil\u202c at 09:00, score" in text
    (line,) = [line for line in text.splitlines() if "so slow" in line]
    assert line.endswith("…\u202c")  # the override in the text, cut short, is closed too
    assert "\x1b" not in text and "- [x] e␛[2Jvil at 11:00" in text and "␛]0;pwned␇" in text
    html = message.get_body(("html",)).get_content()
    assert "<bdi>\u202eevil\u202c</bdi> · 09:00" in html and "<bdi>محمد</bdi> · 10:00" in html
    assert "\x1b" not in html and "\x07" not in html


def test_an_alert_hour_that_starts_late_in_a_half_hour_zone_is_in_its_days_digest(write_config):
    """In Asia/Kolkata (UTC+5:30) alert hours run from :30 to :30: the one from 23:30 to 00:30, which
    the daemon judges and sends like any other, is in the digest of the day it starts in."""
    kolkata = write_config().read_text().replace('timezone = "UTC"', 'timezone = "Asia/Kolkata"')
    config = config_module.load(write_config(kolkata, base=False))
    store = closed_at_end(Store.open(config.monitor.database))
    hour = datetime(2026, 3, 10, 18, tzinfo=timezone.utc)  # 23:30–00:30 IST, Tue 10 Mar
    add(store, hour - timedelta(weeks=2), {"neutral": 1})  # history begins two weeks before
    add(store, hour, {"negative": 6})
    from monitor import alerts

    alerts.run_due(store, config, hour + timedelta(hours=1, minutes=5))
    assert {r["hour"] for r in store.alerts.between(hour, hour + timedelta(hours=1), None)} == {"2026-03-10T18:00:00Z"}
    later = hour + timedelta(days=2)
    spikes = {d: [(s.kind, s.hour) for s in build(store, config, d, now=later).brands[0].spikes]
              for d in (DAY, DAY + timedelta(days=1))}
    assert spikes == {DAY: [("negative_count", hour), ("negative_ratio", hour)], DAY + timedelta(days=1): []}
    text = render.text(build(store, config, DAY, now=later))
    assert "Tue 10 Mar 23:30–00:30 IST" in text


def test_a_digest_of_today_lists_no_alert_for_an_hour_not_over_yet(write_config):
    """``digest preview --date`` today: the hours still to come have no mentions yet, and are no drop."""
    config, store = setup(write_config)
    now = datetime(2026, 3, 10, 14, 20, tzinfo=timezone.utc)
    hours = [now.replace(minute=0) - timedelta(hours=h) for h in range(1, 15 * 24)]
    store.mentions.upsert([scored(f"{h:%d%H}-{i}", at=h + timedelta(minutes=i)) for h in hours for i in range(8)], now)
    assert build(store, config, DAY, now=now).brands[0].spikes == []
