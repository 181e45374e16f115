"""A fake Algolia HN Search API: ``/api/v1/search_by_date``, as hn.algolia.com answers.

Hits are newest first with string ``objectID``s, ``created_at_i`` Unix
times, HTML ``comment_text``/``story_text``, ``points`` null on comments;
``numericFilters`` (``created_at_i>=T`` / ``>T``), ``hitsPerPage`` and the
0-based ``page`` are honoured, with ``nbHits``/``nbPages`` in the envelope;
only the first 1,000 hits of a query are served (``nbPages`` counts those).
Algolia sends no rate-limit headers; errors are ``{"message", "status"}``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from itertools import count
from typing import Any

from fakeapi import FakeApi
from fakeserver import FakeServer, Reply, Request

SEARCH = "/api/v1/search_by_date"
PAGINATION_LIMIT = 1000  # Algolia's paginationLimitedTo: no hit past the first 1,000 is served, on any page
_ids = count(46571234)


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def story(title: str, *, minutes_ago: float = 10, author: str = "jdoe", points: int = 57, comments: int = 12,
          text: str | None = None, drop: Iterable[str] = ()) -> dict[str, Any]:
    object_id = next(_ids)
    created = int(time.time() - minutes_ago * 60)
    item: dict[str, Any] = {
        "_highlightResult": {"title": {"matchLevel": "full", "matchedWords": ["acme"], "value": title}},
        "_tags": ["story", f"author_{author}", f"story_{object_id}"],
        "author": author, "children": [], "created_at": _iso(created), "created_at_i": created,
        "num_comments": comments, "objectID": str(object_id), "points": points, "story_id": object_id,
        "story_text": text, "title": title, "updated_at": _iso(created),
        "url": None if text else f"https://example.com/{object_id}",
    }
    for key in drop:
        item.pop(key, None)
    return item


def comment(html: str, *, minutes_ago: float = 10, author: str = "tcas", story_id: int = 46571234,
            drop: Iterable[str] = ()) -> dict[str, Any]:
    object_id = next(_ids)
    created = int(time.time() - minutes_ago * 60)
    item: dict[str, Any] = {
        "_highlightResult": {"comment_text": {"matchLevel": "full", "matchedWords": ["acme"], "value": html}},
        "_tags": ["comment", f"author_{author}", f"story_{story_id}"],
        "author": author, "children": [], "comment_text": html, "created_at": _iso(created),
        "created_at_i": created, "objectID": str(object_id), "parent_id": story_id, "points": None,
        "story_id": story_id, "story_title": "Acme widget teardown", "story_url": "https://example.com/acme",
        "updated_at": _iso(created),
    }
    for key in drop:
        item.pop(key, None)
    return item


def _matches(hit: dict[str, Any], filters: str) -> bool:
    for op, value in re.findall(r"created_at_i(>=|<=|>|<|=)(\d+)", filters):
        t, v = hit["created_at_i"], int(value)
        if not {">=": t >= v, ">": t > v, "<=": t <= v, "<": t < v, "=": t == v}[op]:
            return False
    return True


class Fake(FakeApi):
    platform = "hackernews"
    listing = SEARCH

    def __init__(self, server: FakeServer) -> None:
        super().__init__(server)
        self.hits: list[dict[str, Any]] = []
        server.route("GET", SEARCH, self.guarded(self._search))

    def _search(self, request: Request) -> Reply:
        p = request.params
        words = p.get("query", "").strip('"').lower()
        hits = [h for h in self.hits
                if words in (h.get("title") or "").lower() + " " + (h.get("comment_text") or "").lower()
                and _matches(h, p.get("numericFilters", ""))]
        hits.sort(key=lambda h: h["created_at_i"], reverse=True)
        per_page, page = int(p.get("hitsPerPage", 20)), int(p.get("page", 0))
        reachable = hits[:PAGINATION_LIMIT]
        pages = -(-len(reachable) // per_page)
        return Reply(json={
            "hits": reachable[page * per_page:(page + 1) * per_page], "nbHits": len(hits), "page": page,
            "nbPages": pages, "hitsPerPage": per_page, "exhaustiveNbHits": True, "exhaustiveTypo": True,
            "exhaustive": {"nbHits": True, "typo": True}, "query": p.get("query", ""),
            "params": "advancedSyntax=true&analyticsTags=backend", "processingTimeMS": 2,
            "processingTimingsMS": {"_request": {"roundTrip": 20}, "total": 2}, "serverTimeMS": 3,
        })

    def source(self, name: str = "hackernews-acme", extra: str = "") -> str:
        return source_toml(self.server.url, name, 'query = "acme"\npage_size = 2\n' + extra)

    def add(self, text: str, minutes_ago: float = 10, bare: bool = False, **kwargs: Any) -> str:
        drop = ["author", "points", "num_comments", "_tags", "story_text", "url"] if bare else []
        item = story(text, minutes_ago=minutes_ago, drop=drop, **kwargs)
        self.hits.append(item)
        return item["objectID"]

    def too_many(self, reset_in: int | None) -> Reply:
        headers = {"Retry-After": str(reset_in)} if reset_in is not None else {}
        return Reply(429, json={"message": "Too many requests", "status": 429}, headers=headers)

    def server_error(self) -> Reply:
        return Reply(500, json={"message": "Internal error", "status": 500})

    def malformed(self) -> Reply:
        return Reply(200, body='{"hits": [{"objectID": "1", ', content_type="application/json; charset=UTF-8")


def source_toml(base_url: str, name: str = "hackernews-acme", extra: str = "", *, timeout: float = 0.5) -> str:
    """A ``[[sources]]`` entry for brand Acme at ``base_url`` (Algolia needs no credentials)."""
    return f"""
[[sources]]
name = "{name}"
platform = "hackernews"
brand = "Acme"
base_url = "{base_url}"
timeout = {timeout}
rate_limit_backoff = "7m"
{extra}
"""
