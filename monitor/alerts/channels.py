"""Record new alerts and deliver them by email and webhook.

An alert is written to the ``alerts`` table before any channel is tried, and
a channel is marked done only once it accepted the alert, so a crash or a
refused delivery is retried on the next run (after 2, 6, 14 and 30 minutes,
then given up). As with the digest, a delivery whose outcome is unknown (the
connection dropped after the alert was handed over, or the process stopped
while it was: ``sending`` says so at the next run) is not repeated, and
recipients a server deferred (4xx) while it took the email for others get
the same email (same Message-ID) on those retries, the others nothing more.
Alerts of one brand and hour travel together as one message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

from connectors.base import SecretMissing
from monitor import mail
from monitor.alerts import kpi_targets
from monitor.alerts.rule import HOUR, HourlyCounts, evaluate, floor_hour, needed_hours
from monitor.config import Config, unresolved_secrets
from monitor.storage import Store
from monitor.storage.mentions import MentionFilter
from monitor.timeutil import from_db, to_db, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
_FIRST_RETRY = timedelta(minutes=2)
_SAMPLES = 3  # most negative mentions of the hour shown with an alert
_TITLES = {"negative_count": "negative spike", "negative_ratio": "negative share spike",
           "zero_volume": "no mentions"}


@dataclass(frozen=True)
class AlertResult:
    brand: str
    hour: str
    kinds: list[str]
    sent: list[str]
    pending: list[str]
    error: str | None

    def describe(self) -> str:
        error = f" ({self.error})" if self.error else ""
        return f"{self.brand} {self.hour} {'/'.join(self.kinds)}: sent {self.sent}, pending {self.pending}{error}"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_due(store: Store, config: Config, now: datetime | None = None) -> list[AlertResult]:
    """Judge the last complete hour for every own brand, record what fires (cooldown
    honoured), and with ``kpi_targets`` the KPIs of the day before; deliver it;
    then retry deliveries that failed before."""
    now = now or utcnow()
    settings, tz = config.alerts, config.monitor.tz
    if settings.enabled and settings.kpi_targets:
        kpi_targets.record_due(store, config, now)
    if settings.enabled:
        hour = floor_hour(now) - HOUR
        data = HourlyCounts(store, needed_hours([hour], settings, tz))
        with store.transaction():
            for brand in config.own_brands():
                for signal in evaluate(brand.name, hour, data, settings, tz):
                    latest = store.alerts.latest_hour(brand.name, signal.kind)
                    if latest is not None and latest != hour and hour - latest < settings.cooldown:
                        log.info("alert %s %s at %s within cooldown", brand.name, signal.kind, to_db(hour))
                        continue
                    if store.alerts.add(signal.row(tz), settings.channels, now) is not None:
                        log.warning("alert: %s", signal.describe(tz))
    return deliver_pending(store, config, now)


_WILL_RETRY = " (will retry)"
#: What a channel was doing when a stop cut it off (see :meth:`AlertStore.set_sending`).
_CUT_OFF = {"email": "interrupted while the server had the message",
            "webhook": "interrupted while the alert was being posted"}
_SENT_BUT = "sent, but "
# Where one channel's error ends in a stored last_error: a detail may hold "; " itself.
_CHANNEL_ERRORS = re.compile(r"; (?=(?:email|webhook): )")


def deliver_pending(store: Store, config: Config, now: datetime) -> list[AlertResult]:
    """Deliver every recorded alert that still has channels to serve and is due a try."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in store.alerts.undelivered():
        groups.setdefault((row["brand"], row["hour"]), []).append(row)
    results = []
    for (brand, hour), rows in groups.items():
        ids = [r["id"] for r in rows]
        attempts = max(r["attempts"] for r in rows)
        pending = sorted({c for r in rows for c in r["pending"].split(",") if c})
        sent = sorted({c for r in rows for c in r["sent"].split(",") if c})
        errors: list[str] = []
        owed, message_id, reached = _owed(rows, config)
        deferred_to = owed  # after this round: the email's recipients still to mail (None: everyone)

        def record(attempted: bool) -> str | None:
            # A channel that failed for good, or was sent but not to everyone, stays explained;
            # a retry that since worked does not.
            kept = [part for r in rows if r["last_error"] for part in _CHANNEL_ERRORS.split(r["last_error"])
                    if not part.endswith(_WILL_RETRY)
                    and (part.split(":")[0] not in sent or _SENT_BUT in part or mail.NOT_RETRIED in part)]
            error = "; ".join(dict.fromkeys([*kept, *errors])) or None
            owed_now = deferred_to if "email" in pending else None  # delivered, or given up: owed to nobody
            store.alerts.record_delivery(ids, pending, sorted(sent), error, attempted=attempted, deferred_to=owed_now,
                                         message_id=message_id if owed_now and reached else None)
            return error

        # A process stopped (SIGTERM after the grace, a crash) while a channel was handing it over:
        # it may have been delivered, so it is not repeated (a duplicate cannot be taken back).
        for channel in sorted({r["sending"] for r in rows if r["sending"]} & set(pending)):
            errors.append(f"{channel}: unknown: {_CUT_OFF[channel]}: it may have been delivered; not repeated")
            log.warning("alert for %s at %s: %s by %s: it may have been delivered; not repeated", brand, hour,
                        _CUT_OFF[channel], channel)
            pending.remove(channel)
        if errors:
            error = record(attempted=False)
            if not pending:
                results.append(AlertResult(brand, hour, [r["kind"] for r in rows], sorted(sent), pending, error))
                continue
        due = from_db(min(r["created_at"] for r in rows)) + _FIRST_RETRY * (2**attempts - 1)
        if attempts and now < due:
            continue
        attempted = False
        for channel in list(pending):
            missing = _missing_secret(channel, config)
            if missing is not None:  # the operator's to fix: waits for it, however long, uses up no attempt
                log.warning("alert for %s at %s waits for %s: %s", brand, hour, channel, missing)
                errors.append(f"{channel}: {missing}{_WILL_RETRY}")
                continue
            attempted = True
            outcome = _try_channel(channel, store, config, brand, from_db(hour), rows, owed, message_id,
                                   partial(store.alerts.set_sending, ids, channel))
            retry = attempts + 1 < MAX_ATTEMPTS
            if outcome.status == "sent":
                if outcome.warning:  # delivered, but not to everyone: said, as the digest says it
                    errors.append(f"{channel}: {_SENT_BUT}{outcome.warning}")
                    log.warning("alert for %s at %s sent by %s, but %s", brand, hour, channel, outcome.warning)
                if outcome.deferred and retry:  # the same email, to them alone, at the next try
                    deferred_to, reached = list(outcome.deferred), True
                    errors.append(f"{channel}: the server deferred {mail.named(outcome.deferred)}{_WILL_RETRY}")
                    log.warning("alert for %s at %s sent by %s, but the server deferred %s", brand, hour, channel,
                                mail.named(outcome.deferred))
                    continue
                sent.append(channel)
                if outcome.deferred:
                    given_up = (f"the server still deferred {mail.named(outcome.deferred)} after {attempts + 1}"
                                " attempts: given up, not delivered to them")
                    errors.append(f"{channel}: {_SENT_BUT}{given_up}")
                    log.error("alert for %s at %s sent by %s, but %s", brand, hour, channel, given_up)
            elif outcome.status == "retry" and retry and outcome.deferred:
                # Refused for good to some, for now to the others (no one has it): those alone next time.
                deferred_to = list(outcome.deferred)
                errors += [f"{channel}: {outcome.warning}",
                           f"{channel}: the server deferred {mail.named(outcome.deferred)}{_WILL_RETRY}"]
                log.warning("alert for %s at %s not sent by %s: %s", brand, hour, channel, outcome.detail)
                continue
            elif outcome.status == "retry" and retry:
                errors.append(f"{channel}: {outcome.detail}{_WILL_RETRY}")
                continue
            elif channel == "email" and owed and reached:  # sent to the others already: given up on these only
                sent.append(channel)
                errors.append(f"{channel}: {_SENT_BUT}not delivered to {', '.join(owed)}: {outcome.status}:"
                              f" {outcome.detail}")
                log.error("alert for %s at %s not delivered by %s to %s: %s", brand, hour, channel, ", ".join(owed),
                          outcome.detail)
            else:
                errors.append(f"{channel}: {outcome.status}: {outcome.detail}")
                log.error("alert for %s at %s not delivered by %s: %s", brand, hour, channel, outcome.detail)
            pending.remove(channel)
            record(attempted=False)  # each channel's outcome at once: a stop before the next loses none
        error = record(attempted=attempted)
        results.append(AlertResult(brand, hour, [r["kind"] for r in rows], sorted(sent), pending, error))
    return results


