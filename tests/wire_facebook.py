"""A fake Facebook Page on the Graph API: feed, tagged, visitor_posts, comments, ratings.

Posts carry the fields the connector asks for (``from``, ``permalink_url``,
``shares``, reaction and comment summaries); comments ``like_count`` and
``comment_count``; ratings have no id. Items whose id is in ``Fake.private`` are
privacy-filtered out of the pages that list them. See tests/wire_graph.py for paging and errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import wire_graph as g
from fakeapi import FakeApi
from fakeserver import FakeServer, Reply

PAGE_ID = "104560302331234"
PAGE_NAME = "Acme"
TOKEN = "EAAB-fake-page-token"
JANE = {"name": "Jane Doe", "id": "7712345678901234"}
JOHN = {"name": "John Smith", "id": "6612345678901234"}
PAGE = {"name": PAGE_NAME, "id": PAGE_ID}


def path(*segments: str) -> str:
    return "/" + "/".join([g.VERSION, *segments])


def post(text: str, *, minutes_ago: float = 10, author: dict[str, str] | None = None, reactions: int = 5,
         comments: int = 2, shares: int = 1, updated_minutes_ago: float | None = None,
         drop: Iterable[str] = (), page_id: str = PAGE_ID) -> dict[str, Any]:
    created = g.at(minutes_ago)
    post_id = f"{page_id}_{122198765432100000 + g.next_id()}"
    item = {
        "id": post_id,
        "created_time": g.graph_time(created),
        "updated_time": g.graph_time(g.at(minutes_ago if updated_minutes_ago is None else updated_minutes_ago)),
        "message": text,
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id.split('_')[1]}",
        "from": dict(author or JANE),
        "shares": {"count": shares},
        "reactions": {"data": [], "summary": {"total_count": reactions, "viewer_reaction": "NONE"}},
        "comments": {"data": [], "summary": {"order": "ranked", "total_count": comments, "can_comment": True}},
    }
    for key in drop:
        item.pop(key, None)
    return item


def comment(text: str, *, post_id: str, minutes_ago: float = 10, author: dict[str, str] | None = None,
            likes: int = 2, replies: int = 0, drop: Iterable[str] = ()) -> dict[str, Any]:
    comment_id = f"{post_id.split('_')[1]}_{1234567890000000 + g.next_id()}"
    item = {
        "id": comment_id,
        "created_time": g.graph_time(g.at(minutes_ago)),
        "message": text,
        "from": dict(author or JOHN),
        "like_count": likes,
        "comment_count": replies,
        "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{post_id.split('_')[1]}?comment_id={comment_id.split('_')[1]}",
    }
    for key in drop:
        item.pop(key, None)
    return item


def rating(text: str | None, *, minutes_ago: float = 10, recommendation: str = "negative",
           reviewer: dict[str, str] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "created_time": g.graph_time(g.at(minutes_ago)),
        "recommendation_type": recommendation,
        "reviewer": dict(reviewer or JANE),
        "has_review": text is not None,
        "has_rating": False,
    }
    if text is not None:
        item["review_text"] = text
    return item


class Fake(FakeApi):
    """A Page with a feed (the shared scenarios' listing), tagged posts, comments and ratings;
    ``page_id``: another Page on the same server (same token)."""

    platform = "facebook"
    env = {"FACEBOOK_PAGE_TOKEN": TOKEN}

    def __init__(self, server: FakeServer, page_id: str = PAGE_ID) -> None:
        super().__init__(server)
        self.page_id = page_id
        self.listing = path(page_id, "feed")
        self.feed: list[dict[str, Any]] = []
        self.tagged: list[dict[str, Any]] = []
        self.ratings: list[dict[str, Any]] = []
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.private: set[str] = set()  # ids the token may not see
        self.usage_headers: dict[str, str] = g.usage(page_id, calls=12)
        server.route("GET", self.listing, self.guarded(self._edge("feed", lambda: self.feed)))
        server.route("GET", path(page_id, "tagged"), self._edge("tagged", lambda: self.tagged))
        server.route("GET", path(page_id, "visitor_posts"), self._edge("visitor_posts", lambda: []))
        server.route("GET", path(page_id, "ratings"), self._edge("ratings", lambda: self.ratings, since=False))

    def _edge(self, name: str, items: Any, since: bool = True) -> Any:
        return g.edge(path(self.page_id, name), items, TOKEN, since=since, headers=lambda: self.usage_headers,
                      hidden=self._private)

    def _private(self, item: Any) -> bool:
        return item.get("id") in self.private

    def source(self, name: str = "facebook-acme", extra: str = "") -> str:
        return source_toml(self.server.url, name, "feed = true\ncomments = false\ntagged = false\nratings = false\n"
                           + "page_size = 2\n" + extra, page_id=self.page_id)

    def add(self, text: str, minutes_ago: float = 10, bare: bool = False, **kwargs: Any) -> str:
        drop = ["from", "permalink_url", "shares", "reactions", "comments", "updated_time"] if bare else []
        item = post(text, minutes_ago=minutes_ago, drop=drop, page_id=self.page_id, **kwargs)
        self.feed.append(item)
        self.comments[item["id"]] = []
        comments_path = path(item["id"], "comments")
        self.server.route("GET", comments_path, g.edge(comments_path, lambda: self.comments[item["id"]], TOKEN,
                                                       since=False, headers=lambda: self.usage_headers,
                                                       hidden=self._private))
        return item["id"]

    def add_comment(self, post_id: str, text: str, **kwargs: Any) -> str:
        item = comment(text, post_id=post_id, **kwargs)
        self.comments[post_id].append(item)
        for p in self.feed:  # a new comment moves its post's updated_time, as Graph does
            if p["id"] == post_id and g.unix(p.get("updated_time", p["created_time"])) < g.unix(item["created_time"]):
                p["updated_time"] = item["created_time"]
        return item["id"]

    def too_many(self, reset_in: int | None) -> Reply:
        headers = g.usage(self.page_id, calls=100, minutes=reset_in // 60) if reset_in is not None else {}
        return g.error(*g.PAGE_LIMIT, subcode=2446079, transient=True, headers=headers)

    def server_error(self) -> Reply:
        return g.error(*g.UNKNOWN_ERROR, status=500, transient=True)

    def malformed(self) -> Reply:
        return Reply(200, body='{"data": [{"id": "1_2", "created_time": ', content_type="application/json")


def source_toml(base_url: str, name: str = "facebook-acme", extra: str = "", page_id: str = PAGE_ID) -> str:
    """A ``[[sources]]`` entry for the Acme Page (or ``page_id``) at ``base_url``; the token from
    $FACEBOOK_PAGE_TOKEN."""
    return f"""
[[sources]]
name = "{name}"
platform = "facebook"
brand = "Acme"
page_id = "{page_id}"
access_token = {{ env = "FACEBOOK_PAGE_TOKEN" }}
base_url = "{base_url}"
timeout = 0.5
rate_limit_backoff = "7m"
{extra}
"""
