"""Commands for service KPIs: ``kpi import`` and ``kpi show``."""

from __future__ import annotations

import contextlib
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from monitor.cli import App, format_option, pass_app, resolve_window, stopped_by_signals, window_options
from monitor.kpi import display
from monitor.kpi.display import human
from monitor.output import FORMATS, emit, to_json, window_text

# Kept here so `--help` needs no importer code; a test checks it against monitor.kpi.formats.
FORMAT_CHOICES = ("auto", "zendesk", "freshdesk", "intercom", "helpscout", "generic")


class ExportFormat(click.Choice):
    """The tool that wrote an export; an output format given here is pointed to --output."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and value.lower() in FORMATS:
            self.fail(f"{value!r} is how to print the result: use --output {value.lower()} (--format names"
                      f" the tool that wrote the file: {', '.join(self.choices)})", param, ctx)
        return super().convert(value, param, ctx)


def cell(
    key: str, kpis: dict[str, Any], delta: Any = None, meets: dict[str, Any] | None = None,
    goals: dict[str, float] | None = None,
) -> str | None:
    """A table cell: the value, its change in brackets, "~" before an estimated FCR,
    and with ``meets`` a ✓ or ✗ for a KPI that has a target (``goals``: the targets' values,
    so that a value missing one never reads as it)."""
    shown = human(key, kpis.get(key), target=(goals or {}).get(key))
    if shown is None:
        return None
    if key == "fcr_pct" and kpis.get("fcr_estimated"):
        shown = "~" + shown
    shown = shown if delta is None else f"{shown} ({human(key, delta, signed=True)})"
    met = display.mark((meets or {}).get(key))
    return f"{shown} {met}" if met else shown


def estimate_note(kpis: dict[str, Any]) -> str:
    """The note under a table whose FCR is marked "~": how many of the window's tickets it
    was estimated for (the export gave no first-contact value for them)."""
    estimated, counted = kpis.get("fcr_estimated_tickets") or 0, kpis.get("fcr_tickets") or 0
    if estimated == counted:
        return (f"~ FCR estimated from replies and reopens for {estimated} of {counted} tickets:"
                " their export has no first-contact field.")
    return (f"~ FCR estimated from replies and reopens for {estimated} of {counted} tickets, which have no"
            " first-contact value in their export; the others use the export's own.")


def unmatched_note(counts: dict[str, int], named: list[tuple[str, str]], shown: int = 3) -> str:
    """The note under a breakdown some of whose answers name a ticket not stored: how
    many (per kind), a few of the tickets they name, and why they sit under "(none)"."""
    n = sum(counts.values())
    kinds = ", ".join(f"{counts[k]} {k.upper()}" for k in ("csat", "nps", "ces") if counts.get(k))
    tickets = ", ".join(f"{fmt} {ticket}" for fmt, ticket in named[:shown]) + (", ..." if len(named) > shown else "")
    they, count, their = ("they", "count", "their") if n != 1 else ("it", "counts", "its")
    return (f"note: {n} survey answer{'s' if n != 1 else ''} ({kinds}) name{'' if n != 1 else 's'} a ticket that is"
            f" not stored ({tickets}): {they} {count} in the total but under (none) here; import {their} helpdesk"
            f" export, or check {their} ticket_id and ticket_format")


TARGET_NOTE = "✓ meets its [kpi.targets] target, ✗ misses it."
#: KPIs of the per-group table (`kpi show --by channel|type|tag`): groups have no period figures.
GROUPED = ("csat_pct", "nps", "ces", "first_response_median_s", "resolution_median_s", "fcr_pct")


@click.group()
def kpi() -> None:
    """Service KPIs from helpdesk and survey exports.

    \b
    Examples:
      sentiment-monitor kpi import export-2024-03-05.csv.zip --timezone Europe/Paris
      sentiment-monitor kpi show --since 30d --by week
    """


@kpi.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=ExportFormat(FORMAT_CHOICES), default="auto", show_default=True,
              help="The tool that wrote the export; auto: detected from the header.")
@click.option("--timezone", metavar="TZ",
              help="Zone of times written without an offset (IANA name). Default: [kpi] timezone, else [monitor] timezone.")
@click.option("--encoding", metavar="NAME",
              help="Text encoding, e.g. utf-8, cp1252, utf-16. Default: detected (BOM, UTF-8, else Windows-1252).")
@click.option("--output", "out", type=click.Choice(FORMATS), default="table", show_default=True,
              help="How to print the result: table, json or csv.")
@pass_app
def import_(app: App, file: Path, fmt: str, timezone: str | None, encoding: str | None, out: str) -> None:
    """Import a helpdesk ticket export or a survey/figures CSV.

    Formats: Zendesk ticket export (CSV, or the zip Zendesk mails), Freshdesk
    ticket export, Intercom conversations or CSAT export, Help Scout
    conversations, and generic tickets / survey responses / period figures
    CSVs (see the README for their columns). The whole file imports in one
    transaction or not at all: missing columns, or a bad date or number (named
    by file:line), change nothing. Re-importing a file changes nothing.

    \b
    Examples:
      sentiment-monitor kpi import tickets.csv
      sentiment-monitor kpi import export-2024-03-05.csv.zip --format zendesk --timezone America/New_York
      sentiment-monitor kpi import surveys.csv --encoding cp1252 --output json
    """
    from monitor.kpi.importer import Interrupted, check_path, import_export

    def report(exc: KeyboardInterrupt) -> str:
        if isinstance(exc, Interrupted) and exc.stored:
            return "\nInterrupted once the file was imported whole (its counts were not printed)."
        return ("\nInterrupted: nothing was imported (a file imports in one transaction or not at all);"
                " run the same import again.")

    bar: Any = None
    with stopped_by_signals(report), contextlib.ExitStack() as stack:
        config = app.config
        check_path(file)
        store = app.store()

        def on_open(size: int) -> None:  # a progress bar, for people watching (stderr is a TTY)
            nonlocal bar
            bar = stack.enter_context(click.progressbar(length=size, label=f"Importing {file.name}", file=sys.stderr))

        result = import_export(
            store, file, fmt=fmt, timezone=timezone or config.kpi_timezone, ces_scale=config.kpi.ces_scale,
            encoding=encoding, on_open=on_open if sys.stderr.isatty() else None,
            progress=lambda n: bar.update(n) if bar is not None else None,
        )
    data = result.as_dict()
    if out == "json":
        to_json(data)
    else:
        data["records"] = ", ".join(f"{c.records} {kind}" for kind, c in sorted(result.records.items()))
        emit(out, [data], ["path", "format", "layout", "encoding", "rows", "records", "new", "updated", "unchanged",
                           "older", "repeated"])
    repeated = {kind: c.repeated for kind, c in sorted(result.records.items()) if c.repeated}
    if repeated:
        undated = ", but an undated rating never replaces a dated one" if "responses" in repeated else ""
        click.echo(f"note: records repeating the id of an earlier row of the file: "
                   f"{', '.join(f'{kind} {n}' for kind, n in repeated.items())} (each id counted once,"
                   f" its last row kept{undated})", err=True)
    older = result.total.older
    if older:
        click.echo(f"note: {older} record(s) from rows updated before the stored ones were kept as stored"
                   " (an older export does not undo a newer one)", err=True)
    for value, rows in result.unknown_values.items():
        click.echo(f"warning: unknown value {value!r} in {rows} row(s): not counted", err=True)


@kpi.command("show")
@window_options("30d")
@click.option("--by", type=click.Choice(["day", "week", "channel", "type", "tag"]),
              help="KPIs per local day or ISO week, or per channel, issue type or tag.")
@format_option
@pass_app
def show(app: App, since: timedelta | None, from_date: date | None, to_date: date | None, by: str | None, fmt: str) -> None:
    """The service KPIs, with the change against the previous period, and
    whether each meets its target ([kpi.targets]).

    Without --by: the window's KPIs beside the window before it (as long).
    With --by day|week: one row per period, each change against the period
    before. With --by channel|type|tag: one row per channel (email, chat,
    phone, social, web, api, other), issue type or tag, each change against
    the same group in the window before; a ticket with several tags counts
    under each. CSAT/FCR/retention/abandonment are percentages (changes in
    points); times are seconds in JSON and CSV. ✓/✗: meets/misses its target.

    \b
    Examples:
      sentiment-monitor kpi show
      sentiment-monitor kpi show --from 2024-03-01 --to 2024-03-31 --by week
      sentiment-monitor kpi show --since 90d --by channel
      sentiment-monitor kpi show --since 7d --by day --format json
    """
    from monitor.kpi.groups import BREAKDOWNS
    from monitor.kpi.report import KEYS, VALUE_KEYS, kpi_report

    config = app.config
    start, end = resolve_window(config, since, from_date, to_date, "30d")
    report = kpi_report(app.store(create=False), start=start, end=end, tz=config.monitor.tz,
                        tz_name=config.monitor.timezone, by=by, settings=config.kpi)
    data = report.as_dict()
    if fmt == "json":
        to_json(data)
        return
    key = by if by in BREAKDOWNS else "period"
    if fmt == "csv":
        met = list(data["targets"])

        def flat(name: str, row: dict[str, Any]) -> dict[str, Any]:
            return {key: name, "from": row.get("from", data["from"]), "to": row.get("to", data["to"]), **row["kpis"],
                    **{f"{k}_change": v for k, v in row["change"].items()},
                    **{f"{k}_meets_target": v for k, v in row["meets_target"].items()}}

        rows = [flat("total", data["total"]), *(flat(r[key], r) for r in data["rows"])]
        emit(fmt, rows, [key, "from", "to", *KEYS, *(f"{k}_change" for k in VALUE_KEYS),
                         *(f"{k}_meets_target" for k in met)])
        return
    scale = config.kpi.ces_scale
    tz = config.monitor.tz
    click.echo(f"{window_text(data['from'], data['to'], tz)} ({data['timezone']})")
    total, meets = data["total"]["kpis"], data["total"]["meets_target"]
    if by is None:
        click.echo(f"previous: {window_text(data['previous_window']['from'], data['previous_window']['to'], tz)}")
        previous, delta = data["total"]["previous"], data["total"]["change"]
        targets = {t.kpi: t for t in report.targets}
        rows = [
            {"kpi": display.label(k, estimated=k == "fcr_pct" and bool(total["fcr_estimated"])),
             "value": human(k, total[k], ces_scale=scale, target=targets[k].value if k in targets else None),
             "previous": human(k, previous[k], ces_scale=scale),
             "change": human(k, delta[k], signed=True), "based on": total[kpi.basis] if kpi.basis else None,
             "target": targets[k].text(scale) if k in targets else None, "met": display.mark(meets.get(k)) or None}
            for k, kpi in display.KPIS.items()
        ]
        emit(fmt, rows, ["kpi", "value", "previous", "change", "based on", "target", "met"])
        return
    shown = display.MAIN if key == "period" else GROUPED
    goals = {t.kpi: t.value for t in report.targets}
    rows = [{key: r[key], "tickets": r["kpis"]["tickets_created"],
             **{k: cell(k, r["kpis"], r["change"][k] if key == "period" else None, r["meets_target"], goals)
                for k in shown}}
            for r in data["rows"]]
    if key == "period":
        rows.append({"period": "total", **{k: cell(k, total, None, meets, goals) for k in shown}})
    columns = [k for k in shown if key == "period" or any(r[k] is not None for r in rows)]
    extra = [] if key == "period" else ["tickets"]
    emit(fmt, rows, [key, *extra, *columns], headers=[key, *extra, *(display.SHORT[k] for k in columns)],
         empty=f"(no tickets or answers in this window to break down by {by})")
    exported = [f"{r['channel']} = {', '.join(r['as_exported'])}" for r in data["rows"] if r.get("as_exported")]
    if exported:
        click.echo("channels as exported: " + "; ".join(exported))
    if report.unmatched:
        click.echo(unmatched_note(report.unmatched, report.unmatched_named))
    if any(r["kpis"]["fcr_estimated"] for r in data["rows"]):
        click.echo(estimate_note(total))
    if any(v is not None for r in data["rows"] for v in r["meets_target"].values()):
        click.echo(TARGET_NOTE)


COMMANDS = [kpi]