def _owed(rows: Sequence[dict[str, Any]], config: Config) -> tuple[list[str] | None, str, bool]:
    """The email's recipients still to mail (None: everyone), its Message-ID, and whether
    others have it already: stored when a server deferred some, unless an alert joined the
    group since (a new email, then, for everyone). Recipients stored without a Message-ID
    are the ones worth mailing when no one has it yet (the others were refused for good),
    while one of them is still listed (else the list as it is now: no one has it)."""
    stored = {(r["deferred_to"], r["message_id"]) for r in rows}
    new_id = mail.new_message_id(mail.sender_of(config.smtp))
    if len(stored) == 1:
        deferred_to, message_id = stored.pop()
        listed = config.alerts.recipients or config.digest.recipients
        if deferred_to and (message_id or set(deferred_to.split(",")) & set(listed)):
            return deferred_to.split(","), message_id or new_id, bool(message_id)
    return None, new_id, False


def _missing_secret(channel: str, config: Config) -> str | None:
    """Why a secret the channel needs cannot be resolved now (an unset variable, an
    unreadable file), or None."""
    section = config.alerts if channel == "webhook" else config.smtp
    problems = unresolved_secrets(section) if section is not None else []
    return problems[0] if problems else None


def _try_channel(channel: str, store: Store, config: Config, brand: str, hour: datetime,
                 rows: Sequence[dict[str, Any]], owed: Sequence[str] | None, message_id: str,
                 handing_over: Callable[[], None]) -> mail.Outcome:
    """One channel's delivery; an unexpected error is its own ``retry`` outcome, so the
    channels delivered before it (and after it) are still recorded. ``handing_over`` is
    called just before the alert can reach the other side (the message data, the POST)."""
    try:
        return _deliver(channel, store, config, brand, hour, rows, owed, message_id, handing_over)
    except Exception as exc:  # noqa: BLE001 - a bug or odd setting in one channel must not lose the others
        log.exception("alert for %s at %s: %s channel error", brand, to_db(hour), channel)
        return mail.Outcome("retry", f"{type(exc).__name__}: {exc}")


