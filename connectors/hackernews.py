"""Hacker News stories and comments through the Algolia HN Search API (no account needed).

Each query line is one ``search_by_date`` (newest first) from ``OVERLAP``
before the newest ``created_at_i`` seen: ``numericFilters=created_at_i>=T``,
paged with ``page`` until ``nbPages``, the page budget or Algolia's 1,000-hit
cap (the newest 1,000 are read; older hits are skipped, with a warning).
Algolia indexes some items after newer ones, so the overlap re-reads the last
15 minutes, and the objectIDs seen in them keep those hits from being served
twice. The cursor maps each line to a :class:`~connectors.watermark.Watermark`
(as Bluesky's does). Matching is Algolia's: typo-tolerant full text over
title, URL, author and text; quote phrases.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from connectors.base import (
    BadPayload,
    Batch,
    BrandQuery,
    Mention,
    decode_cursor,
    encode_cursor,
    query_lines,
    utc_from_timestamp,
    whole_number,
)
from connectors.http import HttpClient, check_options
from connectors.markup import html_to_text
from connectors.matching import search_terms
from connectors.watermark import Watermark, read_lines

log = logging.getLogger(__name__)

SEARCH = "/api/v1/search_by_date"
ITEM_URL = "https://news.ycombinator.com/item?id="
HIT_CAP = 1000  # Algolia serves at most this many hits of one query
OVERLAP = timedelta(minutes=15)  # items indexed late still show up; their objectIDs dedupe them


@dataclass(frozen=True)
class HackerNewsOptions:
    #: What to search: Algolia tags; "(story,comment)" is stories or comments.
    tags: str = "(story,comment)"
    #: Hits per request (Algolia allows up to 1,000).
    page_size: int = 100
    #: Page budget per query line per poll.
    max_pages: int = 10
    #: How far back the first poll reaches.
    lookback: timedelta = timedelta(days=7)
    #: The API host.
    base_url: str = "https://hn.algolia.com"
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: When to retry after a 429 without Retry-After (Algolia allows 10,000 requests an hour per IP).
    rate_limit_backoff: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        check_options(self, page_size_max=HIT_CAP)


class HackerNewsConnector:
    """Stories and comments matching each query line, incremental by ``created_at_i``."""

    platform: ClassVar[str] = "hackernews"
    Options: ClassVar[type] = HackerNewsOptions
    needs_query: ClassVar[bool] = True  # it only searches: a brand or a query is needed

    def __init__(self, options: HackerNewsOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        """One search line per brand term (Algolia ANDs the words of a query)."""
        return "\n".join(search_terms(brand))

    def fetch(self, query: str, cursor: str | None) -> Batch:
        lines = query_lines(query, self.platform)
        o = self.options
        before = decode_cursor(cursor, self.platform)
        found: dict[str, Mention] = {}
        floor = int((datetime.now(timezone.utc) - o.lookback).timestamp())
        with HttpClient(self.platform, o.base_url, o.timeout, backoff=o.rate_limit_backoff) as http:
            after = read_lines(lines, before, lambda line, mark: self._search(http, line, mark, found),
                               overlap=OVERLAP.total_seconds(), floor=floor)
            requests = http.requests
        return Batch(list(found.values()), encode_cursor(after) if after != before else None, requests)

    def _search(self, http: HttpClient, line: str, mark: Watermark, found: dict[str, Mention]) -> None:
        o = self.options
        since = mark.since()
        params: dict[str, Any] = {"query": line, "tags": o.tags, "hitsPerPage": o.page_size}
        if since is not None:
            params["numericFilters"] = f"created_at_i>={int(since)}"
        for page in range(o.max_pages):
            body = http.get_json(SEARCH, params={**params, "page": page})
            hits = body.get("hits") if isinstance(body, Mapping) else None
            if not isinstance(hits, list):
                raise BadPayload(f"hackernews: {SEARCH} answered without a hits list")
            for hit in hits:
                mention = _mention(hit)
                if mention is None:
                    continue
                at = mention.created_at.timestamp()
                if mark.take(mention.id, at):
                    found.setdefault(mention.id, mention)
            # Checked after the page, before nbPages: Algolia's nbPages stops at the cap too,
            # so this is where the hits past it are known to be skipped.
            if (page + 1) * o.page_size >= HIT_CAP:
                total = whole_number(body, "nbHits")
                if total is None or total > HIT_CAP:
                    log.warning("hackernews: %r: Algolia serves 1,000 hits per query; older ones are skipped", line)
                return
            pages = body.get("nbPages")
            if not hits or not isinstance(pages, int) or page + 1 >= pages:
                return
        log.warning("hackernews: %r: stopped after %d pages (max_pages); older matching items are skipped",
                    line, o.max_pages)


def _mention(hit: Any) -> Mention | None:
    if not isinstance(hit, Mapping) or not hit.get("objectID"):
        log.warning("hackernews: skipping a hit without objectID: %.200r", hit)
        return None
    created = hit.get("created_at_i")
    if isinstance(created, int) and not isinstance(created, bool):
        created_at = utc_from_timestamp(created)
    else:
        log.warning("hackernews: skipping hit %s without created_at_i", hit["objectID"])
        return None
    tags = hit.get("_tags") if isinstance(hit.get("_tags"), list) else []
    is_comment = "comment" in tags or (hit.get("comment_text") is not None and hit.get("title") is None)
    if is_comment:
        text = html_to_text(hit.get("comment_text"))
    else:
        title = hit.get("title") if isinstance(hit.get("title"), str) else ""
        body = html_to_text(hit.get("story_text"))
        text = f"{title}\n\n{body}" if body else title
    author = hit.get("author")
    return Mention(
        platform="hackernews",
        id=str(hit["objectID"]),
        text=text,
        author=author if isinstance(author, str) and author else None,
        url=ITEM_URL + str(hit["objectID"]),
        created_at=created_at,
        raw=hit,
        likes=whole_number(hit, "points"),
        replies=None if is_comment else whole_number(hit, "num_comments"),
    )
