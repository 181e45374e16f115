"""Logging to stderr, one line per event, with secrets redacted.

Our handler on the root logger carries a :class:`RedactingFilter`, so every
record that reaches it is cleaned, third-party ones included: tweepy,
requests-oauthlib, prawcore and urllib3 log request headers, token responses
and form bodies at DEBUG. The filter removes the value of every secret the
config refers to (and its URL-encoded forms) and anything shaped like a
credential: ``Authorization``/``Cookie`` headers, ``Bearer`` tokens, URL
passwords, and ``access_token``/``client_secret``/``password``-like keys in
query strings, JSON, Python reprs and form bodies.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

from connectors.base import Secret, SecretMissing

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
#: A URL secret's path or query shorter than this ("/", "/hook") identifies nothing.
_MIN_URL_PART = 8

# Keys whose values are credentials, wherever they appear (query, JSON, repr, form).
_SECRET_KEYS = (
    "access_token", "refresh_token", "id_token", "token", "bearer_token", "oauth_token",
    "oauth_token_secret", "oauth_signature", "oauth_verifier", "client_secret",
    "consumer_secret", "access_token_secret", "app_secret", "appsecret_proof", "api_key",
    "apikey", "api_secret", "secret", "password", "passwd", "app_password", "session_key",
)
_HEADERS = (
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-auth-token", "x-csrf-token",
)
# A name starts a word, or follows a literal "\r\n" in a repr'd raw request.
_START = r"(?:(?<=\\[rn])|(?<![\w-]))"
_QUOTED = r"""b?(?P<q>['"])(?P<qv>.*?)(?P=q)"""
_PATTERNS: list[re.Pattern[str]] = [
    # Header: value, in "Name: value" lines, dict reprs and raw request dumps ("...\r\n").
    re.compile(
        rf"""(?i)(?P<k>['"]?{_START}(?:{'|'.join(map(re.escape, _HEADERS))})\b['"]?\s*[:=]\s*)"""
        rf"""(?:{_QUOTED}|(?P<v>[^\r\n'\\]+))"""
    ),
    # key=value, "key": "value", 'key': 'value', ('key', 'value') (prawcore's form data).
    re.compile(
        rf"""(?i)(?P<k>['"]?{_START}(?:{'|'.join(_SECRET_KEYS)})(?![\w-])['"]?\s*"""
        rf"""(?:[:=]|(?<=['"]),)\s*)(?:{_QUOTED}|(?P<v>[^\s&,;'"}}\])\\]+))"""
    ),
    re.compile(r"(?i)\b(?P<k>bearer\s+)(?P<v>[A-Za-z0-9\-._~+/%]+=*)"),
    # The password of a URL: scheme://user:password@host
    re.compile(r"(?i)(?P<k>\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:)(?P<v>[^@\s/'\"]+)(?=@)"),
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


def _mask(match: re.Match[str]) -> str:
    quote_char = match.groupdict().get("q")
    if quote_char:
        prefix = match.group(0)[: match.start("q") - match.start(0)]
        return f"{prefix}{quote_char}{MASK}{quote_char}"
    return match.group("k") + MASK


class RedactingFilter(logging.Filter):
    """Rewrites each record so no known secret or credential-shaped value survives."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._values: list[str] = []
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        values: set[str] = set()
        for secret in secrets:
            if secret:
                values.update({secret, quote(secret, safe=""), quote_plus(secret)})
                values.update(_url_parts(secret))
        # Longest first, so a secret containing another is masked whole.
        self._values = sorted(values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_mask, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def revealed(secrets: Iterable[Secret]) -> list[str]:
    """The values of the secrets that can be resolved now (missing ones are skipped)."""
    values = []
    for secret in secrets:
        try:
            values.append(secret.reveal())
        except SecretMissing:
            continue
    return values


def _our_handler() -> logging.Handler | None:
    return next(
        (h for h in logging.getLogger().handlers if getattr(h, "_sentiment_monitor", False)), None
    )


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """Log records of ``level`` and above to stderr, one line each, redacted."""
    root = logging.getLogger()
    old = _our_handler()
    if old is not None:
        root.removeHandler(old)
        secrets = [*secrets, *getattr(old, "_redactor")._values]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
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
