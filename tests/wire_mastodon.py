"""A fake Mastodon instance: hashtag timelines and status search, as Mastodon 4.x answers.

Timelines are bare JSON arrays of Status objects, newest first, with
``min_id`` (the page just above, still newest first), ``max_id``,
``since_id`` and ``limit`` (max 40); ``Link`` names the next (older) and prev
(newer) pages on the instance's public host and is omitted for an empty page.
Every answer carries ``X-RateLimit-Limit/Remaining/Reset`` (ISO 8601 with
microseconds); a 429 is ``{"error": "Too many requests"}``. Search answers
``{"accounts", "statuses", "hashtags"}`` and needs a token.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
import random
from itertools import count
from typing import Any
from urllib.parse import urlencode

from fakeapi import FakeApi
from fakeserver import FakeServer, Reply, Request

INSTANCE = "https://mastodon.example"  # the host the instance writes in Link headers
TOKEN = "masto-access-token"
TAG = "acme"
TIMELINE = f"/api/v1/timelines/tag/{TAG}"
SEARCH = "/api/v2/search"
_sequence = count(1)


def account(username: str = "alice", *, domain: str | None = None, followers: int = 120) -> dict[str, Any]:
    host = domain or "mastodon.example"
    return {
        "id": str(109302 + next(_sequence)), "username": username,
        "acct": f"{username}@{domain}" if domain else username, "display_name": username.title(),
        "locked": False, "bot": False, "discoverable": True, "group": False,
        "created_at": "2022-11-07T00:00:00.000Z", "note": "<p>hi</p>",
        "url": f"https://{host}/@{username}", "uri": f"https://{host}/users/{username}",
        "avatar": f"https://files.{host}/a.png", "avatar_static": f"https://files.{host}/a.png",
        "header": f"https://{host}/headers/original/missing.png",
        "header_static": f"https://{host}/headers/original/missing.png",
        "followers_count": followers, "following_count": 80, "statuses_count": 900,
        "last_status_at": "2026-01-11", "emojis": [], "fields": [],
    }


ALICE = account("alice")
BOB = account("bob", domain="fosstodon.org", followers=7)


def status(text: str, *, minutes_ago: float = 10, author: dict[str, Any] | None = None, likes: int = 5,
           replies: int = 2, reblogs: int = 1, spoiler: str = "", language: str | None = "en",
           drop: Iterable[str] = (), ulid: bool = False) -> dict[str, Any]:
    """A Status as the instance serves it; ``content`` is HTML. Its id is
    ``Mastodon::Snowflake.id_at(created_at)`` (milliseconds << 16, plus a sequence), as the
    instance gives a remote post: one appended after a poll with ``minutes_ago`` earlier than
    posts already served is a post federated late, with an id below theirs. ``ulid``: a
    GoToSocial id instead, the ULID of ``created_at`` (Crockford base32 of the milliseconds,
    then 80 random bits)."""
    created = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    millis = int(created.timestamp() * 1000)
    status_id = _ulid(millis) if ulid else str((millis << 16) + next(_sequence) % 65536)
    who = author or ALICE
    host = who["url"].split("/")[2]
    item: dict[str, Any] = {
        "id": status_id, "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
        "in_reply_to_id": None, "in_reply_to_account_id": None, "sensitive": bool(spoiler),
        "spoiler_text": spoiler, "visibility": "public", "language": language,
        "uri": f"https://{host}/users/{who['username']}/statuses/{status_id}",
        "url": f"https://{host}/@{who['username']}/{status_id}",
        "replies_count": replies, "reblogs_count": reblogs, "favourites_count": likes, "edited_at": None,
        "content": f'<p>{text} <a href="{INSTANCE}/tags/{TAG}" class="mention hashtag" rel="tag">#<span>{TAG}</span></a></p>',
        "reblog": None, "application": None, "account": who, "media_attachments": [], "mentions": [],
        "tags": [{"name": TAG, "url": f"{INSTANCE}/tags/{TAG}"}], "emojis": [], "card": None, "poll": None,
    }
    for key in drop:
        item.pop(key, None)
    return item


def rate_headers(remaining: int = 299, reset_in: float = 120) -> dict[str, str]:
    reset = datetime.now(timezone.utc) + timedelta(seconds=reset_in)
    return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(millis: int) -> str:
    value = (millis << 80) | random.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _order(status_id: str) -> tuple[int, str]:
    """Mastodon's id order (numbers: shorter is smaller); GoToSocial's ULIDs, all 26 characters
    long, compare as strings, as its database compares any ``min_id``."""
    return (len(status_id) if status_id.isdigit() else 0), status_id


def _key(item: dict[str, Any]) -> tuple[int, str]:
    return _order(item["id"])


class Fake(FakeApi):
    """An instance with one hashtag timeline (the shared scenarios' listing) and search."""

    platform = "mastodon"
    listing = TIMELINE
    env = {"MASTODON_TOKEN": TOKEN}
    trailing_request = True  # a timeline walk ends on an empty page: only it has no Link

    def __init__(self, server: FakeServer) -> None:
        super().__init__(server)
        self.statuses: list[dict[str, Any]] = []
        self.searchable: list[dict[str, Any]] = []
        self.remaining = 299
        server.route("GET", TIMELINE, self.guarded(self._timeline))
        server.route("GET", SEARCH, self._search)

    def _timeline(self, request: Request) -> Reply:
        p = request.params
        limit = min(int(p.get("limit", 20)), 40)
        ordered = sorted(self.statuses, key=_key, reverse=True)
        if "max_id" in p:
            ordered = [s for s in ordered if _key(s) < _order(p["max_id"])]
        if "min_id" in p:
            above = [s for s in reversed(ordered) if _key(s) > _order(p["min_id"])]
            page = list(reversed(above[:limit]))  # the oldest above min_id, newest first
        else:
            if "since_id" in p:
                ordered = [s for s in ordered if _key(s) > _order(p["since_id"])]
            page = ordered[:limit]
        headers = rate_headers(self.remaining)
        if page:
            keep = {k: v for k, v in p.items() if k in ("limit", "local", "only_media")}
            newer = f"{INSTANCE}{TIMELINE}?{urlencode({**keep, 'min_id': page[0]['id']})}"
            older = f"{INSTANCE}{TIMELINE}?{urlencode({**keep, 'max_id': page[-1]['id']})}"
            headers["Link"] = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return Reply(json=page, headers=headers)

    def _search(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, json={"error": "The access token is invalid"})
        p = request.params
        words = p.get("q", "").strip('"').lower()
        hits = [s for s in self.searchable if words in s["content"].lower()]
        if "min_id" in p:
            hits = [s for s in hits if _key(s) > _order(p["min_id"])]
        offset, limit = int(p.get("offset", 0)), int(p.get("limit", 20))
        return Reply(json={"accounts": [], "statuses": hits[offset:offset + limit], "hashtags": []},
                     headers=rate_headers())

    def source(self, name: str = "mastodon-acme", extra: str = "") -> str:
        return source_toml(self.server.url, name, f'query = "#{TAG}"\npage_size = 2\n' + extra)

    def add(self, text: str, minutes_ago: float = 10, bare: bool = False, **kwargs: Any) -> str:
        drop = ["url", "language", "replies_count", "reblogs_count", "favourites_count", "account"] if bare else []
        item = status(text, minutes_ago=minutes_ago, drop=drop, **kwargs)
        self.statuses.append(item)
        return item["uri"]

    def too_many(self, reset_in: int | None) -> Reply:
        headers = rate_headers(0, reset_in) if reset_in is not None else {}
        return Reply(429, json={"error": "Too many requests"}, headers=headers)

    def server_error(self) -> Reply:
        return Reply(500, json={"error": "We're sorry, but something went wrong on our end."})

    def malformed(self) -> Reply:
        return Reply(200, body='[{"id": "1", "content": ', content_type="application/json; charset=utf-8",
                     headers=rate_headers())


def source_toml(base_url: str, name: str = "mastodon-acme", extra: str = "", *, timeout: float = 0.5) -> str:
    """A ``[[sources]]`` entry for brand Acme on the instance at ``base_url``; the token from $MASTODON_TOKEN."""
    return f"""
[[sources]]
name = "{name}"
platform = "mastodon"
brand = "Acme"
base_url = "{base_url}"
access_token = {{ env = "MASTODON_TOKEN" }}
timeout = {timeout}
rate_limit_backoff = "7m"
{extra}
"""
