"""Commands that fill the database: init, poll, run, import, status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli import BRAND, WORKERS, App, format_option, pass_app, stopped_by_signals
from monitor.errors import MonitorError
from monitor.output import details, emit, printable, to_json
from monitor.timeutil import format_duration

if TYPE_CHECKING:
    from datetime import datetime

    from monitor.health import Health
    from monitor.storage import Store


def _credentials(missing: list[tuple[str, str]]) -> str:
    """A row's credentials: "ok", or what is missing by key (the row names the section)."""
    return "missing: " + "; ".join(key for _, key in missing) if missing else "ok"


@click.command()
@format_option
@pass_app
def init(app: App, fmt: str) -> None:
    """Create the database, apply migrations and check the config.

    Reports every source and whether it can run, and the credentials of
    [smtp] and of the [alerts] webhook: missing credentials of an enabled
    source, of [smtp] or of a webhook in use make this command fail (exit
    status 1). With `--format csv` only the sources table is printed.

    \b
    Example:
      sentiment-monitor --config config/monitor.toml init
    """
    from monitor.config import missing_secrets, secrets_in

    config = app.config
    store = app.store(migrate=False)
    applied = store.migrate()
    rows = []
    problems = []  # the credentials'
    unwritable = None
    try:
        store.check_writable()  # what `run` checks first: init is the go-ahead for it
    except MonitorError as exc:
        unwritable = f"{exc} (poll, import and run must write it: run them as a user who may)"
    for source in config.sources:
        missing = missing_secrets(source.options)
        if source.enabled:
            problems += [message for message, _ in missing]
        rows.append({
            "source": source.name,
            "platform": source.platform,
            "brand": source.brand,
            "enabled": source.enabled,
            "every": format_duration(source.every),
            "credentials": _credentials(missing),
        })
    delivery = []  # the sections that send mail or call the webhook, when they hold secrets
    webhook_used = config.alerts.enabled and "webhook" in config.alerts.channels
    for name, section, used in (("smtp", config.smtp, True), ("alerts", config.alerts, webhook_used)):
        if section is None or not secrets_in(section):
            continue
        missing = missing_secrets(section)
        if used:
            problems += [message for message, _ in missing]
        delivery.append({"section": name, "used": used, "credentials": _credentials(missing)})
    report = {
        "config": config.label,
        "database": str(store.path),
        "migrations": applied,  # the migrations this run applied ([] when up to date)
        "brands": [b.name for b in config.brands],
        "sources": rows,
        "delivery": delivery,
        "problems": [unwritable, *problems] if unwritable else problems,
    }
    if fmt == "json":
        to_json(report)
    elif fmt == "csv":  # one table for scripts: the rest is in --format json
        emit(fmt, rows, _INIT_COLUMNS)
    else:
        done = f"{len(applied)} migration(s) applied" if applied else "schema already up to date"
        click.echo(f"Database {store.path}: {done}.")
        click.echo(f"Config {config.label}: {len(config.brands)} brand(s), {len(config.sources)} source(s).")
        emit(fmt, rows, _INIT_COLUMNS)
        for row in delivery:
            unused = "" if row["used"] else " (not used: [alerts] channels has no webhook, or alerts are off)"
            click.echo(f"[{row['section']}] credentials: {row['credentials']}{unused}")
    failures = [unwritable] if unwritable else []
    if problems:
        failures.append(f"{len(problems)} problem(s) with credentials in use:\n  " + "\n  ".join(problems))
    if failures:
        raise click.ClickException("\n".join(failures))


_INIT_COLUMNS = ["source", "platform", "brand", "enabled", "every", "credentials"]
_POLL_COLUMNS = ["source", "platform", "status", "fetched", "new", "duplicates", "excluded", "requests", "seconds", "error"]


def _print_poll_results(fmt: str, results: list[Any], empty: str = "(no enabled sources)") -> None:
    rows = [r.as_dict() for r in results]
    emit(fmt, rows, _POLL_COLUMNS, widths={"error": 70}, empty=empty)
    failed = [r for r in results if r.status != "ok"]
    if failed:
        raise click.ClickException(  # each error in full: the table cuts them short
            f"{len(failed)} of {len(results)} source(s) failed:"
            + "".join(f"\n  {r.source}: {printable(r.error)}" for r in failed)
        )


@click.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Poll only this source (repeatable); disabled sources too.")
@format_option
@pass_app
def poll(app: App, names: tuple[str, ...], fmt: str) -> None:
    """One pass over the enabled (or named) sources.

    Prints per source how many mentions were fetched, new, duplicates of
    stored ones, and excluded as noise. Exit status 1 if any source failed
    (its error is recorded and shown by `status`; its cursor does not move).

    \b
    Examples:
      sentiment-monitor poll
      sentiment-monitor poll --source x-acme --format json
    """
    from monitor import ingest

    ingest.select_sources(app.config, names)  # an unknown name is refused before the database is made
    results = ingest.poll(app.store(), app.config, names)
    _print_poll_results(fmt, results)


