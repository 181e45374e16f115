"""The X API v2 recent-search wire format, as the real API writes it.

Shapes follow X's documentation and tweepy's recorded cassettes: ids are
decimal strings, times ISO 8601 with milliseconds, authors in
``includes.users``, paging in ``meta``, an empty result is only ``meta``,
errors are problem+json, and every response carries the rate-limit headers.
A post longer than 280 characters has its ``text`` cut and its whole text in
``note_tweet.text``; like every optional field, ``note_tweet`` is only sent
when ``tweet.fields`` asks for it (:func:`as_asked`, applied by :func:`by_token`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from fakeserver import Reply, Request

SEARCH = "/2/tweets/search/recent"
_EPOCH_MS = 1288834974657
DEFAULT_FIELDS = ("id", "text", "edit_history_tweet_ids")  # sent whatever tweet.fields says
SHORT = 280  # longer posts are notes: ``text`` holds the start, ``note_tweet.text`` the whole


def post_id(at: datetime, sequence: int = 0) -> str:
    """A snowflake id for a post made at ``at`` (X ids carry their time)."""
    return str(((int(at.timestamp() * 1000) - _EPOCH_MS) << 22) + sequence)


def post(
    text: str,
    *,
    minutes_ago: float = 10,
    sequence: int = 0,
    author_id: str = "2244994945",
    likes: int = 12,
    replies: int = 1,
    retweets: int = 3,
    quotes: int = 1,
    lang: str = "en",
    drop: Iterable[str] = (),
) -> dict[str, Any]:
    """One post as recent search returns it with every field asked; ``drop`` removes keys."""
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    pid = post_id(at, sequence)
    data: dict[str, Any] = {
        "id": pid,
        "text": text if len(text) <= SHORT else text[:SHORT - 1] + "…",
        "edit_history_tweet_ids": [pid],
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lang": lang,
        "author_id": author_id,
        "conversation_id": pid,
        "public_metrics": {
            "retweet_count": retweets, "reply_count": replies, "like_count": likes,
            "quote_count": quotes, "bookmark_count": 0, "impression_count": 950,
        },
    }
    if len(text) > SHORT:
        data["note_tweet"] = {"text": text}
    for key in drop:
        data.pop(key, None)
    return data


def as_asked(reply: Reply, request: Request) -> Reply:
    """``reply`` with each post cut to the default fields and those ``tweet.fields`` asks for."""
    body = reply.json
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        return reply
    asked = {*DEFAULT_FIELDS, *request.params.get("tweet.fields", "").split(",")}
    posts = [{k: v for k, v in p.items() if k in asked} if isinstance(p, Mapping) else p for p in body["data"]]
    return dataclasses.replace(reply, json={**body, "data": posts})


def user(id: str = "2244994945", username: str = "jane_doe", followers: int = 600) -> dict[str, Any]:
    return {
        "id": id, "name": username.title(), "username": username,
        "public_metrics": {"followers_count": followers, "following_count": 20, "tweet_count": 400,
                           "listed_count": 3, "like_count": 2000},
    }


def page(posts: list[dict[str, Any]], users: Iterable[Mapping[str, Any]] = (), next_token: str | None = None,
         errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A search page, newest first as X sends it; without posts, only ``meta``."""
    if not posts:
        return {"meta": {"result_count": 0}}
    ordered = sorted(posts, key=lambda p: int(p["id"]), reverse=True)
    body: dict[str, Any] = {"data": ordered}
    if users:
        body["includes"] = {"users": list(users)}
    if errors:
        body["errors"] = errors
    body["meta"] = {"newest_id": ordered[0]["id"], "oldest_id": ordered[-1]["id"], "result_count": len(ordered)}
    if next_token:
        body["meta"]["next_token"] = next_token
    return body


def rate_headers(remaining: int = 447, reset_in: int = 900) -> dict[str, str]:
    return {"x-rate-limit-limit": "450", "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time()) + reset_in)}


def ok(body: Mapping[str, Any], **rate: int) -> Reply:
    return Reply(200, json=dict(body), headers=rate_headers(**rate))


def problem(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json=dict(body), headers=headers if headers is not None else rate_headers(),
                 content_type="application/problem+json")


def too_many(reset_in: int | None = 600) -> Reply:
    """429; ``reset_in=None``: without the rate-limit headers."""
    headers = rate_headers(remaining=0, reset_in=reset_in) if reset_in is not None else {}
    return problem(429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                         "type": "about:blank", "status": 429}, headers)


UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
CLIENT_FORBIDDEN = {
    "client_id": "12345678",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens"
              " from a Twitter developer App that is attached to a Project. You can create a project via"
              " the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden", "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled", "type": "https://api.twitter.com/2/problems/client-forbidden",
}
USAGE_CAPPED = {"account_id": 1, "product_name": "standard-basic", "title": "UsageCapExceeded",
                "period": "Monthly", "scope": "Product", "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped"}
SERVER_ERROR = {"title": "Internal Server Error", "detail": "boom", "type": "about:blank", "status": 500}


def by_token(pages: Mapping[str | None, Reply]) -> Any:
    """A responder choosing the page by the request's ``next_token`` (None: the first),
    its posts with only the fields asked for."""

    def respond(request: Request) -> Reply:
        token = request.params.get("next_token")
        if token in pages:
            return as_asked(pages[token], request)
        return problem(400, {"title": "Invalid Request", "detail": f"bad next_token {token}",
                             "type": "https://api.twitter.com/2/problems/invalid-request"})

    return respond


def source_toml(base_url: str, name: str = "x-acme", extra: str = "", *, timeout: float = 0.5) -> str:
    """A ``[[sources]]`` entry for brand Acme pointed at ``base_url``; the token from $X_BEARER_TOKEN."""
    return f"""
[[sources]]
name = "{name}"
platform = "x"
brand = "Acme"
bearer_token = {{ env = "X_BEARER_TOKEN" }}
base_url = "{base_url}"
timeout = {timeout}
{extra}
"""
