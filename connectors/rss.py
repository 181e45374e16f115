"""RSS and Atom feeds (Google Alerts, news sites, review sites) with requests and feedparser.

Each poll is one conditional GET: the cursor keeps the feed's ``ETag`` and
``Last-Modified`` and sends them back (``If-None-Match``,
``If-Modified-Since``); a ``304 Not Modified`` is an empty poll. A changed
feed is parsed by feedparser from the bytes (so it sniffs the encoding) and
its entries are keyed by ``id``, else ``link``, else title and date. Feeds
are sliding windows, not logs: the cursor also keeps the keys of the entries
already served (the newest ``max_seen``), and only unseen entries become
mentions. Google Alerts' links (``https://www.google.com/url?...&url=TARGET``)
are unwrapped to the target article. With ``only_matching``, entries are kept
only when their title or summary names the query's terms (news and review
feeds carry much besides the brand).

feedparser is not asked to fetch: it has no timeout and no way to stop
following a server that hangs.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from connectors.base import (
    BadPayload,
    BadQuery,
    Batch,
    BrandQuery,
    Mention,
    decode_cursor,
    next_cursor,
    note_requests,
    utc_from_timestamp,
)
from connectors.http import USER_AGENT, HttpClient, check_options
from connectors.markup import html_to_text
from connectors.matching import boolean_query, text_matcher

log = logging.getLogger(__name__)

_REDIRECTORS = ("google.com", "www.google.com")


@dataclass(frozen=True)
class RssOptions:
    #: The feed's address, e.g. a Google Alerts feed: https://www.google.com/alerts/feeds/<user>/<alert>
    url: str
    #: Send the request to this host instead of the feed URL's (a proxy, a test server).
    base_url: str | None = None
    #: Keep only entries naming the query's terms (the brand's by default).
    only_matching: bool = False
    #: Replace Google Alerts' google.com/url redirect links by the article's own address.
    unwrap_redirects: bool = True
    #: Entry keys remembered as served; at least as many entries as the feed holds.
    max_seen: int = 1000
    #: Sent as User-Agent; some sites refuse unnamed clients.
    user_agent: str = USER_AGENT
    #: Seconds to wait for the response.
    timeout: float = 20.0
    #: When to retry after a 429 without Retry-After.
    rate_limit_backoff: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        check_options(self)
        if self.max_seen < 10:
            raise ValueError("max_seen: must be at least 10")


class RssConnector:
    """New entries of one feed, by conditional GET."""

    platform: ClassVar[str] = "rss"
    Options: ClassVar[type] = RssOptions
    takes_query: ClassVar[str] = "only_matching"  # without it the feed is read whole: a query is unused
    needs_query: ClassVar[bool] = True  # with it, the entries kept name the query's terms

    def __init__(self, options: RssOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        """The brand's terms OR-ed, NOT its exclusions (used with ``only_matching``)."""
        return boolean_query(brand)

    def fetch(self, query: str, cursor: str | None) -> Batch:
        import feedparser  # lazily: start-up time matters

        o = self.options
        if o.only_matching and not query.strip():  # else the filter asked for would keep everything
            raise BadQuery("rss: only_matching = true has no terms to match: give the source a brand or a query")
        keep = text_matcher(query) if o.only_matching else None
        # The validators and seen entries belong to one feed read with one filter: another
        # url or query starts afresh (a cursor of an older version, without "for", is kept).
        scope = o.url if keep is None else f"{o.url} {query}"
        before = decode_cursor(cursor, self.platform, scope)
        headers = {}
        if isinstance(before.get("etag"), str):
            headers["If-None-Match"] = before["etag"]
        if isinstance(before.get("modified"), str):
            headers["If-Modified-Since"] = before["modified"]
        parts = urlsplit(o.url)
        base = o.base_url or f"{parts.scheme}://{parts.netloc}"
        with HttpClient(self.platform, base, o.timeout, backoff=o.rate_limit_backoff,
                        user_agent=o.user_agent) as http:
            response = http.get(o.url, headers=headers)
            requests = http.requests
        if response.status_code == 304:
            return Batch([], None, requests)
        feed = feedparser.parse(
            response.content,
            response_headers={**{k.lower(): v for k, v in response.headers.items()}, "content-location": o.url},
        )
        # A feed has a version (rss20, atom10, ...) even without entries; a page without one and
        # without entries (a captive portal's XHTML, a proxy's HTML as text/xml, an empty body) is none.
        if not feed.entries and not feed.get("version"):
            error = BadPayload(f"rss: {o.url} is not an RSS or Atom feed ({feed.get('bozo_exception')})")
            note_requests(error, requests)  # raised after the client closed: mark it here
            raise error
        if feed.bozo:
            log.warning("rss: %s is not well-formed (%s); read leniently", o.url, feed.get("bozo_exception"))
        seen = [k for k in before.get("seen", []) if isinstance(k, str)] if isinstance(before.get("seen"), list) else []
        known = set(seen)
        mentions: dict[str, Mention] = {}
        keys: list[str] = []
        for entry in feed.entries:
            key = _key(entry)
            keys.append(key)
            if key in known or key in mentions:
                continue
            mention = _mention(entry, key, o.unwrap_redirects)
            if keep is None or keep(mention.text):
                mentions[key] = mention
        after = {
            "seen": list(dict.fromkeys([*keys, *seen]))[: max(o.max_seen, len(keys))],
            **{name: response.headers[header] for name, header in (("etag", "ETag"), ("modified", "Last-Modified"))
               if header in response.headers},
        }
        return Batch(list(mentions.values()), next_cursor(cursor, after, scope), requests)


def _key(entry: Mapping[str, Any]) -> str:
    for name in ("id", "link"):
        if isinstance(entry.get(name), str) and entry[name].strip():
            return entry[name].strip()
    text = f"{entry.get('title', '')}\n{entry.get('published') or entry.get('updated') or ''}"
    return "sha1:" + hashlib.sha1(text.encode()).hexdigest()


def unwrap(link: str) -> str:
    """The target of a Google redirect link (``google.com/url?...&url=TARGET``); other links as they are."""
    parts = urlsplit(link)
    if parts.hostname in _REDIRECTORS and parts.path == "/url":
        query = parse_qs(parts.query)
        for name in ("url", "q"):
            if query.get(name) and query[name][0].startswith(("http://", "https://")):
                return query[name][0]
    return link


def _mention(entry: Mapping[str, Any], key: str, unwrap_redirects: bool) -> Mention:
    title = html_to_text(entry.get("title"))
    summary = html_to_text(entry.get("summary"))
    text = title if not summary or summary == title else f"{title}\n\n{summary}" if title else summary
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    created = utc_from_timestamp(calendar.timegm(when)) if when else datetime.now(timezone.utc)
    link = entry.get("link") if isinstance(entry.get("link"), str) else None
    author = entry.get("author")
    return Mention(
        platform="rss",
        id=key,
        text=text,
        author=author if isinstance(author, str) and author.strip() else None,
        url=unwrap(link) if link and unwrap_redirects else link,
        created_at=created,
        raw=dict(entry),
    )
