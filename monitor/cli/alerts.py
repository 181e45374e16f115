"""Commands for spike alerts: alerts test (replay the rule), alerts list (what fired)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from monitor.cli import BRAND, App, format_option, pass_app, since_option
from monitor.output import details, emit, percent, to_json

_COLUMNS = ["hour", "brand", "kind", "observed", "baseline", "threshold", "volume"]


def _local(app: App, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their hour in the configured zone, named as the alert messages name it
    ("Thu 2026-11-19 10:00 CET"): hours on either side of a clock change stay apart."""
    from monitor.timeutil import from_db

    tz = app.config.monitor.tz
    return [{**r, "hour": from_db(r["hour"]).astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")} for r in rows]


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    keys = [k for k in ("observed", "baseline", "threshold") if row[k] is not None]
    from monitor.alerts.kpi_targets import is_kpi_alert

    if is_kpi_alert(row["kind"]):  # a KPI's own unit (seconds for times)
        return {**row, **{k: f"{row[k]:g}" for k in keys}}
    if row["kind"] == "negative_ratio":
        return {**row, **{k: percent(row[k]) for k in keys}}
    return {**row, **{k: f"{row[k]:g}" if k != "threshold" else f"{row[k]:.1f}" for k in keys}}


@click.group()
def alerts() -> None:
    """Spike alerts: hourly negatives per brand against an hour-of-week baseline.

    The rule and its parameters are in [alerts]; `run --once` (and the daemon)
    judges the last complete hour and sends what fires.

    \b
    Examples:
      sentiment-monitor alerts test --since 14d --explain   # what would have fired
      sentiment-monitor alerts list --since 30d             # what fired, and where it went
    """


@alerts.command("test")
@since_option("14d", "How far back to replay")
@click.option("--brand", type=BRAND, help="Only this brand.")
@click.option("--explain", is_flag=True, help="Also print each alert's full text (table format).")
@format_option
@pass_app
def test_(app: App, since: timedelta, brand: str | None, explain: bool, fmt: str) -> None:
    """Replay the alert rule over stored history: what would have fired.

    Every complete hour in the window is judged as the daemon judges it,
    cooldown included. Nothing is sent or recorded.

    \b
    Examples:
      sentiment-monitor alerts test
      sentiment-monitor alerts test --since 30d --brand Acme --format json
    """
    from monitor.alerts import replay
    from monitor.timeutil import format_duration, utcnow

    config = app.config
    now = utcnow()
    fired = replay(app.store(create=False), config, now - since, now, brand=brand)
    rows = [{**s.as_dict(), "message": s.describe(config.monitor.tz)} for s in fired]
    if fmt == "json":
        to_json(rows)
        return
    # CSV as JSON and `alerts list` write it: stored (UTC) hours, numbers as computed
    shown = [_numbers(r) for r in _local(app, rows)] if fmt == "table" else rows
    emit(fmt, shown, [*_COLUMNS, "negative"] if fmt == "csv" else _COLUMNS,
         empty="(nothing would have fired)")
    if fmt == "table":
        p = config.alerts
        click.echo(f"\n{len(rows)} alert(s) in the last {format_duration(since)}."
                   f" Rule: k={p.k:g}, min_count={p.min_count}, lookback_weeks={p.lookback_weeks},"
                   f" window_hours={p.window_hours}, cooldown={format_duration(p.cooldown)}, drop_min_baseline={p.drop_min_baseline:g}")
        if explain:
            for row in rows:
                click.echo(f"- {row['message']}")


@alerts.command("list")
@since_option("7d")
@click.option("--brand", help="Only this brand.")
@format_option
@pass_app
def list_(app: App, since: timedelta, brand: str | None, fmt: str) -> None:
    """Alerts that fired and where they were delivered: spikes, and (with
    [alerts] kpi_targets) KPIs that missed their target, brand "service KPIs".

    \b
    Example:
      sentiment-monitor alerts list --since 30d
    """
    from monitor.timeutil import utcnow

    now = utcnow()
    rows = app.store(create=False).alerts.between(now - since, now + timedelta(hours=1), brand)
    if fmt == "json":
        to_json(rows)
    else:
        shown = [_numbers(r) for r in _local(app, rows)] if fmt == "table" else rows
        emit(fmt, shown, [*_COLUMNS, "sent", "pending", "last_error"], widths={"last_error": 50},
             empty="(no alerts)")
        if fmt == "table":
            _tell_in_full(shown)
    if not rows and brand is not None:
        _note_unknown_brand(app, brand)


def _tell_in_full(shown: list[dict[str, Any]]) -> None:
    """Under the table, each alert with an error or recipients still to mail, in full (who is
    mailed again, who was refused, why a channel waits): the table cuts it short."""
    told = [row for row in shown if row.get("last_error") or row.get("deferred_to")]
    if told:
        click.echo()
    for row in told:
        deferred = row["deferred_to"].replace(",", ", ") if row.get("deferred_to") else None
        details(f"{row['hour']} {row['brand']} {row['kind']}: sent {_channels(row['sent'])};"
                f" pending {_channels(row['pending'])}", [("to retry", deferred), ("last error", row.get("last_error"))])


def _note_unknown_brand(app: App, brand: str) -> None:
    """On stderr, after an empty result: a --brand no configured brand, stored alert or KPI alert
    has (a typo, most likely: --brand is not checked, so that a brand no longer configured can be)."""
    from monitor.alerts.kpi_targets import TEAM
    from monitor.errors import did_you_mean

    known = sorted({b.name for b in app.settings.brands} | set(app.store(create=False).alerts.brands()) | {TEAM},
                   key=str.casefold)
    if brand.casefold() not in {k.casefold() for k in known}:
        click.echo(f'note: no alert is for brand "{brand}"{did_you_mean(brand, known)}'
                   f' (brands: {", ".join(known)})', err=True)


def _channels(stored: str | None) -> str:
    return stored.replace(",", ", ") if stored else "-"


COMMANDS = [alerts]
