"""The connector contract: what every platform connector produces and raises.

A connector turns one poll of one platform into a :class:`Batch` of
:class:`Mention` records plus the cursor to resume from. Connectors are plain
libraries: they never touch the database, never sleep on rate limits (they
raise :class:`RateLimited` with the time it is safe to retry) and bound every
network call by a timeout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable


@dataclass(frozen=True)
class Mention:
    """One public post, comment or review that mentions a brand."""

    platform: str  # "x", "reddit", "mastodon", ...
    id: str  # the platform's own id, as text
    text: str
    author: str | None
    url: str | None
    created_at: datetime  # timezone-aware UTC
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    lang: str | None = None  # BCP-47 code when the platform says
    likes: int | None = None
    replies: int | None = None
    reposts: int | None = None
    followers: int | None = None  # the author's follower count

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError(f"{self.platform}/{self.id}: created_at must be timezone-aware")
        if self.created_at.utcoffset() != timedelta(0):
            object.__setattr__(self, "created_at", self.created_at.astimezone(timezone.utc))


@dataclass(frozen=True)
class Batch:
    """The result of one fetch.

    ``next_cursor`` is ``None`` when the cursor does not move (nothing new).
    ``requests`` counts the HTTP requests the fetch made (for cost reporting); a
    fetch that fails marks its exception with the count instead (:func:`note_requests`).
    """

    mentions: Sequence[Mention]
    next_cursor: str | None
    requests: int = 0


@dataclass(frozen=True)
class BrandQuery:
    """What a connector needs to build its platform's search query for a brand."""

    name: str
    keywords: Sequence[str] = ()
    handles: Sequence[str] = ()
    exclude: Sequence[str] = ()

    def terms(self) -> list[str]:
        """Keywords then handles, without duplicates, in configured order."""
        seen: dict[str, None] = {}
        for term in [*self.keywords, *self.handles] or [self.name]:
            seen.setdefault(term, None)
        return list(seen)


@runtime_checkable
class Connector(Protocol):
    """A source of mentions on one platform.

    Implementations declare ``platform`` and an ``Options`` dataclass whose
    fields are the ``[[sources]]`` keys they accept (the config validates
    against it), and are constructed with an instance of it.
    """

    platform: ClassVar[str]
    Options: ClassVar[type]
    # Optional, checked by the config loader (declaring neither accepts any source):
    # takes_query: ClassVar[bool | str] = True
    #     False: the platform searches nothing (a Page, an account or a file read whole): a
    #     source's ``query`` is refused, it would filter nothing. The name of a bool option
    #     (RSS: "only_matching"): the query is used only when that option is true, else refused.
    # needs_query: ClassVar[bool] = False
    #     True: the platform only searches: a source whose query is used needs a ``brand`` or a
    #     non-blank ``query`` (else every poll would fail as bad_query).

    def build_query(self, brand: BrandQuery) -> str:
        """The platform query for a brand when the source sets no ``query``."""
        ...

    def fetch(self, query: str, cursor: str | None) -> Batch:
        """Fetch everything newer than ``cursor``; raise a ConnectorError on failure."""
        ...


class Secret:
    """A credential that never shows itself in logs, reprs or tracebacks.

    Built from a literal value, an environment variable or a file; resolved
    only when :meth:`reveal` is called, so a missing variable is reported by
    the source that needs it, not by every command.
    """

    __slots__ = ("_value", "env", "file", "where")

    def __init__(
        self,
        value: str | None = None,
        *,
        env: str | None = None,
        file: str | os.PathLike[str] | None = None,
        where: str = "secret",
    ) -> None:
        if sum(x is not None for x in (value, env, file)) != 1:
            raise ValueError("a Secret needs exactly one of value, env or file")
        self._value = value
        self.env = env
        self.file = Path(file) if file is not None else None
        self.where = where  # the config key, for error messages

    def reveal(self) -> str:
        if self._value is not None:
            return self._value
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretMissing(f"{self.where}: environment variable {self.env} is not set")
            if not value.strip():
                raise SecretMissing(f"{self.where}: environment variable {self.env} is empty")
            return value
        assert self.file is not None
        try:
            value = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretMissing(
                f"{self.where}: cannot read secret file {self.file}: {exc.strerror}"
            ) from None
        if not value:  # 0 bytes or blank: sent as an empty credential, it would only be refused
            raise SecretMissing(f"{self.where}: secret file {self.file} is empty")
        return value

    def missing_in(self, message: str) -> bool:
        """Whether ``message`` holds one of :meth:`reveal`'s "cannot be resolved" messages
        about this secret (a stored poll error, say); never for an inline value."""
        if self.env is not None:
            return f"environment variable {self.env} " in message
        return self.file is not None and f"secret file {self.file}" in message

    @property
    def section(self) -> str:
        """The config section holding the secret (``where`` without its key), for messages."""
        return self.where.rpartition(": ")[0] or self.where

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        if self.env is not None:
            return f"env {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "inline value"

    def __repr__(self) -> str:
        return f"Secret({self.describe()})"

    __str__ = __repr__


