"""Deliver each digest exactly once per brand-set and date, once the date is over.

The ``digests`` row is the state machine, changed only under the write lock:

1. **claim**: the row becomes ``sending`` (``stage`` = render) *before* any
   connection is made; a second process finds it claimed and leaves it alone.
2. the stage moves to ``connect``, ``envelope`` and then ``data`` just before
   the message is handed over (the server can only accept it after that).
3. **finish**: ``sent`` only after the server answered 250 to the data;
   ``retry`` (4xx, or a connection lost *before* ``data``) with the next
   attempt time, doubling from ``[digest] retry_after`` up to 2 hours, until
   ``[digest] max_attempts``, then ``failed``; ``failed`` on a 5xx, a TLS or
   credentials problem, or a setting or address that cannot be used (nothing
   was sent; `digest send --date D` after the fix); ``retry`` without using up an
   attempt, and without connecting, while an ``[smtp]`` secret cannot be resolved
   (an unset environment variable: the operator's to fix); ``unknown`` when the
   connection was lost *during* ``data``. Any other exception (a bug, a
   database error) is recorded as ``retry`` at its stage and raised.
   A server that takes the message for some recipients and answers others
   with a 4xx makes it ``retry`` too, with those in ``deferred_to``: the
   next attempts mail them alone, the same message; after ``max_attempts``
   it is ``sent`` with them named in ``last_error``.

A ``sending`` row whose lease has run out means the process died mid-send.
If it died before ``data``, nothing can have been delivered and it is sent
again. If it died during ``data``, the server may have the message: the row
becomes ``unknown`` and is never resent automatically (a missing digest is
visible in ``digest status``; a duplicate cannot be taken back). ``digest send
--force`` resends it with the same Message-ID, so a mail system that dedupes
on it shows one copy. The same rule applies to ``unknown`` outcomes.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from monitor import mail
from monitor.config import Config, unresolved_secrets
from monitor.digest import render
from monitor.digest.builder import Digest, brand_set_key, build
from monitor.digest.kpis import KpiProvider, service_kpis
from monitor.storage import Store
from monitor.errors import MonitorError
from monitor.timeutil import FIRST_DATE, LAST_DATE, check_date, day_bounds, due_day, from_db, parse_date, to_db, utcnow

log = logging.getLogger(__name__)

_MIN_LEASE = timedelta(minutes=5)
_MAX_RETRY_DELAY = timedelta(hours=2)
#: How the last_error of a digest waiting for an [smtp] secret starts (it used up no attempt).
_WAITS = "waits for "


@dataclass(frozen=True)
class DigestResult:
    brand_set: str
    day: str
    state: str  # the row's state afterwards
    acted: bool  # False: nothing was attempted (already sent, not due, claimed elsewhere)
    attempts: int
    message_id: str | None
    detail: str

    def describe(self) -> str:
        return f"digest {self.day}: {self.state} ({self.detail})"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_due(store: Store, config: Config, now: datetime | None = None, *,
            kpi_provider: KpiProvider = service_kpis) -> list[DigestResult]:
    """Send every digest that is due and not yet sent: the latest due day (the
    catch-up after a restart sends that one only, not every missed day; nor a day
    before one already sent or tried, as a later ``send_at`` or another timezone
    would make it), retries whose time has come, and sends interrupted by a crash.
    Returns what was done."""
    now = now or utcnow()
    key = brand_set_key(config)
    days = set()
    for row in store.digests.in_states("sending", "retry", "failed"):
        if not _valid_day(row["day"]):
            _drop(store, row)
        elif row["state"] != "failed" and row["brand_set"] == key:
            days.add(row["day"])
    due = due_day(now, config.monitor.tz, config.digest.send_at).isoformat()
    latest = store.digests.latest_day(key)
    if latest is None or latest <= due:
        days.add(due)
    results = []
    for day in sorted(days):
        if _refusal(config, date.fromisoformat(day), now) is not None:
            continue  # a day not over yet, tried by hand with an older version: sent once it is over
        result = send(store, config, date.fromisoformat(day), now=now, automatic=True, kpi_provider=kpi_provider)
        if result.acted:
            results.append(result)
    return results


def send(store: Store, config: Config, day: date, *, now: datetime | None = None, force: bool = False,
         automatic: bool = False, kpi_provider: KpiProvider = service_kpis) -> DigestResult:
    """Send the digest of ``day`` unless it was sent (or may have been: ``unknown``);
    ``force`` sends it again. ``automatic`` (the daemon) also waits for retry times
    and leaves ``failed`` digests alone. :class:`MonitorError` for a day that is not
    over yet (even with ``force``) or out of range: nothing is recorded."""
    now = now or utcnow()
    refusal = _refusal(config, day, now)
    if refusal is not None:
        raise MonitorError(refusal)
    key = brand_set_key(config)
    missing = unresolved_secrets(config.smtp) if config.smtp is not None else []
    row, reason, changed = _claim(store, config, key, day.isoformat(), now, force=force, automatic=automatic,
                                  missing=missing[0] if missing else None)
    if reason is not None:
        return _result(row, acted=changed, detail=reason)
    try:
        digest = build(store, config, day, kpi_provider=kpi_provider, now=now)
        outcome = _deliver(store, config, digest, row, now)
    except Exception as exc:  # a bug or a database error: retried (up to max_attempts), and shown
        _finish(store, config, row, mail.Outcome("retry", f"{row['stage']}: {type(exc).__name__}: {exc}"), now)
        raise
    row = _finish(store, config, row, outcome, now)
    return _result(row, acted=True, detail=outcome.detail)


def _refusal(config: Config, day: date, now: datetime) -> str | None:
    """Why ``day``'s digest cannot be sent (a date out of range, or a day not
    over yet), or None.

    A day that is not over would have a partial digest recorded as its one,
    and the complete one would never be sent: not even ``--force`` sends it
    (``digest preview`` shows the day so far).
    """
    try:
        check_date(day)
    except ValueError as exc:
        return str(exc)
    if day_bounds(day, config.monitor.tz)[1] <= now:
        return None
    return (f"{day} is not over yet ({config.monitor.timezone}): its digest is sent after midnight;"
            f' "digest preview --date {day}" shows it so far')


def _valid_day(day: str) -> bool:
    try:
        parse_date(day)
    except ValueError:
        return False
    return True


def _drop(store: Store, row: dict[str, Any]) -> None:
    """Forget an undelivered digest of a date out of range: only an older version
    could store one (its render failed); retried, it would fail for ever, and
    no command takes the date to clear it."""
    log.warning("digest %s %s: dropped, not a date a digest can be sent for (dates run from %s to %s);"
                " last error: %s", row["brand_set"], row["day"], FIRST_DATE, LAST_DATE, row["last_error"])
    store.digests.delete(row["brand_set"], row["day"])


def _lease(config: Config) -> timedelta:
    timeout = config.smtp.timeout if config.smtp else 30.0
    return max(_MIN_LEASE, timedelta(seconds=4 * timeout))


def _claim(store: Store, config: Config, key: str, day: str, now: datetime, *, force: bool,
           automatic: bool, missing: str | None = None) -> tuple[dict[str, Any], str | None, bool]:
    """Under the write lock: take the digest for sending, or say why not (and
    whether the row changed: an interrupted send found to be ``unknown``, or a digest
    that waits for a secret).

    ``missing``: why an ``[smtp]`` secret cannot be resolved now. The operator's to fix,
    not a failure: the daemon keeps the digest as ``retry``, using up no attempt, and
    tries again after ``retry_after``; by hand it is a :class:`MonitorError`.
    """
    with store.transaction():
        row = store.digests.get(key, day)
        if row is None:
            row = {"brand_set": key, "day": day, "attempts": 0, "message_id": _message_id(config, key, day)}
        state = row.get("state")
        if state == "sending":
            if from_db(row["claimed_at"]) + _lease(config) > now and not _claimer_gone(row.get("claimed_by")):
                return row, f"being sent by another process since {row['claimed_at']}", False
            if row["stage"] == "data":
                row.update(state="unknown", last_error="interrupted while the server had the message:"
                           " it may have been delivered; check, then `digest send --date"
                           f" {day} --force` if it did not arrive")
                log.warning("digest %s %s: %s", key, day, row["last_error"])
                store.digests.save(row, now)
                if not force:
                    return row, row["last_error"], True
            else:
                log.warning("digest %s %s: a send was interrupted at %s (before the message was handed"
                            " over): sending again", key, day, row["stage"])
        elif state == "sent" and not force:
            return row, f"already sent at {row['sent_at']} (use --force to send it again)", False
        elif state == "unknown" and not force:
            return row, f"{row['last_error']}", False
        elif state == "failed" and automatic:
            return row, f"failed: {row['last_error']} (send it with `digest send --date {day}`)", False
        elif (state == "retry" and automatic and from_db(row["next_attempt_at"]) > now
              and (missing is not None or not (row["last_error"] or "").startswith(_WAITS))):
            # A digest that waited for a secret goes at the first run that has it: it used up no attempt.
            return row, f"next attempt at {row['next_attempt_at']}", False
        if missing is not None:
            if not automatic:
                raise MonitorError(f"digest {day} not sent: {missing}")
            row.update(state="retry", next_attempt_at=to_db(now + config.digest.retry_after),
                       last_error=f"{_WAITS}{missing}")
            log.warning("digest %s %s %s", key, day, row["last_error"])
            store.digests.save(row, now)
            return row, row["last_error"], True
        if state == "sent" or not (row["message_id"] or "").isascii():
            # A deliberate second copy: a new identity, so nothing hides it. A non-ASCII one (older
            # versions made it from a brand such as "Nestlé") could never be sent: nothing had it.
            row["message_id"] = _message_id(config, key, day)
            row.update(deferred_to=None, delivered_to=None)  # a new copy for everyone; no one has it yet
        row.update(state="sending", stage="render", attempts=row["attempts"] + 1, claimed_at=to_db(now),
                   claimed_by=_claimer(), next_attempt_at=None)
        store.digests.save(row, now)
    return row, None, True


def _claimer() -> str:
    return f"{_pid_space()}:{os.getpid()}"


def _pid_space() -> str:
    """Where this process's id means this process: the host name, and the PID namespace where
    there is one (containers sharing a host name, with host networking, each number their
    own processes: a process id of another one says nothing here)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}" if namespace else socket.gethostname()