def _deliver(channel: str, store: Store, config: Config, brand: str, hour: datetime,
             rows: Sequence[dict[str, Any]], owed: Sequence[str] | None, message_id: str,
             handing_over: Callable[[], None]) -> mail.Outcome:
    tz = config.monitor.tz
    samples = [] if brand == kpi_targets.TEAM else store.mentions.query(MentionFilter(
        since=hour, until=hour + HOUR, brand=brand, label="negative", limit=_SAMPLES, order="most_negative",
    ))
    if channel == "webhook":
        return _post_webhook(config, _slack_text(brand, hour, rows, samples, tz), handing_over)
    return _email(config, brand, hour, rows, samples, tz, owed, message_id, handing_over)


def _title(brand: str, hour: datetime, rows: Sequence[dict[str, Any]], tz: tzinfo) -> str:
    if all(kpi_targets.is_kpi_alert(r["kind"]) for r in rows):
        return f"{len(rows)} KPI{'s' if len(rows) > 1 else ''} missed {'their' if len(rows) > 1 else 'its'} target on {hour.astimezone(tz):%a %d %b}"
    kinds = ", ".join(dict.fromkeys(_TITLES.get(r["kind"], r["kind"]) for r in rows))
    return f"{brand}: {kinds} at {hour.astimezone(tz):%a %d %b %H:%M}"


def _email(config: Config, brand: str, hour: datetime, rows: Sequence[dict[str, Any]],
           samples: Sequence[dict[str, Any]], tz: tzinfo, owed: Sequence[str] | None, message_id: str,
           handing_over: Callable[[], None]) -> mail.Outcome:
    recipients = config.alerts.recipients or config.digest.recipients
    lines = [r["message"] for r in rows]
    if samples:
        lines += ["", "Most negative mentions of the hour:"]
        for m in samples:
            # Each on its own line: an author's or a URL's line breaks could write lines of their own.
            author = mail.header_text(m["author"]) if m["author"] else "?"
            lines.append(f"- [{m['platform']}] {author}: {mail.header_text(m['text'])[:280]}")
            if m["url"]:
                lines.append(f"  {mail.header_text(m['url'])}")
    if brand == kpi_targets.TEAM:
        lines += ["", "Targets: [kpi.targets] in the config; see `sentiment-monitor kpi show --by day`."]
    else:
        lines += ["", "Rule and parameters: [alerts] in the config; replay with `sentiment-monitor alerts test`."]
    message = mail.new_message(subject=f"[sentiment-monitor] {_title(brand, hour, rows, tz)}",
                               sender=mail.sender_of(config.smtp), recipients=recipients, message_id=message_id)
    message.set_content("\n".join(lines) + "\n", cte="quoted-printable")
    if config.smtp is None:
        stem = f"{mail.slug(brand)}-{hour:%Y%m%dT%H}"
        return mail.save_eml(message, config.monitor.data_dir / "alerts" / f"{stem}.eml")
    if not recipients:  # a file needs none, as the digest's does
        return mail.Outcome("failed", "no recipients: set [alerts] recipients or [digest] recipients")
    if owed is not None:  # the others have it: only the ones the server deferred, if still listed
        recipients = [r for r in owed if r in recipients]
        if not recipients:
            return mail.Outcome("sent", "the recipients it was deferred for are no longer listed")
    return mail.send_smtp(message, config.smtp, recipients,
                          on_stage=lambda stage: handing_over() if stage == "data" else None)



