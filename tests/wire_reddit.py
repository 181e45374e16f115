"""Reddit's OAuth wire format, as the real API writes it.

The token endpoint (``POST /api/v1/access_token``, HTTP Basic with the app's
id and secret, ``grant_type=client_credentials``) and Listings
(``{"kind": "Listing", "data": {"after", "children": [{"kind": "t3"|"t1",
"data": {...}}]}}``) with the ``x-ratelimit-*`` headers (``reset`` in seconds
from now). Shapes follow praw's recorded cassettes. Reddit may reject a token
before its ``expires_in`` (401 ``invalid_token``): :class:`Tokens` issues a new
token per grant and can revoke the ones issued so far.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Iterable, Mapping
from typing import Any

from fakeserver import FakeServer, Reply, Request

TOKEN_PATH = "/api/v1/access_token"
CLIENT_ID, CLIENT_SECRET = "test-client-id", "test-client-secret"
ACCESS_TOKEN = "fake-access-token-123"
_ids = iter(range(10**6, 10**7))


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def post(title: str, *, minutes_ago: float = 10, sub: str = "all", selftext: str = "", author: str = "alice",
         score: int = 10, num_comments: int = 2, drop: Iterable[str] = ()) -> dict[str, Any]:
    """A submission (t3) as a listing child."""
    id_ = _base36(next(_ids))
    data = {
        "id": id_, "name": f"t3_{id_}", "title": title, "selftext": selftext, "author": author,
        "author_fullname": "t2_abc123", "created_utc": float(int(time.time() - minutes_ago * 60)),
        "permalink": f"/r/{sub}/comments/{id_}/slug/", "url": f"https://www.reddit.com/r/{sub}/comments/{id_}/slug/",
        "subreddit": sub, "subreddit_id": "t5_2qh0y", "subreddit_name_prefixed": f"r/{sub}",
        "score": score, "ups": score, "upvote_ratio": 0.97, "num_comments": num_comments, "over_18": False,
        "is_self": True, "domain": f"self.{sub}", "link_flair_text": None, "stickied": False, "locked": False,
        "edited": False, "distinguished": None,
    }
    for key in drop:
        data.pop(key, None)
    return {"kind": "t3", "data": data}


def comment(body: str, *, minutes_ago: float = 10, sub: str = "all", author: str = "bob", score: int = 1,
            drop: Iterable[str] = ()) -> dict[str, Any]:
    """A comment (t1) as a listing child."""
    id_ = _base36(next(_ids))
    data = {
        "id": id_, "name": f"t1_{id_}", "body": body, "author": author, "author_fullname": "t2_def456",
        "created_utc": float(int(time.time() - minutes_ago * 60)), "link_id": "t3_1hxyz01", "parent_id": "t3_1hxyz01",
        "permalink": f"/r/{sub}/comments/1hxyz01/slug/{id_}/", "link_title": "Parent post title",
        "link_permalink": f"https://www.reddit.com/r/{sub}/comments/1hxyz01/slug/", "subreddit": sub,
        "subreddit_id": "t5_2qh0y", "score": score, "ups": score, "replies": "", "edited": False,
        "distinguished": None, "stickied": False, "is_submitter": False, "controversiality": 0,
    }
    for key in drop:
        data.pop(key, None)
    return {"kind": "t1", "data": data}


def listing(children: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    """A Listing page, newest first as Reddit sends it."""
    ordered = sorted(children, key=lambda c: c["data"].get("created_utc", 0), reverse=True)
    return {"kind": "Listing", "data": {"after": after, "dist": len(ordered), "modhash": "", "geo_filter": None,
                                        "children": ordered, "before": None}}


def rate_headers(remaining: float = 995.0, used: int = 5, reset: int = 412) -> dict[str, str]:
    return {"x-ratelimit-remaining": f"{remaining:.1f}", "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(reset)}


def ok(body: Mapping[str, Any], **rate: Any) -> Reply:
    return Reply(200, json=dict(body), headers=rate_headers(**rate))


def error(status: int, headers: Mapping[str, str] | None = None) -> Reply:
    messages = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
                500: "Internal Server Error", 503: "Service Unavailable"}
    return Reply(status, json={"message": messages.get(status, "Error"), "error": status},
                 headers=dict(headers) if headers is not None else rate_headers())


def token(request: Request) -> Reply:
    """The token endpoint: checks the Basic credentials and the grant type as Reddit does."""
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    if request.headers.get("authorization") != expected:
        return Reply(401, json={"message": "Unauthorized", "error": 401})
    if request.form.get("grant_type") != "client_credentials":
        return Reply(200, json={"error": "unsupported_grant_type"})
    return Reply(200, json={"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"})


class Tokens:
    """The token endpoint with the tokens it issued: ``ACCESS_TOKEN`` until :meth:`revoke`,
    which makes Reddit reject every token issued so far; each later grant is a new token."""

    def __init__(self, server: FakeServer) -> None:
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        server.route("POST", TOKEN_PATH, self._grant)

    def _grant(self, request: Request) -> Reply:
        reply = token(request)
        if "access_token" not in reply.json:
            return reply
        new = f"{ACCESS_TOKEN}-{len(self.issued) + 1}" if self.revoked else ACCESS_TOKEN
        self.issued.append(new)
        return dataclasses.replace(reply, json={**reply.json, "access_token": new})

    def revoke(self) -> None:
        self.revoked.update(self.issued)

    def valid(self, request: Request) -> bool:
        bearer = request.headers.get("authorization", "").removeprefix("bearer ")
        return bearer in self.issued and bearer not in self.revoked


def serve_token(server: FakeServer) -> Tokens:
    return Tokens(server)


def authorized(reply: Reply, tokens: Tokens | None = None) -> Any:
    """A responder that answers ``reply`` only to a bearer token the endpoint issued and did not
    revoke (without ``tokens``: ``ACCESS_TOKEN``); else 401, as Reddit does."""

    def respond(request: Request) -> Reply:
        ok = tokens.valid(request) if tokens is not None else (
            request.headers.get("authorization") == f"bearer {ACCESS_TOKEN}")
        if not ok:
            return error(401, {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        return reply

    return respond


def search_path(scope: str = "all") -> str:
    return f"/r/{scope}/search/"


def comments_path(sub: str) -> str:
    return f"/r/{sub}/comments/"


USER_AGENT = "python:com.example.monitor:v1.0 (by /u/tester)"


def source_toml(base_url: str, name: str = "reddit-acme", extra: str = "") -> str:
    """A ``[[sources]]`` entry for brand Acme with both hosts at ``base_url``; credentials
    from $REDDIT_CLIENT_ID and $REDDIT_CLIENT_SECRET."""
    return f"""
[[sources]]
name = "{name}"
platform = "reddit"
brand = "Acme"
client_id = {{ env = "REDDIT_CLIENT_ID" }}
client_secret = {{ env = "REDDIT_CLIENT_SECRET" }}
user_agent = "{USER_AGENT}"
base_url = "{base_url}"
auth_url = "{base_url}"
timeout = 0.5
{extra}
"""