class ConnectorError(Exception):
    """A poll failed. ``kind`` is a short stable word for status and logs."""

    kind: ClassVar[str] = "error"


class RateLimited(ConnectorError):
    """The platform asked us to wait; ``retry_at`` is when it is safe to retry."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class AuthError(ConnectorError):
    """Credentials missing, rejected, or the plan lacks access. Not retried quickly."""

    kind = "auth"


class TransientError(ConnectorError):
    """Server errors, timeouts, dropped connections: retry with back-off. ``retry_at``: not
    before this time (a 503's ``Retry-After``), when the server said."""

    kind = "transient"

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class BadPayload(ConnectorError):
    """The platform (or file) returned something we cannot parse."""

    kind = "bad_payload"


class BadQuery(ConnectorError):
    """The platform rejected the query or a configured name (too long, bad syntax,
    unknown subreddit). Fix the config; retrying will not help."""

    kind = "bad_query"


class SecretMissing(AuthError):
    """A configured secret could not be resolved (unset env var, unreadable file)."""


def note_requests(exc: BaseException, requests: int) -> None:
    """Mark ``exc``, which ends a fetch, with the HTTP requests the fetch made before it,
    so that a failed poll reports them too (read back with :func:`requests_made`).
    The per-poll clients (``HttpClient``, X's and Reddit's) do it as the exception leaves them."""
    exc.requests_made = requests  # type: ignore[attr-defined]


def requests_made(exc: BaseException) -> int:
    """The HTTP requests a failed fetch made before raising ``exc`` (0 when not marked)."""
    value = getattr(exc, "requests_made", 0)
    return value if isinstance(value, int) else 0


def query_lines(query: str, platform: str) -> list[str]:
    """A query's lines (one search or listing each): stripped, blank ones and repeats dropped.

    Raises :class:`BadQuery` when there is none.
    """
    lines = list(dict.fromkeys(line.strip() for line in query.splitlines() if line.strip()))
    if not lines:
        raise BadQuery(f"{platform}: the query is empty; give the source a brand or a query")
    return lines


def check_at_least_one(options: Any, *keys: str) -> None:
    """Raise ValueError ``"<key>: must be at least 1"`` for the first of ``keys`` (counts
    and budgets: a page or record budget of 0 fetches nothing, forever, and says ok)."""
    for key in keys:
        if getattr(options, key) < 1:
            raise ValueError(f"{key}: must be at least 1")


def utc_from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def whole_number(mapping: Mapping[str, Any], key: str) -> int | None:
    """``mapping[key]`` when it is an integer (not a bool); ``None`` when absent or anything else."""
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def decode_cursor(cursor: str | None, platform: str, scope: str | None = None) -> dict[str, Any]:
    """A JSON-object cursor as a dict; ``{}`` (start afresh) when absent or unreadable.

    An unreadable cursor is logged, not raised: a source must never be stuck
    on its own state, and re-fetching is harmless (mentions are upserted).
    ``scope``: what the state belongs to (a feed's url); a cursor written by
    :func:`encode_cursor` for another scope is ``{}`` too (one without a scope
    is an older version's, taken as this one's). The scope is not part of the dict.
    """
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        value = None
    if isinstance(value, dict) and value.get(_SCOPE, scope) == scope:
        value.pop(_SCOPE, None)
        return value
    import logging  # here, not at the top: most users of this module never log

    if isinstance(value, dict):
        logging.getLogger(__name__).info(
            "%s: the cursor is for %.200r, not %.200r; starting afresh", platform, value[_SCOPE], scope
        )
    else:
        logging.getLogger(__name__).warning(
            "%s: ignoring unreadable cursor %.80r; starting afresh", platform, cursor
        )
    return {}


def encode_cursor(state: Mapping[str, Any], scope: str | None = None) -> str:
    """The text form of a JSON-object cursor (stable key order, compact), naming its ``scope``."""
    return json.dumps({**state, _SCOPE: scope} if scope is not None else state,
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def next_cursor(cursor: str | None, state: Mapping[str, Any], scope: str | None = None) -> str | None:
    """The cursor a fetch ends with: ``state`` for ``scope`` (:func:`encode_cursor`), or
    ``None`` when that is ``cursor`` unchanged (the cursor does not move). A cursor of an
    older version, without the scope, moves once, to name it."""
    if not state and cursor is None:
        return None
    text = encode_cursor(state, scope)
    return None if text == cursor else text


#: The key of a cursor naming what it belongs to (see :func:`decode_cursor`).
_SCOPE = "for"


def parse_iso_datetime(value: str) -> datetime:
    """Parse ISO 8601 as platforms write it (``Z``, offsets, fractions) to aware UTC.

    Naive values are taken as UTC. Raises ValueError on anything else.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Instagram/Facebook write "+0000" without the colon.
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
