"""Bluesky mentions through the AT Protocol's ``app.bsky.feed.searchPosts``, over plain XRPC.

Bluesky's post search needs a signed-in account: the connector logs in with
an *app password* (``com.atproto.server.createSession``), keeps the session
for the life of the process, shared by every source of the account and kept
across config reloads (logins are limited to 30 per 5 minutes and 300 a day
per account), refreshes it with ``refreshSession`` when the access token
expires, and logs in again when the refresh token is refused.

Each query line is one search, ``sort=latest``, from a ``since`` time:
``searchPosts``'s own ``cursor`` is an offset into one result set, good only
within a poll. Across polls the cursor keeps, per line, a
:class:`~connectors.watermark.Watermark` of the newest post time (``sortAt``,
the earlier of createdAt and indexedAt, which is what ``since`` compares) and
the post URIs of the last 15 minutes, re-read each poll because posts can be
indexed a little after their time.

Plain HTTP rather than the ``atproto`` SDK: three XRPC calls do the job, the
SDK brings pydantic, cryptography and websockets, and it insists on decoding
tokens and on looking up the profile at every login.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from connectors.base import (
    AuthError,
    BadPayload,
    Batch,
    BrandQuery,
    ConnectorError,
    Mention,
    Secret,
    decode_cursor,
    encode_cursor,
    parse_iso_datetime,
    query_lines,
    whole_number,
)
from connectors.http import HttpClient, check_options, error_detail
from connectors.matching import search_terms
from connectors.watermark import Watermark, read_lines

if TYPE_CHECKING:
    from requests import Response

log = logging.getLogger(__name__)

CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
WEB_URL = "https://bsky.app"
OVERLAP = timedelta(minutes=15)  # posts indexed late still show up; their URIs dedupe them
_EXPIRED = ("ExpiredToken", "InvalidToken")

# Sessions outlive a connector (one is built per poll): keyed by (base_url, handle).
_sessions: dict[tuple[str, str], dict[str, str]] = {}
_sessions_lock = threading.Lock()


class _Expired(ConnectorError):
    pass


def forget_sessions() -> None:
    """Drop every kept session: the next poll of each account logs in again."""
    with _sessions_lock:
        _sessions.clear()


@dataclass(frozen=True)
class BlueskyOptions:
    #: The account that searches: its handle ("brand.bsky.social") or DID.
    handle: str
    #: An app password (Settings → Privacy and security → App passwords), never the main password.
    app_password: Secret
    #: The account's PDS (or the bsky.social entryway); it proxies search to the AppView.
    base_url: str = "https://bsky.social"
    #: Posts per request (1 to 100).
    page_size: int = 100
    #: Page budget per query line per poll.
    max_pages: int = 5
    #: Only posts in this language (a BCP-47 code such as "en"); default: any.
    lang: str | None = None
    #: How far back the first poll of a line reaches.
    lookback: timedelta = timedelta(days=7)
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: When to retry after a 429 without Retry-After or RateLimit-Reset.
    rate_limit_backoff: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        check_options(self, page_size_max=100)
        if not self.handle.strip().lstrip("@"):
            raise ValueError("handle: give the account's handle or DID")


class BlueskyConnector:
    """Latest posts matching each query line, incremental by time and URI."""

    platform: ClassVar[str] = "bluesky"
    Options: ClassVar[type] = BlueskyOptions
    needs_query: ClassVar[bool] = True  # it only searches: a brand or a query is needed

    def __init__(self, options: BlueskyOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        """One search line per brand term (Bluesky search has no OR)."""
        return "\n".join(search_terms(brand))

    def fetch(self, query: str, cursor: str | None) -> Batch:
        lines = query_lines(query, self.platform)
        before = decode_cursor(cursor, self.platform)
        found: dict[str, Mention] = {}
        floor = (datetime.now(timezone.utc) - self.options.lookback).timestamp()
        with _Xrpc(self.options) as xrpc:
            after = read_lines(lines, before, lambda line, mark: self._search(xrpc, line, mark, found),
                               overlap=OVERLAP.total_seconds(), floor=floor)
            requests = xrpc.http.requests
        return Batch(list(found.values()), encode_cursor(after) if after != before else None, requests)

    def _search(self, xrpc: _Xrpc, line: str, mark: Watermark, found: dict[str, Mention]) -> None:
        o = self.options
        since = mark.since()
        params: dict[str, Any] = {"q": line, "sort": "latest", "limit": o.page_size}
        if since is not None:
            params["since"] = datetime.fromtimestamp(since, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        if o.lang:
            params["lang"] = o.lang
        for _page in range(o.max_pages):
            body = xrpc.get(SEARCH, params)
            posts = body.get("posts")
            if not isinstance(posts, list):
                raise BadPayload("bluesky: searchPosts answered without a posts list")
            for post in posts:
                item = _post(post)
                if item is None:
                    continue
                mention, sort_at = item
                if mark.is_old(sort_at):
                    return
                if mark.take(mention.id, sort_at):
                    found.setdefault(mention.id, mention)
            next_cursor = body.get("cursor")
            if not posts or not isinstance(next_cursor, str) or not next_cursor:
                return
            params = {**params, "cursor": next_cursor}
        log.warning("bluesky: %r: stopped after %d pages (max_pages); older matching posts are skipped",
                    line, o.max_pages)


class _Xrpc:
    """XRPC calls with a logged-in session: reused, refreshed, or renewed as needed."""

    def __init__(self, options: BlueskyOptions) -> None:
        self.options = options
        self.key = (options.base_url.rstrip("/"), options.handle.strip().lstrip("@").lower())
        self.http = HttpClient("bluesky", options.base_url, options.timeout, backoff=options.rate_limit_backoff,
                               secret=options.app_password, classify=self._classify)

    def __enter__(self) -> _Xrpc:
        self.http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.__exit__(*exc)

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        session = self._session()
        try:
            return self._call(path, params, session)
        except _Expired:
            return self._call(path, params, self._renew(session))

    def _call(self, path: str, params: Mapping[str, Any], session: Mapping[str, str]) -> dict[str, Any]:
        body = self.http.json(self.http.get(path, params=dict(params),
                                            headers={"Authorization": f"Bearer {session['accessJwt']}"}))
        if not isinstance(body, dict):
            raise BadPayload(f"bluesky: {path} answered with something other than a JSON object")
        return body

    def _session(self) -> dict[str, str]:
        with _sessions_lock:
            session = _sessions.get(self.key)
        if session is None:
            return self._login()
        if _expires_soon(session["accessJwt"]):
            return self._renew(session)
        return session

    def _renew(self, session: Mapping[str, str]) -> dict[str, str]:
        """A refreshed session; a new login when the refresh token is refused too."""
        try:
            response = self.http.post(REFRESH_SESSION, headers={"Authorization": f"Bearer {session['refreshJwt']}"})
            return self._keep(self.http.json(response))
        except (_Expired, AuthError):
            return self._login()

    def _login(self) -> dict[str, str]:
        with _sessions_lock:
            _sessions.pop(self.key, None)
        body = {"identifier": self.options.handle.strip().lstrip("@"), "password": self.options.app_password.reveal()}
        return self._keep(self.http.json(self.http.post(CREATE_SESSION, json=body)))

    def _keep(self, body: Any) -> dict[str, str]:
        if not isinstance(body, Mapping) or not all(isinstance(body.get(k), str) for k in ("accessJwt", "refreshJwt")):
            raise BadPayload("bluesky: the session answer has no accessJwt/refreshJwt")
        session = {"accessJwt": body["accessJwt"], "refreshJwt": body["refreshJwt"]}
        with _sessions_lock:
            _sessions[self.key] = session
        return session

    def _classify(self, response: Response) -> ConnectorError | None:
        try:
            error = json.loads(response.content).get("error")
        except (ValueError, AttributeError):
            error = None
        detail = error_detail(response)
        secret = self.options.app_password
        if error in _EXPIRED:
            return _Expired(f"bluesky: session token refused ({error})")
        if urlsplit(response.url).path.endswith(CREATE_SESSION) and response.status_code in (400, 401):
            return AuthError(
                f"{secret.where}: Bluesky refused the login of {self.options.handle} with the app password from"
                f" {secret.describe()} ({response.status_code} {error or ''}: {detail})"
            )
        if response.status_code == 403:
            return AuthError(f"{secret.section}: Bluesky refused the search ({error or 403}: {detail})")
        return None


def _expires_soon(token: str) -> bool:
    """Whether a JWT's ``exp`` is within a minute; tokens that are not JWTs never look expired."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) < datetime.now(timezone.utc).timestamp() + 60
    except (IndexError, ValueError, KeyError, TypeError):
        return False