@click.command()
@click.option("--once", is_flag=True, help="Poll every source that is due once, then exit (for cron).")
@format_option
@pass_app
def run(app: App, once: bool, fmt: str) -> None:
    """Run the monitor: poll every enabled source on its own schedule, send
    spike alerts and the daily digest when they are due.

    Each source is polled every `every` in its own thread: a failing or hung
    source never delays the others. Failures are retried with exponential
    back-off (capped by [daemon] backoff_max), a rate limit exactly when the
    platform allows. Logs one line per poll on stderr (INFO by default).
    SIGTERM or Ctrl-C stops it within 10 seconds; SIGHUP reloads the config
    (an invalid one is reported and the old one kept). `--once` polls the
    sources that are due (never polled, or past their next poll time), prints
    their results (--format applies to it alone), evaluates alerts and sends
    a due digest, and exits; exit status 1 if a poll failed. One `run` per database: a second `run` or
    `run --once` on a database another one is using refuses (exit status 1).

    \b
    Examples:
      sentiment-monitor run                       # the daemon; stop with Ctrl-C or SIGTERM
      sentiment-monitor --log-level DEBUG run     # more detail (secrets are still masked)
      kill -HUP <pid>                             # reload config/monitor.toml
      sentiment-monitor run --once                # from cron: every due source once
    """
    from click.core import ParameterSource

    if not once and click.get_current_context().get_parameter_source("fmt") is ParameterSource.COMMANDLINE:
        raise click.UsageError("--format applies to run --once only: the daemon's output is its log on stderr")
    from monitor.daemon import Daemon, limit_malloc_arenas, single_run

    app.setup_logging("INFO")
    limit_malloc_arenas()  # before the poll threads: keeps a long-running daemon's RSS flat
    config = app.config
    # SIGHUP re-reads the file resolved now (--config, else $SENTIMENT_MONITOR_CONFIG, else
    # ./config/monitor.toml): that file gone is a failed reload, never a silent switch to
    # another config; a daemon started on the embedded default has no file to reload.
    app.config_path = config.path
    # One `run` per database, --once included: the lock comes first, so a refused run
    # neither opens (or creates) the database nor loads the classifier.
    with single_run(config.monitor.database):
        daemon = Daemon(config, reload=app.load_config if config.path is not None else None)
        try:
            if once:
                _print_poll_results(fmt, daemon.run_once(), empty="(no source is due)")
            else:
                daemon.run()
        finally:
            daemon.close()


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Import the valid records and list each bad one (default: stop at the first, import nothing).")
@click.option("--brand", type=BRAND, help="Assign every mention to this brand (default: the record's, else by keywords).")
@click.option("--input-format", type=click.Choice(["jsonl", "json", "csv", "tsv"]),
              help="The file's format. Default: from its extension: .csv, .tsv, or .json/.jsonl/.ndjson"
                   " (a JSON array if it starts with [, else JSON lines).")
@click.option("--workers", type=WORKERS, help="Processes that check and score a large JSONL file. Default: one per CPU; 1: none.")
@format_option
@pass_app
def import_(
    app: App, file: Path, skip_bad: bool, brand: str | None, input_format: str | None, workers: int | None, fmt: str,
) -> None:
    """Backfill mentions from a JSONL, JSON or CSV file: classified and stored.

    Each record needs platform, id, text and created_at (ISO 8601; in JSON
    also a number of seconds since 1970); author,
    url, lang, likes, replies, reposts, followers and brand (a configured
    [[brands]] name, in any case) are optional.
    The output of `mentions --format json` imports as it is. Re-importing a
    file changes nothing. The file is checked completely before anything is
    written; a bad record stops the import with its file:line and reason.
    FILE must be a file (not - nor a pipe): it is read twice. Ctrl-C stops
    between batches; running the same import again finishes it.

    \b
    Examples:
      sentiment-monitor import export.jsonl
      sentiment-monitor import old.csv --skip-bad --brand Acme
      sentiment-monitor import backfill.jsonl --workers 1   # leave the other CPUs alone
    """
    from monitor import backfill, ingest

    check = None

    def report(exc: KeyboardInterrupt) -> str:
        if isinstance(exc, backfill.Interrupted):
            done = exc.written
            assert check is not None
            return (f"\nInterrupted after storing {done.new + done.duplicates:,} mentions ({done.new:,} new) of the"
                    f" file's {check.records:,} records, in whole batches; run the same import again to finish:"
                    f" stored mentions are not duplicated.")
        return "\nInterrupted before anything was stored."  # while the file was checked or the workers started

    with stopped_by_signals(report):
        # --brand assigns every mention its brand; otherwise a record's own brand must be configured.
        brands = None if brand else [b.name for b in app.settings.brands]
        check = ingest.check_file(file, fmt=input_format, skip_bad=skip_bad, workers=workers, brands=brands)
        store = app.store()
        pipeline = ingest.Pipeline(app.config)
        if sys.stderr.isatty() and check.records >= ingest.PROGRESS_MIN_RECORDS:
            with click.progressbar(length=check.records, label=f"Importing {file.name}", file=sys.stderr) as bar:
                result = ingest.import_file(store, pipeline, check, brand=brand, progress=bar.update, workers=workers)
        else:
            result = ingest.import_file(store, pipeline, check, brand=brand, workers=workers)
    if fmt == "json":
        to_json(result.as_dict())
        return
    row = result.as_dict()
    emit(fmt, [row], ["path", "records", "new", "duplicates", "excluded", "skipped"])
    for skipped in result.skipped:
        click.echo(f"skipped {skipped}", err=True)