def _slack_escape(text: str) -> str:
    # Slack's own escaping: these three characters are control characters in its markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_text(brand: str, hour: datetime, rows: Sequence[dict[str, Any]],
                samples: Sequence[dict[str, Any]], tz: tzinfo) -> str:
    lines = [f"*{_slack_escape(_title(brand, hour, rows, tz))}*"]
    lines += [f"• {_slack_escape(r['message'])}" for r in rows]
    for m in samples:
        text = _slack_escape(mail.header_text(m["text"])[:200])
        url = m["url"] or ""
        # A link only for a plain web address: no markup characters, no spaces, nothing unprintable
        # (a line break would start a line of the poster's own in the message).
        safe = url.startswith(("https://", "http://")) and url.isprintable() and not set(url) & set("|<> ")
        link = f" <{url}|open>" if safe else ""
        lines.append(f"> {_slack_escape(m['platform'])}: {text}{link}")
    return "\n".join(lines)


def _post_webhook(config: Config, text: str, handing_over: Callable[[], None]) -> mail.Outcome:
    import requests

    settings = config.alerts
    if settings.webhook_url is None:
        return mail.Outcome("failed", "no [alerts] webhook_url")
    try:
        url = settings.webhook_url.reveal()
        handing_over()
        response = _post(url, {"text": text}, settings.webhook_timeout)
    except SecretMissing as exc:  # checked before; a file secret may just have gone
        return mail.Outcome("retry", str(exc))
    except requests.ConnectionError as exc:  # before the request was sent (connect timeouts too)
        return mail.Outcome("retry", f"cannot connect ({type(exc).__name__})")
    except requests.Timeout:
        return mail.Outcome("unknown", f"no answer within {settings.webhook_timeout:g}s ([alerts] webhook_timeout)"
                            " after the alert was sent")
    except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL) as exc:
        return mail.Outcome("failed", f"[alerts] webhook_url is not a web address to POST to ({type(exc).__name__}):"
                            " it must start with https://")
    except requests.RequestException as exc:
        return mail.Outcome("failed", type(exc).__name__)
    # The URL holds a token: never in a message. The caller names the channel.
    if response.is_redirect:  # a 301, 302 or 303 (or a 307/308 loop): never followed, see _post
        return mail.Outcome("failed", f"HTTP {response.status_code}: webhook_url redirects to"
                            f" {_site(response.url, response.headers['location'])}/…; set it to the address"
                            " it leads to (a redirect would lose the alert)")
    if response.ok:
        return mail.Outcome("sent", f"HTTP {response.status_code}")
    # 408: the server gave up waiting for the request, as a timeout on our side would
    status = "retry" if response.status_code in (408, 429) or response.status_code >= 500 else "failed"
    from monitor.logs import redact  # a reply that quotes the request may hold the URL's token

    said = redact(response.text, [url])[:200].strip() or redact(response.reason or "", [url])  # masked, then cut
    return mail.Outcome(status, f"HTTP {response.status_code} {said}".rstrip())


_MAX_REDIRECTS = 3


def _post(url: str, body: dict[str, Any], timeout: float) -> Any:
    """POST ``body`` as JSON, following only the redirects that repeat the POST (307, 308).

    A 301, 302 or 303 is returned as it is: requests would follow it with a GET,
    without the alert, and take the page it finds for a delivery."""
    import requests

    for _ in range(_MAX_REDIRECTS):
        response = requests.post(url, json=body, timeout=timeout, allow_redirects=False)
        if response.status_code not in (307, 308) or "location" not in response.headers:
            break
        url = urljoin(url, response.headers["location"])
    return response


def _site(url: str, location: str) -> str:
    """Where a redirect leads, scheme and host only: its path may hold a token."""
    target = urlsplit(urljoin(url, location))
    try:
        port = f":{target.port}" if target.port else ""
    except ValueError:  # not a number: the host is what helps
        port = ""
    return f"{target.scheme}://{target.hostname or '?'}{port}"