# ---------------------------------------------------------------------- mapping
def _post(post: Any) -> tuple[Mention, float] | None:
    """The mention and its sort time (what ``since`` compares), or ``None`` if unusable."""
    if not isinstance(post, Mapping) or not isinstance(post.get("uri"), str):
        log.warning("bluesky: skipping a post without uri: %.200r", post)
        return None
    record = post.get("record") if isinstance(post.get("record"), Mapping) else {}
    author = post.get("author") if isinstance(post.get("author"), Mapping) else {}
    created = _time(record.get("createdAt"))
    indexed = _time(post.get("indexedAt"))
    if created is None and indexed is None:
        log.warning("bluesky: skipping a post without createdAt or indexedAt: %s", post["uri"])
        return None
    sort_at = min(t for t in (created, indexed) if t is not None)
    uri = post["uri"]
    did = author.get("did") or uri.removeprefix("at://").split("/")[0]
    langs = record.get("langs")
    reposts = [n for n in (whole_number(post, "repostCount"), whole_number(post, "quoteCount")) if n is not None]
    handle = author.get("handle")
    mention = Mention(
        platform="bluesky",
        id=uri,
        text=record.get("text") if isinstance(record.get("text"), str) else "",
        author=handle if isinstance(handle, str) and handle else None,
        url=f"{WEB_URL}/profile/{did}/post/{uri.rsplit('/', 1)[-1]}" if did else None,
        created_at=created or indexed,  # type: ignore[arg-type]
        raw=post,
        lang=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        likes=whole_number(post, "likeCount"),
        replies=whole_number(post, "replyCount"),
        reposts=sum(reposts) if reposts else None,
    )
    return mention, sort_at.timestamp()


def _time(value: Any) -> datetime | None:
    try:
        return parse_iso_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
