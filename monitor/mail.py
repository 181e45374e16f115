"""Build and deliver email: over SMTP (STARTTLS or implicit TLS) or into files.

:func:`send_smtp` reports one of four outcomes, because what a caller may do
next depends on how far the delivery got:

* ``sent``: the server answered 250 to the message data. ``deferred`` names
  the recipients it answered with a 4xx at RCPT while it took others: not
  delivered to them yet; the caller mails them the same message later.
* ``retry``: a 4xx reply, the connection failed or dropped *before* the
  message data was handed over, or an ``[smtp]`` secret could not be read at
  the login (a file removed since the caller's check): nothing was delivered,
  trying later is safe. When the server refused every recipient, some for good
  (5xx) and the others for now (4xx), ``warning`` names the first and
  ``deferred`` the others: later tries mail those alone.
* ``failed``: a 5xx reply (a refused login too), a certificate or TLS problem,
  or a setting or address smtplib refuses (a timeout of 0, a non-ASCII
  address, credentials for a server that offers no AUTH): trying again will
  not help until someone fixes something.
* ``unknown``: the connection dropped or timed out *while* the message data
  was being handed over or answered: the server may have accepted it.

Certificates are always verified (``ssl.create_default_context``, or a given
CA file). Headers are built from our own text only and with
``email.policy.SMTP``, which refuses CR/LF in a header value.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

from connectors.base import SecretMissing
from monitor.config import SmtpConfig, secrets_in

log = logging.getLogger(__name__)

Status = Literal["sent", "retry", "failed", "unknown"]
FILE_SENDER = "sentiment-monitor@localhost"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str  # the server's reply or the error; for files, the path written
    warning: str | None = None  # not to everyone: the recipients the server refused for good (5xx)
    #: these recipients were refused for now (4xx), with the server's answer: still to mail (sent or retry)
    deferred: dict[str, str] = field(default_factory=dict)


class _Unusable(Exception):
    """A setting this server cannot work with; the message says what to change."""


def header_text(text: str) -> str:
    """Text safe for a header: control characters (CR, LF, ...) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def new_message(*, subject: str, sender: str, recipients: Sequence[str],
                message_id: str | None = None) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["Subject"] = header_text(subject)
    message["From"] = sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(timezone.utc))  # "+0000": UTC ("-0000" says "zone unknown")
    message["Message-ID"] = message_id or new_message_id(sender)
    return message


def new_message_id(sender: str) -> str:
    return make_msgid(domain=domain_of(sender))


def slug(text: str) -> str:
    """A file-name-safe form of a brand name."""
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "brand"


