"""Commands for the daily digest: digest preview, digest send, digest status."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from monitor.cli import DATE, App, format_option, limit_option, pass_app
from monitor.errors import MonitorError
from monitor.output import details, emit, printable, to_json

_RESULT_COLUMNS = ["day", "brand_set", "state", "acted", "attempts", "message_id", "detail"]


@click.group()
def digest() -> None:
    """The daily digest email: preview it, send it, see what was sent.

    The digest reports the day before, midnight to midnight in [monitor]
    timezone; the daemon (and `run --once`) sends it at [digest] send_at.

    \b
    Examples:
      sentiment-monitor digest preview                  # the latest day due, to digest-YYYY-MM-DD.html
      sentiment-monitor digest send --date 2026-01-11
      sentiment-monitor digest status
    """


def _day(app: App, day: date | None) -> date:
    from monitor.timeutil import due_day, utcnow

    config = app.config
    return day or due_day(utcnow(), config.monitor.tz, config.digest.send_at)


@digest.command()
@click.option("--date", "day", type=DATE, help="The day to report (default: the latest day due: yesterday once [digest] send_at has passed today, else the day before).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: .html (charts embedded) or .eml (the message as sent). Default: digest-DATE.html; - for stdout.")
@pass_app
def preview(app: App, day: date | None, output: Path | None) -> None:
    """Render the digest without sending it.

    \b
    Examples:
      sentiment-monitor digest preview                  # the latest day due, to digest-YYYY-MM-DD.html
      sentiment-monitor digest preview --date 2026-01-11 --output digest.eml
      sentiment-monitor digest preview --output - > digest.html
    """
    from monitor import mail
    from monitor.digest import build
    from monitor.digest import render

    config = app.config
    day = _day(app, day)
    built = build(app.store(create=False), config, day)
    output = output or Path(f"digest-{day}.html")
    if output.suffix.lower() == ".eml":
        message = render.message(built, sender=mail.sender_of(config.smtp), recipients=list(config.digest.recipients))
        data = message.as_bytes()
    else:
        data = render.standalone_html(built).encode("utf-8")
    if str(output) == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    try:
        mail.write_file(output, data)
    except OSError as exc:
        raise MonitorError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {output} ({len(data) // 1024} KB): {render.subject(built)}")


@digest.command()
@click.option("--date", "day", type=DATE, help="The day to report (default: the latest day due: yesterday once [digest] send_at has passed today, else the day before).")
@click.option("--force", is_flag=True, help="Send even if this day's digest was already sent (or may have been).")
@format_option
@pass_app
def send(app: App, day: date | None, force: bool, fmt: str) -> None:
    """Send the digest now: by SMTP, or as .eml and .html files with no [smtp].

    Each day's digest is sent once, after the day is over in [monitor]
    timezone: sending a day already sent does nothing unless --force is given;
    a day not over yet is refused, even with --force (preview shows it so
    far). Exit status 1 if the digest could not be sent.

    \b
    Examples:
      sentiment-monitor digest send
      sentiment-monitor digest send --date 2026-01-11 --force
    """
    from monitor import digest as digests

    result = digests.send(app.store(create=False), app.config, _day(app, day), force=force)
    if fmt == "table":
        verb = "sent" if result.acted and result.state == "sent" else result.state if result.acted else "not sent"
        click.echo(f"Digest for {result.day} ({result.brand_set}): {verb}, attempt {result.attempts}. {printable(result.detail)}")
    else:
        emit(fmt, [result.as_dict()], _RESULT_COLUMNS, json_value=result.as_dict())
    if result.acted and result.state != "sent":
        raise click.ClickException(f"digest for {result.day} not sent: {result.state}")


@digest.command()
@limit_option(14, "digests, latest day first")
@format_option
@pass_app
def status(app: App, limit: int, fmt: str) -> None:
    """Recent digests: sent, waiting to retry, failed, or unknown (check the inbox).

    A sent digest's last_error names the recipients the server refused (it
    went to the others once; the refused ones are not retried).

    \b
    Example:
      sentiment-monitor digest status --format json
    """
    rows = app.store(create=False).digests.recent(limit)
    if fmt == "json":
        to_json(rows)
        return
    emit(fmt, rows, ["day", "brand_set", "state", "attempts", "sent_at", "next_attempt_at", "last_error", "message_id"],
         widths={"last_error": 60, "message_id": 40}, empty="(no digest sent yet)")
    if fmt == "table":  # who has it, who is mailed again, who was refused: the table cuts it short
        told = [row for row in rows if row.get("last_error") or row.get("deferred_to")]
        if told:
            click.echo()
        for row in told:
            _details(row)


def _details(row: dict[str, Any]) -> None:
    when = f" at {row['next_attempt_at']}" if row["state"] == "retry" and row.get("next_attempt_at") else ""
    deferred = row["deferred_to"].replace(",", ", ") if row.get("deferred_to") else None
    details(f"{row['day']} ({row['brand_set']}): {row['state']}{when}, attempt {row['attempts']}", [
        ("delivery", row.get("delivered_to")),  # whom the server took it for, deferred, refused
        ("to retry" if row["state"] == "retry" else "deferred (a resend mails them only)", deferred),
        ("last error", row.get("last_error")),
    ])


COMMANDS = [digest]
