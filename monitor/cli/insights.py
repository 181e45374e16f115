"""Commands for insights into what people complain about: themes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import click

from monitor.cli import STORED_BRAND, App, format_option, pass_app, resolve_window, window_options
from monitor.output import emit, percent, to_json

if TYPE_CHECKING:
    from monitor.themes import BrandThemes

_WIDTHS = {"example": 64}


@click.command()
@window_options("7d")
@click.option("--brand", type=STORED_BRAND, help="Only this brand (default: each of your own brands).")
@format_option
@pass_app
def themes(app: App, since: timedelta | None, from_date: date | None, to_date: date | None,
           brand: str | None, fmt: str) -> None:
    """Complaint themes and emerging phrases in negative mentions, against the
    period before (as long).

    Themes are the shipped keyword rules (delivery, billing, app, support,
    outage, pricing) and your [[themes]]; a mention may be in several.
    Emerging phrases are the 1-3 word phrases that are new or growing in
    negative mentions ([insights]: min_count, min_lift). Trends: new, growing,
    steady, fading. Examples are the most negative mentions.

    \b
    Examples:
      sentiment-monitor themes
      sentiment-monitor themes --since 30d --brand Acme
      sentiment-monitor themes --from 2026-01-05 --to 2026-01-11 --format json
    """
    from monitor import themes as insights

    config = app.config
    start, end = resolve_window(config, since, from_date, to_date, "7d")
    reports = insights.report(app.store(create=False), config, start=start, end=end, brand=brand)
    if fmt == "json":
        s = config.insights
        brands = [r.as_dict() for r in reports]
        to_json({
            "from": brands[0]["from"], "to": brands[0]["to"],
            "previous": brands[0]["previous"], "timezone": config.monitor.timezone,
            "settings": {"min_count": s.min_count, "min_lift": s.min_lift, "smoothing": s.smoothing,
                         "max_words": s.max_words, "default_themes": s.default_themes},
            "brands": brands,
        })
        return
    if fmt == "csv":
        emit(fmt, [row for r in reports for row in _flat(r)],
             ["brand", "kind", "name", "negatives", "previous", "change", "lift", "trend", "share", "example"])
        return
    tz = config.monitor.tz
    for i, report in enumerate(reports):
        data = report.as_dict()
        if i:
            click.echo()
        click.echo(f"{report.brand or 'All mentions'}: {report.negatives} negative mention"
                   f"{'' if report.negatives == 1 else 's'}"
                   f" {report.start.astimezone(tz):%Y-%m-%d %H:%M} to {report.end.astimezone(tz):%Y-%m-%d %H:%M}"
                   f" {config.monitor.timezone}; {report.previous_negatives} in the period before{_shortened(report, tz)}")
        rows = [_theme_row(t) for t in data["themes"] if t["negatives"] or t["previous"]]  # not 0 and 0
        if report.negatives or report.previous_negatives:
            rows.append({**_theme_row(report.unthemed.as_dict()), "example": None})
        emit(fmt, rows, ["theme", "negatives", "previous", "change", "trend", "share", "example"],
             widths=_WIDTHS, empty="(no negative mentions in either period)")
        click.echo("\nEmerging phrases (new or growing against the period before):")
        emit(fmt, [_phrase_row(p) for p in data["emerging"]],
             ["phrase", "negatives", "previous", "lift", "trend", "example"], widths=_WIDTHS,
             empty="(none)")
    click.echo("\nA mention may be in several themes. Themes: [[themes]] and [insights] in the config.")


def _example(item: dict[str, Any]) -> str | None:
    return item["examples"][0]["text"] if item["examples"] else None


def _shortened(report: Any, tz: Any) -> str:
    """Why the period before is shorter than the window: the stored history begins in it."""
    if report.start - report.previous_start >= report.end - report.start:
        return ""
    return f" (from {report.previous_start.astimezone(tz):%Y-%m-%d %H:%M}: where the stored history begins)"


def _theme_row(t: dict[str, Any]) -> dict[str, Any]:
    return {**t, "change": f"{t['change']:+g}", "share": percent(t["share"]),
            "example": _example(t)}


def _phrase_row(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "lift": f"{p['lift']:.1f}x", "example": _example(p)}


def _flat(report: BrandThemes) -> list[dict[str, Any]]:
    data = report.as_dict()
    rows = [{"brand": data["brand"], "kind": "theme", "name": t["theme"], **t, "example": _example(t)}
            for t in data["themes"]]
    # The negatives in no theme, so that the shares add up from the file alone.
    rows.append({"brand": data["brand"], "kind": "no_theme", "name": report.unthemed.theme, **report.unthemed.as_dict(), "example": None})
    rows += [{"brand": data["brand"], "kind": "phrase", "name": p["phrase"], **p, "example": _example(p)}
             for p in data["emerging"]]
    return rows


COMMANDS = [themes]
