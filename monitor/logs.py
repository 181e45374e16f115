"""Logging to stderr, one line per event, with secrets redacted.

One line per record, starting with its time in ISO 8601 with the UTC offset
(local time as the process's ``TZ`` says; ``+00:00`` under the systemd unit).
Line breaks inside a message (tweepy logs a request as "Parameters:/Headers:/
Body:" lines) are written as a literal ``\\n``, so every line starts with a
time and a level and grep sees whole records. Only a
traceback (``exc_info``, ``stack_info``) keeps its lines.

Our handler on the root logger carries a :class:`RedactingFilter`, so every
record that reaches it is cleaned, third-party ones included: tweepy,
requests-oauthlib, prawcore and urllib3 log request headers, token responses
and form bodies at DEBUG. The filter removes the value of every secret the
config refers to (and its URL-encoded forms) and anything shaped like a
credential: ``Authorization``/``Cookie`` headers, ``Bearer`` tokens, URL
passwords, and ``access_token``/``client_secret``/``password``-like keys in
query strings, JSON, Python reprs and form bodies.

Nothing can log before the :mod:`logging` module is imported, and a command
that only reads the database never imports it: :func:`configure` then waits
for that import (a one-shot import hook) instead of paying for it.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit

from monitor.output import printable

if TYPE_CHECKING:
    import logging

    from connectors.base import Secret

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
#: A URL secret's path or query shorter than this ("/", "/hook") identifies nothing.
_MIN_URL_PART = 8
#: A configured value shorter than this (a test token "t") protects nothing, and masking
#: it would mangle every word that contains it.
_MIN_SECRET = 4

# Keys whose values are credentials, wherever they appear (query, JSON, repr, form).
_SECRET_KEYS = (
    "access_token", "refresh_token", "id_token", "token", "bearer_token", "oauth_token",
    "oauth_token_secret", "oauth_signature", "oauth_verifier", "client_secret",
    "consumer_secret", "access_token_secret", "app_secret", "appsecret_proof", "api_key",
    "apikey", "api_secret", "secret", "password", "passwd", "app_password", "session_key",
    # private feed URLs (an RSS url is no secret setting, so only its shape can be masked)
    "key", "access_key", "auth", "auth_token", "private_token", "feed_token", "sig", "signature",
)
_HEADERS = (
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-auth-token", "x-csrf-token",
)
# A name starts a word, or follows a literal "\r\n" in a repr'd raw request.
_START = r"(?:(?<=\\[rn])|(?<![\w-]))"
_QUOTED = r"""b?(?P<q>['"])(?P<qv>.*?)(?P=q)"""
_VALUE = r"""[^\s&,;'"}\])\\]"""  # a character of an unquoted value
_TOKEN_LIKE = rf"""(?=(?=[\w.~+/=-]*\d)[\w.~+/=-]{{8}}|{_VALUE}{{16}})"""
_PATTERN_SOURCES: list[str] = [
    # Header: value, in "Name: value" lines, dict reprs and raw request dumps ("...\r\n").
    (
        rf"""(?i)(?P<k>['"]?{_START}(?:{'|'.join(map(re.escape, _HEADERS))})\b['"]?\s*[:=]\s*)"""
        rf"""(?:{_QUOTED}|(?P<v>[^\r\n'\\]+))"""
    ),
    # key=value, "key": "value", 'key': 'value', ('key', 'value') (prawcore's form data). After
    # "key:" an unquoted word is masked only when it looks like a token (8+ token characters
    # with a digit, or 16+ characters): "key: words" is prose, the way our own messages name a
    # setting ("[smtp]: password: environment variable ... is not set").
    (
        rf"""(?i)(?P<k>(?P<kq>['"])?{_START}(?:{'|'.join(_SECRET_KEYS)})(?![\w-])(?(kq)(?P=kq))\s*"""
        rf"""(?:(?P<eq>=)|:|(?<=['"]),)\s*)(?:{_QUOTED}|(?(eq)|(?(kq)|{_TOKEN_LIKE}))(?P<v>{_VALUE}+))"""
    ),
    # "Bearer <token>"; not "the bearer token from env X" (our own words: a token has a digit or length).
    rf"(?i)\b(?P<k>bearer\s+){_TOKEN_LIKE}(?P<v>[A-Za-z0-9\-._~+/%]+=*)",
    # The password of a URL: scheme://user:password@host
    r"(?i)(?P<k>\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:)(?P<v>[^@\s/'\"]+)(?=@)",
]


def _url_parts(secret: str) -> set[str]:
    """The parts of a secret URL that loggers print without the rest.

    A webhook URL carries its token in the path (``/services/T0/B0/<token>``),
    and urllib3 logs ``"POST /services/T0/B0/<token> HTTP/1.1"`` without the
    host: the path, and the query, must be masked on their own too.
    """
    if "://" not in secret:
        return set()
    parts = urlsplit(secret)
    found = {parts.path + (f"?{parts.query}" if parts.query else ""), parts.path, parts.query}
    return {p for p in found if len(p) >= _MIN_URL_PART}


@functools.cache
def _patterns() -> list[re.Pattern[str]]:
    """Compiled on the first record to redact: most commands never log."""
    return [re.compile(source) for source in _PATTERN_SOURCES]


def _mask(match: re.Match[str]) -> str:
    quote_char = match.groupdict().get("q")
    if quote_char:
        prefix = match.group(0)[: match.start("q") - match.start(0)]
        return f"{prefix}{quote_char}{MASK}{quote_char}"
    return match.group("k") + MASK


class RedactingFilter:
    """Rewrites each record so no known secret or credential-shaped value survives
    (a logging filter: handlers call :meth:`filter`)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        values: set[str] = set()
        for secret in secrets:
            if len(secret) >= _MIN_SECRET:
                values.update({secret, quote(secret, safe=""), quote_plus(secret)})
                values.update(_url_parts(secret))
        # Longest first, so a secret containing another is masked whole.
        self._values = sorted(values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        for pattern in _patterns():
            text = pattern.sub(_mask, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            import logging

            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` masked as our log handler masks a record (the configured secrets, see
    :func:`set_secrets`, and credential-shaped values), plus ``secrets``: for messages that
    are printed or stored rather than logged, such as a failed poll's error, which may quote
    what a server echoed back."""
    handler = _our_handler()
    if handler is not None:
        configured = getattr(handler, "_redactor")._values
    else:
        configured = _AfterImport.pending[1] if _AfterImport.pending is not None else []
    return RedactingFilter([*configured, *secrets]).redact(text)


def one_line(message: str) -> str:
    """``message`` with its line breaks written as the two characters ``\\n`` (``\\r``); the
    formatter shows other control characters as their symbols (:func:`monitor.output.printable`)."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


@functools.cache
def _formatter_class() -> type[logging.Formatter]:
    import logging

    class OneLineFormatter(logging.Formatter):
        """``FORMAT`` with the message kept on one line; a traceback after it stays multi-line."""

        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
            # ISO 8601 with the offset (2026-11-23T14:31:44.668+05:30): stored and `status`
            # times are UTC, and a local time without its offset cannot be matched to them.
            from datetime import datetime

            return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")

        def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
            return one_line(super().formatMessage(record))

        def format(self, record: logging.LogRecord) -> str:
            # Control characters as symbols in the whole record: its message (one_line has
            # written its line breaks out) and a traceback quoting a server's reply.
            return printable(super().format(record))

    return OneLineFormatter


def revealed(secrets: Iterable[Secret]) -> list[str]:
    """The values of the secrets that can be resolved now (missing ones are skipped)."""
    secrets = list(secrets)
    if not secrets:
        return []
    from connectors.base import SecretMissing  # imported already: secrets exist

    values = []
    for secret in secrets:
        try:
            values.append(secret.reveal())
        except SecretMissing:
            continue
    return values


def _our_handler() -> logging.Handler | None:
    if "logging" not in sys.modules:
        return None
    import logging

    return next(
        (h for h in logging.getLogger().handlers if getattr(h, "_sentiment_monitor", False)), None
    )


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """Log records of ``level`` and above to stderr, one line each, redacted.

    If :mod:`logging` is not imported yet, this happens the moment it is.
    """
    if "logging" in sys.modules:
        _AfterImport.cancel()
        _configure(level, secrets)
    else:
        _AfterImport.arm(level, list(secrets))


def _configure(level: str, secrets: Iterable[str] = ()) -> None:
    import logging

    root = logging.getLogger()
    old = _our_handler()
    if old is not None:
        root.removeHandler(old)
        secrets = [*secrets, *getattr(old, "_redactor")._values]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter_class()(FORMAT))
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    handler._sentiment_monitor = True  # type: ignore[attr-defined]
    handler._redactor = redactor  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())


def set_secrets(secrets: Iterable[str]) -> None:
    """Redact these values (replacing the previous set) from everything our handler prints."""
    handler = _our_handler()
    if handler is not None:
        getattr(handler, "_redactor").set_secrets(secrets)
    elif _AfterImport.pending is not None:
        _AfterImport.pending = (_AfterImport.pending[0], list(secrets))


class _AfterImport:
    """A one-shot import hook: runs :func:`_configure` right after :mod:`logging` is
    first imported (so no record can be emitted before our handler is in place)."""

    pending: tuple[str, list[str]] | None = None  # (level, secrets) waiting for the import

    @classmethod
    def arm(cls, level: str, secrets: list[str]) -> None:
        cls.pending = (level, secrets)
        if cls not in sys.meta_path:
            sys.meta_path.insert(0, cls)  # type: ignore[arg-type]

    @classmethod
    def cancel(cls) -> None:
        cls.pending = None
        if cls in sys.meta_path:
            sys.meta_path.remove(cls)  # type: ignore[arg-type]

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging" or cls.pending is None:
            return None
        sys.meta_path.remove(cls)  # type: ignore[arg-type]
        for finder in sys.meta_path:  # the spec the import would have used
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_then_configure(module: Any) -> None:
            exec_module(module)
            level, secrets = cls.pending or ("WARNING", [])
            cls.pending = None
            _configure(level, secrets)

        spec.loader.exec_module = exec_then_configure  # this spec's own loader instance
        return spec
