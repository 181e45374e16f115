"""Fake feeds: a Google Alerts Atom feed and a news site's RSS 2.0 feed.

Google Alerts entries have a stable ``tag:google.com,2013:googlealerts/feed:N``
id, an HTML title with ``<b>`` around the matched words, a
``https://www.google.com/url?rct=j&sa=t&url=TARGET&ct=ga&...`` link, an
HTML ``content`` and an empty author. The server answers with ``ETag`` and
``Last-Modified`` and ``304 Not Modified`` when the client sends them back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from itertools import count
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from fakeapi import FakeApi
from fakeserver import FakeServer, Reply, Request

FEED_PATH = "/alerts/feeds/17849810695950872924/15842463258895766468"
FEED_URL = "https://www.google.com" + FEED_PATH
NEWS_PATH = "/rss/business.xml"
_ids = count(12501224780620368192)


def _when(minutes_ago: float) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=minutes_ago)


def alert(text: str, *, minutes_ago: float = 10, target: str | None = None, snippet: str | None = None,
          drop: Iterable[str] = ()) -> dict[str, Any]:
    """One Google Alerts entry (as data; :func:`atom` writes the XML)."""
    number = next(_ids)
    target = target or f"https://news.example.com/2026/01/story-{number}"
    link = (f"https://www.google.com/url?rct=j&sa=t&url={quote(target, safe=':/')}&ct=ga"
            "&cd=CAIyGjUwMjhiYWRmMWQ5M2MzMGE6Y29tOmVuOlVT&usg=AFQjCNGc3F9NBj810v400CL5oepfu5PTwQ")
    item = {"id": f"tag:google.com,2013:googlealerts/feed:{number}", "title": text, "link": link,
            "target": target, "when": _when(minutes_ago),
            "content": snippet if snippet is not None else f"{text} &nbsp;..."}
    for key in drop:
        item.pop(key, None)
    return item


def _bold(text: str) -> str:
    return text.replace("Acme", "<b>Acme</b>").replace("acme", "<b>acme</b>")


def atom(entries: list[dict[str, Any]], title: str = "Google Alert - acme") -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">',
             "<id>tag:google.com,2005:reader/user/17849810695950872924/state/com.google/alerts/15842463258895766468</id>",
             f"<title>{escape(title)}</title>",
             f'<link href="{FEED_URL}" rel="self"></link>',
             f"<updated>{_iso(max((e['when'] for e in entries if 'when' in e), default=_when(60)))}</updated>"]
    for e in sorted(entries, key=lambda e: e.get("when", _when(0)), reverse=True):
        parts.append("<entry>")
        if "id" in e:
            parts.append(f"<id>{escape(e['id'])}</id>")
        parts.append(f'<title type="html">{escape(_bold(e["title"]))}</title>')
        parts.append(f'<link href="{escape(e["link"], {chr(34): "&quot;"})}"></link>')
        if "when" in e:
            parts.append(f"<published>{_iso(e['when'])}</published><updated>{_iso(e['when'])}</updated>")
        if "content" in e:
            parts.append(f'<content type="html">{escape(_bold(e["content"]))}</content>')
        parts.append("<author><name></name></author></entry>")
    parts.append("</feed>")
    return "".join(parts).encode()


def rss(items: list[dict[str, Any]], title: str = "Example News: Business") -> bytes:
    """An RSS 2.0 feed of ``{"title", "link", "description", "when", "author"?}`` items."""
    out = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>',
           f"<title>{escape(title)}</title><link>https://news.example.com/</link><description>News</description>"]
    for i in items:
        out.append(f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
                   f"<description>{escape(i.get('description', ''))}</description>"
                   f"<guid isPermaLink=\"true\">{escape(i['link'])}</guid>"
                   f"<pubDate>{format_datetime(i['when'], usegmt=True)}</pubDate>"
                   + (f"<author>{escape(i['author'])}</author>" if i.get("author") else "") + "</item>")
    out.append("</channel></rss>")
    return "".join(out).encode()


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def conditional(body: bytes, content_type: str, modified: datetime) -> Any:
    """A responder serving ``body`` with its ETag and Last-Modified, and 304 when they come back."""
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    last_modified = format_datetime(modified, usegmt=True)

    def respond(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag or (
            "if-none-match" not in request.headers and request.headers.get("if-modified-since") == last_modified
        ):
            return Reply(304, headers={"ETag": etag})
        return Reply(200, body=body, content_type=content_type, headers={"ETag": etag, "Last-Modified": last_modified})

    return respond


class Fake(FakeApi):
    """A Google Alerts feed on the real feed path; requests to it are conditional."""

    platform = "rss"
    listing = FEED_PATH
    paged = False

    def __init__(self, server: FakeServer, path: str = FEED_PATH) -> None:
        super().__init__(server)
        self.listing = path
        self.entries: list[dict[str, Any]] = []
        server.route("GET", path, self.guarded(self._feed))

    def _feed(self, request: Request) -> Reply:
        newest = max((e["when"] for e in self.entries if "when" in e), default=_when(60))
        return conditional(atom(self.entries), "application/atom+xml; charset=utf-8", newest)(request)

    def source(self, name: str = "alerts-acme", extra: str = "") -> str:
        return source_toml(self.server.url, name, extra)

    def add(self, text: str, minutes_ago: float = 10, bare: bool = False, **kwargs: Any) -> str:
        item = alert(text, minutes_ago=minutes_ago, drop=["id", "when", "content"] if bare else [], **kwargs)
        self.entries.append(item)
        return item.get("id") or item["link"]

    def too_many(self, reset_in: int | None) -> Reply:
        headers = {"Retry-After": format_datetime(datetime.now(timezone.utc) + timedelta(seconds=reset_in), usegmt=True)} \
            if reset_in is not None else {}
        return Reply(429, body="<html><title>429 Too Many Requests</title></html>", content_type="text/html",
                     headers=headers)

    def server_error(self) -> Reply:
        return Reply(500, body="<html><title>500 Server Error</title></html>", content_type="text/html")

    def malformed(self) -> Reply:
        return Reply(200, body="<!DOCTYPE html><html><head><title>Sign in</title></head><body><p>Sign in to continue",
                     content_type="text/html; charset=utf-8")


def source_toml(base_url: str, name: str = "alerts-acme", extra: str = "", url: str = FEED_URL) -> str:
    """A ``[[sources]]`` entry for the Acme alert's feed, fetched from ``base_url``."""
    return f"""
[[sources]]
name = "{name}"
platform = "rss"
brand = "Acme"
url = "{url}"
base_url = "{base_url}"
timeout = 0.5
rate_limit_backoff = "7m"
{extra}
"""