def _claimer_gone(claimed_by: str | None) -> bool:
    """Whether the process that claimed a digest is known to be gone: one of this host (and
    PID namespace) that no longer exists (stopped after the daemon's grace, killed). Anything
    else, a live one or one that cannot be checked, keeps its claim until the lease runs out."""
    host, _, pid = (claimed_by or "").rpartition(":")
    if os.name != "posix" or host != _pid_space() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # exists, another user's
        return False
    return False


def _message_id(config: Config, key: str, day: str) -> str:
    # Short enough that the header is never folded; random so that every digest is its own.
    domain = mail.domain_of(mail.sender_of(config.smtp))
    return f"<digest.{mail.ascii_slug(key)[:40]}.{day}.{secrets.token_hex(6)}@{domain}>"


def _deliver(store: Store, config: Config, digest: Digest, row: dict[str, Any], now: datetime) -> mail.Outcome:
    pngs = render.charts(digest)
    recipients = list(config.digest.recipients)
    try:
        message = render.message(digest, sender=mail.sender_of(config.smtp), recipients=recipients,
                                 message_id=row["message_id"], pngs=pngs)
    except ValueError as exc:  # the header policy refusing an address (a line break): fix the config
        return mail.Outcome("failed", f"cannot address the message ({exc}): check [smtp] sender and"
                            " [digest] recipients")
    if config.smtp is None:
        folder = config.monitor.data_dir / "digests"
        stem = render.file_stem(digest.brand_set, digest.day)
        try:
            mail.write_file(folder / f"{stem}.html", render.standalone_html(digest, pngs).encode("utf-8"))
        except OSError as exc:
            return mail.Outcome("failed", f"cannot write {folder}: {exc.strerror}")
        return mail.save_eml(message, folder / f"{stem}.eml")
    if not recipients:
        return mail.Outcome("failed", "no recipients: set [digest] recipients")
    owed = [r for r in (row.get("deferred_to") or "").split(",") if r in recipients]
    if owed:  # only the ones the server deferred, if still listed (the others have it, or were refused for good)
        recipients = owed
    elif row.get("deferred_to") and row.get("delivered_to"):
        return mail.Outcome("sent", "the recipients it was deferred for are no longer in [digest] recipients")
    # else no one has it yet (every recipient was refused): the list as it is now

    def stage(name: str) -> None:
        row["stage"] = name
        store.digests.set_stage(row["brand_set"], row["day"], name, now)

    return mail.send_smtp(message, config.smtp, recipients, on_stage=stage)


