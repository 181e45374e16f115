"""Mastodon mentions from one instance: hashtag timelines and status search, over plain HTTP.

The query has one line per listing: ``#acme`` reads the hashtag timeline
``/api/v1/timelines/tag/acme`` (public on most instances), any other line is
a status search ``/api/v2/search?type=statuses`` (needs ``access_token``, an
instance with full-text search, and only finds posts the account may search:
opted-in public posts, its own, its mentions and favourites).

Timelines are followed forward with ``min_id`` and the ``Link: rel="prev"``
URL the server sends (each page is the next newer one, so a poll that stops
at the page budget leaves no gap: the next poll continues where it stopped).
A first poll reads back through ``rel="next"`` within ``lookback``. The
cursor maps each query line to the newest status id read on this instance.

Mentions are keyed by the status ``uri`` (the same on every instance), so a
post seen through two instances is stored once. Plain HTTP is used rather
than Mastodon.py, whose defaults sleep on rate limits and wait 300 s per
request, and which adds instance/version look-ups to every poll.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from connectors.base import (
    AuthError,
    BadPayload,
    BadQuery,
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
from connectors.markup import html_to_text
from connectors.matching import search_terms

if TYPE_CHECKING:
    from requests import Response

log = logging.getLogger(__name__)

TAG_TIMELINE = "/api/v1/timelines/tag/"
SEARCH = "/api/v2/search"


class _UnknownTag(BadQuery):
    pass


@dataclass(frozen=True)
class MastodonOptions:
    #: The instance to read from (its timelines only hold posts it knows about).
    base_url: str = "https://mastodon.social"
    #: An access token (Preferences → Development; scopes read:statuses, read:search).
    #: Hashtag timelines work without one on most instances; search needs it.
    access_token: Secret | None = None
    #: Also search statuses for the brand's terms in built queries (needs access_token).
    search: bool = False
    #: Hashtag timelines: only posts made on this instance.
    local: bool = False
    #: Statuses per request (Mastodon allows up to 40).
    page_size: int = 40
    #: Page budget per query line per poll.
    max_pages: int = 10
    #: How far back the first poll of a hashtag reaches.
    lookback: timedelta = timedelta(days=7)
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: When to retry after a 429 without X-RateLimit-Reset.
    rate_limit_backoff: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        check_options(self, page_size_max=40)
        if self.search and self.access_token is None:
            raise ValueError("search: status search needs an access_token")


class MastodonConnector:
    """Hashtag timelines (``#tag`` lines) and status searches (other lines) on one instance."""

    platform: ClassVar[str] = "mastodon"
    Options: ClassVar[type] = MastodonOptions

    def __init__(self, options: MastodonOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        """A ``#hashtag`` line per brand term (spaces dropped); with ``search``, a search line per term too."""
        tags = ["#" + "".join(ch for ch in t.strip().lstrip("@#") if ch.isalnum() or ch == "_") for t in brand.terms()]
        lines = [t for t in dict.fromkeys(tags) if len(t) > 1]
        if self.options.search:
            lines += search_terms(brand)
        return "\n".join(lines)

    def fetch(self, query: str, cursor: str | None) -> Batch:
        lines = query_lines(query, self.platform)
        if any(not line.startswith("#") for line in lines) and self.options.access_token is None:
            raise AuthError("mastodon: status search (query lines without #) needs an access_token")
        before = decode_cursor(cursor, self.platform)
        after: dict[str, str] = {}
        found: dict[str, Mention] = {}
        with self._client() as http:
            for line in lines:
                since = before.get(line) if isinstance(before.get(line), str) else None
                read = self._timeline if line.startswith("#") else self._search
                newest = read(http, line, since, found)
                if newest:
                    after[line] = newest
            requests = http.requests
        return Batch(list(found.values()), encode_cursor(after) if after != before else None, requests)

    def _client(self) -> HttpClient:
        o = self.options
        headers = {"Authorization": f"Bearer {o.access_token.reveal()}"} if o.access_token else {}
        return HttpClient(self.platform, o.base_url, o.timeout, backoff=o.rate_limit_backoff,
                          secret=o.access_token, headers=headers, classify=self._classify)

    # ------------------------------------------------------------- listings
    def _timeline(self, http: HttpClient, line: str, since: str | None, found: dict[str, Mention]) -> str | None:
        o = self.options
        tag = line.lstrip("#")
        params: dict[str, Any] = {"limit": o.page_size}
        if o.local:
            params["local"] = "true"
        if since:
            params["min_id"] = since
        floor = datetime.now(timezone.utc) - o.lookback
        newest = since
        target: str | None = TAG_TIMELINE + quote(tag, safe="")
        for _page in range(o.max_pages):
            assert target is not None
            try:
                response = http.get(target, params=params)
            except _UnknownTag:
                log.info("mastodon: %s: no such hashtag on %s yet", line, o.base_url)
                return newest
            statuses = _statuses(http.json(response), target)
            if not statuses:
                return newest
            for status in statuses:
                newest = _max_id(newest, status["id"])
                mention = _mention(status)
                if mention is not None and (since or mention.created_at >= floor):
                    found.setdefault(mention.id, mention)
            oldest = mention  # the last status of the page
            if not since and oldest is not None and oldest.created_at < floor:
                return newest  # a first poll reads back only as far as lookback
            link = response.links.get("prev" if since else "next", {}).get("url")
            if not link:
                return newest
            target, params = link, {}
        log.warning("mastodon: %s: stopped after %d pages (max_pages); %s", line, o.max_pages,
                    "newer posts follow next poll" if since else "older posts are skipped")
        return newest

    def _search(self, http: HttpClient, line: str, since: str | None, found: dict[str, Mention]) -> str | None:
        """Search results are not in time order: read every page of results above ``since``."""
        o = self.options
        newest = since
        for page in range(o.max_pages):
            params: dict[str, Any] = {"q": line, "type": "statuses", "resolve": "false", "limit": o.page_size,
                                      "offset": page * o.page_size}
            if since:
                params["min_id"] = since
            body = http.get_json(SEARCH, params=params)
            statuses = _statuses(body.get("statuses") if isinstance(body, Mapping) else None, SEARCH)
            for status in statuses:
                if since and not _newer(status["id"], since):
                    continue
                newest = _max_id(newest, status["id"])
                mention = _mention(status)
                if mention is not None:
                    found.setdefault(mention.id, mention)
            if len(statuses) < o.page_size:
                return newest
        log.warning("mastodon: search %r: stopped after %d pages (max_pages)", line, o.max_pages)
        return newest

    def _classify(self, response: Response) -> ConnectorError | None:
        path = urlsplit(response.url).path
        if response.status_code == 404 and TAG_TIMELINE in path:
            return _UnknownTag(f"mastodon: unknown hashtag {path}")
        if response.status_code == 401 and self.options.access_token is None:
            return AuthError(
                f"mastodon: {self.options.base_url} requires an access token for {path}"
                f" (401 {error_detail(response)}); set access_token"
            )
        return None


# ---------------------------------------------------------------------- mapping
def _statuses(body: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise BadPayload(f"mastodon: {where} answered with something other than a list of statuses")
    statuses = []
    for status in body:
        if isinstance(status, dict) and isinstance(status.get("id"), str) and status["id"]:
            statuses.append(status)
        else:
            log.warning("mastodon: %s: skipping a status without id: %.200r", where, status)
    return statuses


def _id_key(status_id: str) -> tuple[int, str]:
    # Ids are numeric strings in practice but "not guaranteed to be a number": order by length, then text.
    return len(status_id), status_id


def _newer(a: str, b: str) -> bool:
    return _id_key(a) > _id_key(b)


def _max_id(current: str | None, candidate: str) -> str:
    return candidate if current is None or _newer(candidate, current) else current


def _mention(status: Mapping[str, Any]) -> Mention | None:
    post = status.get("reblog") if isinstance(status.get("reblog"), Mapping) else status
    try:
        created = parse_iso_datetime(post["created_at"])
    except (KeyError, TypeError, ValueError):
        log.warning("mastodon: skipping a status without created_at: %.200r", status.get("id"))
        return None
    account = post.get("account") if isinstance(post.get("account"), Mapping) else {}
    text = html_to_text(post.get("content") if isinstance(post.get("content"), str) else "")
    spoiler = post.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}"
    url = post.get("url") or post.get("uri")
    return Mention(
        platform="mastodon",
        id=str(post.get("uri") or post["id"]),
        text=text,
        author=_acct(account),
        url=url if isinstance(url, str) else None,
        created_at=created,
        raw=status,
        lang=post.get("language") if isinstance(post.get("language"), str) else None,
        likes=whole_number(post, "favourites_count"),
        replies=whole_number(post, "replies_count"),
        reposts=whole_number(post, "reblogs_count"),
        followers=whole_number(account, "followers_count"),
    )


def _acct(account: Mapping[str, Any]) -> str | None:
    """``user@domain`` for every author (local accounts' ``acct`` has no domain)."""
    acct = account.get("acct")
    if not isinstance(acct, str) or not acct:
        return None
    if "@" not in acct and isinstance(account.get("url"), str):
        host = urlsplit(account["url"]).hostname
        if host:
            return f"{acct}@{host}"
    return acct