def ascii_slug(text: str) -> str:
    """:func:`slug` in ASCII (accents dropped, other scripts left out), as a header such as
    Message-ID needs: SMTP without SMTPUTF8 carries none other."""
    return slug(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip("<> ") or "localhost"


def sender_of(smtp: SmtpConfig | None) -> str:
    return smtp.sender if smtp else FILE_SENDER


def send_smtp(message: EmailMessage, smtp: SmtpConfig, recipients: Sequence[str], *,
              on_stage: Callable[[str], None] = lambda stage: None) -> Outcome:
    """Deliver ``message`` to ``recipients``; ``on_stage`` hears "connect",
    "envelope" and "data" just before each begins (see :class:`Outcome`). What the
    server said is masked as logs are (a reply may quote the credentials)."""
    from monitor import logs

    outcome = _send_smtp(message, smtp, recipients, on_stage)
    secrets = logs.revealed(secrets_in(smtp, masked=True))
    return replace(
        outcome, detail=logs.redact(outcome.detail, secrets),
        warning=None if outcome.warning is None else logs.redact(outcome.warning, secrets),
        deferred={r: logs.redact(answer, secrets) for r, answer in outcome.deferred.items()},
    )


def _send_smtp(message: EmailMessage, smtp: SmtpConfig, recipients: Sequence[str],
               on_stage: Callable[[str], None]) -> Outcome:
    unsafe = [address for address in (smtp.sender, *recipients) if _CONTROL.search(address)]
    if unsafe:  # a line break would end the SMTP command and start another one
        return Outcome("failed", "an address with a line break or control character: "
                       + ", ".join(repr(a) for a in unsafe))
    stage = "connect"

    def enter(name: str) -> None:
        nonlocal stage
        stage = name
        on_stage(name)

    try:
        enter("connect")
        client = _connect(smtp)
        try:
            enter("envelope")
            code, reply = client.mail(smtp.sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, smtp.sender)
            refused = {}
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code == 421:  # the server is closing the channel: nothing was handed over, try later
                    raise smtplib.SMTPResponseException(code, reply)
                if code not in (250, 251):
                    refused[recipient] = (code, reply)
            if len(refused) == len(recipients):
                raise smtplib.SMTPRecipientsRefused(refused)
            enter("data")
            code, reply = client.data(message.as_bytes())
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        finally:
            _close(client)
    except SecretMissing as exc:  # checked by the caller; a file secret may just have gone
        return Outcome("retry", str(exc))  # nothing was sent: the operator's to fix, as for a webhook
    except _Unusable as exc:
        return Outcome("failed", str(exc))
    except smtplib.SMTPRecipientsRefused as exc:
        detail = "recipients refused: " + _refusals(exc.recipients)
        later = {r: answer for r, answer in exc.recipients.items() if 400 <= answer[0] < 500}
        if not later or len(later) == len(exc.recipients):
            return Outcome("retry" if later else "failed", detail)
        # Some refused for good, the others for now: those are tried again, alone.
        never = {r: answer for r, answer in exc.recipients.items() if r not in later}
        return Outcome("retry", detail, f"the server refused {_refusals(never)}{NOT_RETRIED}",
                       {r: f"{code} {_text(text)}" for r, (code, text) in later.items()})
    except smtplib.SMTPResponseException as exc:
        status: Status = "retry" if 400 <= exc.smtp_code < 500 else "failed"
        reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):  # a bare "535 ..." does not say which setting
            return Outcome(status, f"login refused ({reply}): check [smtp] username and password")
        return Outcome(status, reply)
    except (ssl.SSLCertVerificationError, ssl.CertificateError, smtplib.SMTPNotSupportedError) as exc:
        return Outcome("failed", f"TLS: {exc}")
    except (smtplib.SMTPServerDisconnected, OSError) as exc:  # includes timeouts and refusals
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):  # smtplib wraps it
            reason = f"timed out: no answer within {smtp.timeout:g}s, [smtp] timeout"
        if stage == "data":
            return Outcome("unknown", f"connection lost while the server had the message ({reason})")
        # A TLS handshake that fails (connect, STARTTLS) is a setting to fix; a TLS error later in
        # the session, or a connection dropped mid-handshake, is worth a retry.
        if stage == "connect" and isinstance(exc, ssl.SSLError) and not isinstance(exc, _TLS_DROPPED):
            return Outcome("failed", f"TLS with {smtp.host}:{smtp.port}: {exc}{_tls_hint(smtp, exc)}")
        return Outcome("retry", f"{stage}{f' to {smtp.host}:{smtp.port}' if stage == 'connect' else ''}: {reason}")
    except smtplib.SMTPException as exc:
        return Outcome("failed", f"{type(exc).__name__}: {exc}")
    except UnicodeEncodeError:  # its text could hold the password: not shown
        return Outcome("failed", f"{stage}: non-ASCII characters where SMTP takes ASCII only"
                       " (an address, or [smtp] username or password)")
    except ValueError as exc:  # smtplib or the socket refusing a setting: nothing was sent
        return Outcome("failed", f"{stage}: a setting that cannot be used: {type(exc).__name__}: {exc}")
    accepted = [r for r in recipients if r not in refused]
    detail = f"250 {_text(reply)}; to {', '.join(accepted)}"
    deferred = {r: answer for r, answer in refused.items() if 400 <= answer[0] < 500}
    refused = {r: answer for r, answer in refused.items() if r not in deferred}
    if deferred:
        detail += f"; deferred {_refusals(deferred)}"
    if refused:
        detail += f"; refused {_refusals(refused)}"
    warning = f"the server refused {_refusals(refused)}{NOT_RETRIED}" if refused else None
    return Outcome("sent", detail, warning, {r: f"{code} {_text(text)}" for r, (code, text) in deferred.items()})


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        client.ehlo()
        if smtp.starttls:
            if not client.has_extn("starttls"):
                raise _Unusable(_no_starttls(smtp))
            client.starttls(context=context)
            client.ehlo()
        if smtp.username is not None and smtp.password is not None:
            if not client.has_extn("auth"):
                raise _Unusable(_no_auth(smtp))
            client.login(smtp.username.reveal(), smtp.password.reveal())
    except BaseException:
        _close(client)
        raise
    return client


#: TLS errors that are a connection dropped mid-handshake (worth a retry), not a TLS problem.
_TLS_DROPPED = (ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _tls_hint(smtp: SmtpConfig, exc: ssl.SSLError) -> str:
    """What a TLS handshake failing on a plain-text answer usually means."""
    if getattr(exc, "reason", None) != "WRONG_VERSION_NUMBER":
        return ""
    if smtp.ssl:
        return ("; the server answered in plain text: ssl = true wants TLS from the first byte (port 465),"
                " a port such as 587 or 25 wants starttls = true instead")
    return "; the server answered STARTTLS in plain text"


def _no_auth(smtp: SmtpConfig) -> str:
    text = "the server offers no AUTH, so [smtp] username and password cannot be used: remove them"
    if smtp.starttls or smtp.ssl:
        return text
    return text + ", or set starttls = true if the server offers AUTH only after STARTTLS"


def _no_starttls(smtp: SmtpConfig) -> str:
    return (f"{smtp.host}:{smtp.port} does not offer STARTTLS ([smtp] starttls = true): a port that wants TLS"
            " from the first byte (465) needs ssl = true instead; starttls = false would send all in clear")


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return named({r: f"{code} {_text(reply)}" for r, (code, reply) in refused.items()})


def named(answers: dict[str, str]) -> str:
    """Recipients with the server's answer to each: "a@x (452 4.5.3 ...), b@y (...)"."""
    return ", ".join(f"{r} ({answer})" for r, answer in answers.items())


#: How a warning about recipients refused for good ends.
NOT_RETRIED = ": not delivered to them, not retried"


def refusals_in(error: str | None) -> str | None:
    """The part of a stored error that names recipients refused for good (an
    :attr:`Outcome.warning`, or several), kept while the deferred ones are retried."""
    if not error or not error.startswith("the server refused ") or NOT_RETRIED not in error:
        return None
    return error[:error.rindex(NOT_RETRIED) + len(NOT_RETRIED)]


def write_file(path: Path, data: bytes) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def save_eml(message: EmailMessage, path: Path) -> Outcome:
    """Deliver into a file (no ``[smtp]``): the message exactly as it would be sent."""
    try:
        write_file(path, message.as_bytes())
    except OSError as exc:
        return Outcome("failed", f"cannot write {path}: {exc.strerror}")
    return Outcome("sent", str(path))