def _finish(store: Store, config: Config, row: dict[str, Any], outcome: mail.Outcome, now: datetime) -> dict[str, Any]:
    row = {**row, "stage": None}
    # Only some recipients are still to mail (the server deferred them): who was refused for
    # good stays on record; if the others have it (``delivered_to``), giving up leaves it ``sent``.
    owed = row["deferred_to"].replace(",", ", ") if row.get("deferred_to") else None
    earlier = mail.refusals_in(row.get("last_error")) if owed else None
    earlier_to = row.get("delivered_to") if owed else None
    retry = row["attempts"] < config.digest.max_attempts
    gave_up = False
    if outcome.status == "sent":
        row.update(delivered_to=f"{earlier_to}; then {outcome.detail}" if earlier_to else outcome.detail,
                   sent_at=row.get("sent_at") if earlier_to else to_db(now))
    if outcome.status in ("sent", "retry") and outcome.deferred and retry:
        row.update(state="retry", next_attempt_at=to_db(now + _delay(config, row)),
                   deferred_to=",".join(outcome.deferred),
                   last_error=_joined(earlier, outcome.warning, f"the server deferred {mail.named(outcome.deferred)}:"
                                      " mailed again at the next attempt"))
    elif outcome.status == "sent":
        # A recipient refused (or deferred at every attempt) while others accepted stays visible as the last error.
        gave_up = bool(outcome.deferred)
        row.update(state="sent", sent_at=row["sent_at"] or to_db(now), deferred_to=None, last_error=_joined(
            earlier, outcome.warning, f"the server still deferred {mail.named(outcome.deferred)} after"
            f" {row['attempts']} attempts: given up, not delivered to them" if gave_up else None))
    elif outcome.status == "retry" and retry:
        row.update(state="retry", next_attempt_at=to_db(now + _delay(config, row)),
                   last_error=_joined(earlier, outcome.detail))
    elif outcome.status == "unknown":
        row.update(state="unknown", last_error=_joined(
            earlier, f"{outcome.detail}: it may have been delivered; check the inbox,"
            f" then `digest send --date {row['day']} --force` if it did not arrive"))
    else:
        reason = outcome.detail
        if outcome.status == "retry":
            reason = f"gave up after {row['attempts']} attempts: {reason}"
        gave_up = earlier_to is not None
        if earlier_to:  # sent to the others already: given up on these only
            row.update(state="sent", deferred_to=None,
                       last_error=_joined(earlier, f"not delivered to {owed}: {reason}"))
        else:
            # Delivered to no one. A resend by hand mails the ones refused for now, never
            # those refused for good (still named).
            if outcome.deferred:
                row["deferred_to"] = ",".join(outcome.deferred)
            row.update(state="failed", last_error=_joined(earlier, outcome.warning, reason))
    store.digests.save(row, now)
    # A retry is a warning: the server was down or refused for now, which an operator
    # running at --log-level warning wants to hear of before it becomes a failure hours later.
    level = {"sent": logging.INFO, "retry": logging.WARNING}.get(row["state"], logging.ERROR)
    if outcome.warning or outcome.deferred:
        level = max(level, logging.WARNING)
    if gave_up:
        level = logging.ERROR
    log.log(level, "digest %s %s: %s (%s)", row["brand_set"], row["day"], row["state"], outcome.detail)
    return row


def _delay(config: Config, row: dict[str, Any]) -> timedelta:
    return min(config.digest.retry_after * 2 ** (row["attempts"] - 1), _MAX_RETRY_DELAY)


def _joined(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None


def _result(row: dict[str, Any], *, acted: bool, detail: str) -> DigestResult:
    return DigestResult(row["brand_set"], row["day"], row.get("state") or "new", acted,
                        row["attempts"], row.get("message_id"), detail)
