"""The Meta Graph API wire format shared by Facebook and Instagram, as the real API writes it.

Edges answer ``{"data": [...], "paging": {"cursors": {"before", "after"},
"next": URL}}`` newest first, with ``next`` an absolute URL on the real host
(graph.facebook.com) and absent on the last page. Graph applies ``limit``
before it drops the items the token may not see (privacy filtering), so a page
may hold fewer items than asked, or none, and still have a ``next``; times are
``2026-01-11T07:14:00+0000``; errors are ``{"error": {"message", "type",
"code", "error_subcode", "fbtrace_id"}}``, usually on HTTP 400, and the usage
headers are JSON strings of percentages.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any
from urllib.parse import urlencode

from fakeserver import Reply, Request

HOST = "https://graph.facebook.com"
VERSION = "v26.0"
_ids = count(1000)


def next_id() -> int:
    return next(_ids)


def at(minutes_ago: float) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=minutes_ago)


def graph_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S+0000")


def unix(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def _token(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    return int(base64.b64decode(token + "=" * (-len(token) % 4)).decode().split(":")[1])


def error(code: int, message: str, *, status: int = 400, subcode: int | None = None,
          transient: bool | None = None, headers: Mapping[str, str] | None = None,
          kind: str = "OAuthException") -> Reply:
    body: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK123"}
    if subcode is not None:
        body["error_subcode"] = subcode
    if transient is not None:
        body["is_transient"] = transient
    return Reply(status, json={"error": body}, headers=dict(headers or {}))


def usage(object_id: str, *, kind: str = "pages", calls: int = 95, minutes: int = 0) -> dict[str, str]:
    """The business-use-case usage header (percentages; the wait in minutes)."""
    value = {object_id: [{"type": kind, "call_count": calls, "total_cputime": 20, "total_time": 22,
                          "estimated_time_to_regain_access": minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(value)}


INVALID_TOKEN = (190, "Error validating access token: Session has expired on Sunday, 11-Jan-26 07:00:00 PST.")
UNKNOWN_ERROR = (1, "An unknown error occurred")
PAGE_LIMIT = (80001, "(#80001) There have been too many calls to this Page account. Wait a bit and try again."
                     " For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.")
APP_LIMIT = (4, "(#4) Application request limit reached")
DEPRECATED = (12, "(#12) This endpoint is deprecated since the version v22.0")
NO_PERMISSION = (10, "(#10) This endpoint requires the 'pages_read_engagement' permission")


def edge(path: str, items: Callable[[], list[dict[str, Any]]], token: str, *, time_key: str = "created_time",
         since: bool = True, headers: Callable[[], Mapping[str, str]] = dict,
         newest_first: bool = True,
         hidden: Callable[[Mapping[str, Any]], bool] = lambda item: False) -> Callable[[Request], Reply]:
    """A responder for an edge listing ``items()`` newest (or oldest) first, honouring ``since``
    (when the edge has it), ``limit`` and ``after``; it checks the Bearer token. Items ``hidden``
    accepts are privacy-filtered: they take their place in a page, then are left out of it."""

    def respond(request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {token}":
            return error(*INVALID_TOKEN, subcode=463)
        params = request.params
        limit = int(params.get("limit", 25))
        ordered = sorted(items(), key=lambda i: unix(i[time_key]), reverse=newest_first)
        if since and "since" in params:
            ordered = [i for i in ordered if unix(i[time_key]) >= int(params["since"])]
        offset = _offset(params["after"]) if "after" in params else 0
        window = ordered[offset:offset + limit]
        body: dict[str, Any] = {"data": [i for i in window if not hidden(i)]}
        if window:
            body["paging"] = {"cursors": {"before": _token(offset), "after": _token(offset + len(window))}}
            if offset + limit < len(ordered):
                rest = {k: v for k, v in params.items() if k != "after"}
                body["paging"]["next"] = f"{HOST}{path}?{urlencode({**rest, 'after': _token(offset + limit)})}"
        return Reply(json=body, headers=dict(headers()))

    return respond