@click.command()
@format_option
@pass_app
def status(app: App, fmt: str) -> None:
    """Each source's health, cursor, last success and error, next poll; database size and counts.

    health is "ok", "failing" (its last polls failed), "not working" (no
    successful poll for [daemon] not_working_after intervals, 3 by default:
    whatever the cause, even a daemon that is not running), "never polled",
    "disabled" or "removed" (no longer in the config: its history is kept);
    health_note says why. Every source has the same keys (null where unknown). new_24h counts mentions the source
    added in the last 24 hours.

    \b
    Examples:
      sentiment-monitor status
      sentiment-monitor status --format json
    """
    from datetime import timedelta

    from monitor.health import REMOVED, Health, assess
    from monitor.timeutil import utcnow

    config = app.config
    store = app.store(create=False)
    state = {s["name"]: s for s in store.sources.all()}
    now = utcnow()
    day_ago = now - timedelta(hours=24)
    rows = []
    for source in config.sources:
        s = state.get(source.name, {})
        health = assess(
            source, s, now=now, settings=config.daemon,
            first_run_at=None if s.get("last_success_at") else store.sources.first_run_at(source.name),
        )
        rows.append(_status_row(store, source.name, source.platform, s, day_ago, enabled=source.enabled,
                                every=format_duration(source.every), health=health, next_poll=s.get("next_poll_at")))
    for name, s in state.items():  # sources no longer in the config keep their history; never polled again
        if config.source(name) is None:
            rows.append(_status_row(store, name, s["platform"], s, day_ago, enabled=None, every=None,
                                    health=Health(REMOVED, "not in the config; its history is kept"), next_poll=None))
    database = {
        "path": str(store.path),
        "bytes": store.size_bytes(),
        "mentions": store.mentions.totals(),
    }
    # Digests that need a person: failed, or may have been delivered (unknown), or waiting to retry,
    # or sent with recipients the server refused.
    digests = [d for d in store.digests.recent(7)
               if d["state"] in ("failed", "unknown", "retry") or (d["state"] == "sent" and d["last_error"])]
    if fmt == "json":
        to_json({"database": database, "sources": rows, "digests": digests})
        return
    for row in rows:  # one column for people: "transient: HTTP 503 ..."
        if fmt == "table" and row.get("last_error") and row.get("last_error_kind"):
            row["last_error"] = f"{row['last_error_kind']}: {row['last_error']}"
    emit(fmt, rows, ["source", "platform", "health", "cursor", "last_success", "consecutive_failures",
                     "last_error", "next_poll", "new_24h"],
         headers=["source", "platform", "health", "cursor", "last_success", "failures", "last_error",
                  "next_poll", "new_24h"],
         widths={"cursor": 24, "last_error": 40}, empty="(no sources configured)")
    if fmt == "table":
        for row in rows:
            if row.get("health") in ("failing", "not working"):  # the error in full: the table cuts it short
                details(f"{row['source']}: {row['health']}: {row['health_note']}", [("last error", row.get("last_error"))])
        counts = ", ".join(f"{k} {v}" for k, v in database["mentions"].items())
        click.echo(f"\nDatabase {database['path']}: {database['bytes'] / 1e6:.1f} MB; mentions: {counts}")
        for d in digests:
            joint = ", but " if d["state"] == "sent" else ": "
            click.echo(f"Digest {d['day']} ({d['brand_set']}): {d['state']}{joint}{printable(d['last_error'])}")


def _status_row(store: Store, name: str, platform: str, s: dict[str, Any], day_ago: datetime, *,
                enabled: bool | None, every: str | None, health: Health, next_poll: str | None) -> dict[str, Any]:
    """One source of `status`: the same keys for every source, None where unknown."""
    return {
        "source": name,
        "platform": platform,
        "enabled": enabled,
        "every": every,
        "health": health.state,
        "health_note": health.note,
        "cursor": s.get("cursor"),
        "last_success": s.get("last_success_at"),
        "last_error": s.get("last_error"),
        "last_error_kind": s.get("last_error_kind"),
        "last_error_at": s.get("last_error_at"),
        "consecutive_failures": s.get("consecutive_failures", 0),
        "next_poll": next_poll,
        "new_24h": store.sources.new_since(name, day_ago),
    }


COMMANDS = [init, poll, run, import_, status]
