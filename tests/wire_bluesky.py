"""A fake Bluesky PDS: createSession, refreshSession and app.bsky.feed.searchPosts.

Sessions hand out JWT-shaped tokens with an ``exp``; an expired access token
gets 400 ``{"error": "ExpiredToken"}`` as the PDS answers. searchPosts
answers ``{"posts": [postView...], "cursor"?, "hitsTotal"}`` latest first,
honouring ``q``, ``since`` (inclusive, on sortAt), ``limit`` and the offset
``cursor`` (absent on the last page). Every answer carries ``RateLimit-*``
headers (reset as a Unix time); a 429 adds ``Retry-After``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

from connectors import bluesky
from fakeapi import FakeApi
from fakeserver import FakeServer, Reply, Request

HANDLE = "acme-monitor.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
_sequence = count(1)


def jwt(subject: str, expires_in: float, kind: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"scope": kind, "sub": subject, "iat": int(time.time()), "exp": int(time.time() + expires_in),
              "jti": str(next(_sequence))}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def post(text: str, *, minutes_ago: float = 10, handle: str = "alice.bsky.social", did: str = "did:plc:alice123",
         likes: int = 3, replies: int = 1, reposts: int = 2, quotes: int = 1, indexed_later: float = 1.0,
         drop: Iterable[str] = ()) -> dict[str, Any]:
    created = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    rkey = f"3lfh{next(_sequence):09d}"
    item: dict[str, Any] = {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": "bafyreihp5ntr2yl4p5m5xk7yrlt5ht3tpl3ncnl4jnkyuxqh3v6qz3vx4a",
        "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0].title(),
                   "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkrei@jpeg", "labels": [],
                   "createdAt": "2023-04-20T10:00:00.000Z"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": iso(created), "langs": ["en"]},
        "replyCount": replies, "repostCount": reposts, "likeCount": likes, "quoteCount": quotes,
        "bookmarkCount": 0, "indexedAt": iso(created + timedelta(seconds=indexed_later)), "labels": [],
    }
    for key in drop:
        item.pop(key, None)
    return item


def _sort_at(item: dict[str, Any]) -> float:
    times = [item["indexedAt"]] + ([item["record"]["createdAt"]] if "createdAt" in item.get("record", {}) else [])
    return min(datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() for t in times)


def rate_headers(remaining: int = 2999, reset_in: int = 300) -> dict[str, str]:
    return {"RateLimit-Limit": "3000", "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(int(time.time()) + reset_in), "RateLimit-Policy": "3000;w=300"}


def xrpc_error(status: int, name: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json={"error": name, "message": message}, headers=headers or {})


class Fake(FakeApi):
    """A PDS that logs in one account and searches posts (the shared scenarios' listing)."""

    platform = "bluesky"
    listing = SEARCH
    env = {"BLUESKY_APP_PASSWORD": APP_PASSWORD}

    def __init__(self, server: FakeServer, access_lifetime: float = 7200) -> None:
        super().__init__(server)
        bluesky.forget_sessions()  # a session from another test's fake must not leak in
        self.posts: list[dict[str, Any]] = []
        self.access_lifetime = access_lifetime
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.expired: set[str] = set()
        server.route("POST", CREATE, self._create)
        server.route("POST", REFRESH, self._refresh)
        server.route("GET", SEARCH, self.guarded(self._search))

    def _issue(self) -> Reply:
        access, refresh = jwt(DID, self.access_lifetime, "com.atproto.access"), jwt(DID, 86400 * 60, "com.atproto.refresh")
        self.access.add(access)
        self.refresh.add(refresh)
        return Reply(json={"did": DID, "handle": HANDLE, "accessJwt": access, "refreshJwt": refresh,
                           "email": "support@acme.example", "emailConfirmed": True, "active": True},
                     headers=rate_headers())

    def _create(self, request: Request) -> Reply:
        body = json.loads(request.body or b"{}")
        if body.get("identifier") != HANDLE or body.get("password") != APP_PASSWORD:
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._issue()

    def _refresh(self, request: Request) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.refresh or token in self.expired:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        self.refresh.discard(token)
        return self._issue()

    def expire_all(self) -> None:
        """Every token issued so far expires (access and refresh)."""
        self.expired |= self.access | self.refresh

    def expire_access(self) -> None:
        self.expired |= self.access

    def _search(self, request: Request) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token in self.expired:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        if token not in self.access:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        p = request.params
        words = p.get("q", "").strip('"').lower()
        hits = sorted((x for x in self.posts if words in x.get("record", {}).get("text", "").lower()),
                      key=_sort_at, reverse=True)
        if "since" in p:
            since = datetime.strptime(p["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
            hits = [x for x in hits if _sort_at(x) >= since]
        offset, limit = int(p.get("cursor", 0)), int(p.get("limit", 25))
        body: dict[str, Any] = {"posts": hits[offset:offset + limit], "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        return Reply(json=body, headers=rate_headers())

    def source(self, name: str = "bluesky-acme", extra: str = "") -> str:
        return source_toml(self.server.url, name, 'query = "acme"\npage_size = 2\n' + extra)

    def add(self, text: str, minutes_ago: float = 10, bare: bool = False, **kwargs: Any) -> str:
        drop = ["replyCount", "repostCount", "likeCount", "quoteCount", "author", "bookmarkCount"] if bare else []
        item = post(text, minutes_ago=minutes_ago, drop=drop, **kwargs)
        self.posts.append(item)
        return item["uri"]

    def too_many(self, reset_in: int | None) -> Reply:
        headers = {**rate_headers(0, reset_in), "Retry-After": str(reset_in)} if reset_in is not None else {}
        return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)

    def server_error(self) -> Reply:
        return xrpc_error(500, "InternalServerError", "Internal Server Error")

    def malformed(self) -> Reply:
        return Reply(200, body='{"posts": [{"uri": "at://', content_type="application/json; charset=utf-8")


def source_toml(base_url: str, name: str = "bluesky-acme", extra: str = "") -> str:
    """A ``[[sources]]`` entry for brand Acme at the PDS ``base_url``; the app password from $BLUESKY_APP_PASSWORD."""
    return f"""
[[sources]]
name = "{name}"
platform = "bluesky"
brand = "Acme"
handle = "{HANDLE}"
app_password = {{ env = "BLUESKY_APP_PASSWORD" }}
base_url = "{base_url}"
timeout = 0.5
rate_limit_backoff = "7m"
{extra}
"""
