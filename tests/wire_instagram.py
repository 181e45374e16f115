"""A fake Instagram professional account on the Graph API: tags, own media and
their comments, hashtag search and hashtag recent media.

Media carry ``timestamp`` (``+0000``), ``permalink``, ``username`` (not on
hashtag media: Instagram never returns it there), ``like_count`` and
``comments_count``; comments carry ``text``, ``username``, ``from`` and
nested ``replies``. See tests/wire_graph.py for paging and errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import wire_graph as g
from fakeapi import FakeApi
from fakeserver import FakeServer, Reply, Request

USER_ID = "17841405309211844"
USERNAME = "acme"
TOKEN = "EAAB-fake-instagram-token"
HASHTAG_IDS = {"acmewidget": "17843853986012965", "acme": "17841562447105233"}


def path(*segments: str) -> str:
    return "/" + "/".join([g.VERSION, *segments])


def media(caption: str, *, minutes_ago: float = 10, username: str | None = "jane.doe", likes: int = 42,
          comments: int = 3, drop: Iterable[str] = ()) -> dict[str, Any]:
    media_id = str(18034561234567890 + g.next_id())
    item: dict[str, Any] = {
        "id": media_id,
        "caption": caption,
        "media_type": "IMAGE",
        "permalink": f"https://www.instagram.com/p/DEx{media_id[-6:]}/",
        "timestamp": g.graph_time(g.at(minutes_ago)),
        "like_count": likes,
        "comments_count": comments,
    }
    if username is not None:
        item["username"] = username
    for key in drop:
        item.pop(key, None)
    return item


def comment(text: str, *, minutes_ago: float = 10, username: str = "john.smith", user_id: str = "17841400000000001",
            likes: int = 0, replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(17870913679156914 + g.next_id()),
        "text": text,
        "timestamp": g.graph_time(g.at(minutes_ago)),
        "username": username,
        "like_count": likes,
        "from": {"id": user_id, "username": username},
    }
    if replies:
        item["replies"] = {"data": replies}
    return item


class Fake(FakeApi):
    """An account with tagged media (the shared scenarios' listing), own media, comments and hashtags;
    ``user_id``: another account on the same server (same token; its hashtag routes replace the first's)."""

    platform = "instagram"
    env = {"INSTAGRAM_TOKEN": TOKEN}

    def __init__(self, server: FakeServer, user_id: str = USER_ID) -> None:
        super().__init__(server)
        self.user_id = user_id
        self.listing = path(user_id, "tags")
        self.tags: list[dict[str, Any]] = []
        self.own: list[dict[str, Any]] = []
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.hashtag_media: dict[str, list[dict[str, Any]]] = {name: [] for name in HASHTAG_IDS}
        self.usage_headers: dict[str, str] = g.usage(user_id, kind="instagram", calls=8)
        headers = lambda: self.usage_headers  # noqa: E731
        server.route("GET", self.listing, self.guarded(g.edge(self.listing, lambda: self.tags, TOKEN,
                                                              time_key="timestamp", since=False, headers=headers)))
        server.route("GET", path(user_id, "media"), g.edge(path(user_id, "media"), lambda: self.own, TOKEN,
                                                           time_key="timestamp", since=False, headers=headers))
        server.route("GET", path("ig_hashtag_search"), self._hashtag_search)
        for name, hashtag_id in HASHTAG_IDS.items():
            recent = path(hashtag_id, "recent_media")
            server.route("GET", recent, g.edge(recent, lambda name=name: self.hashtag_media[name], TOKEN,
                                               time_key="timestamp", since=False, headers=headers))

    def _hashtag_search(self, request: Request) -> Reply:
        if request.params.get("user_id") != self.user_id:
            return g.error(100, "(#100) The parameter user_id is required")
        found = HASHTAG_IDS.get(request.params.get("q", "").lower())
        return Reply(json={"data": [{"id": found}] if found else []})

    def source(self, name: str = "instagram-acme", extra: str = "") -> str:
        return source_toml(self.server.url, name, "tags = true\ncomments = false\npage_size = 2\n" + extra,
                           user_id=self.user_id)

    def add(self, text: str, minutes_ago: float = 10, bare: bool = False, **kwargs: Any) -> str:
        drop = ["username", "like_count", "comments_count", "permalink"] if bare else []
        item = media(text, minutes_ago=minutes_ago, drop=drop, **kwargs)
        self.tags.append(item)
        return item["id"]

    def add_own(self, caption: str, minutes_ago: float = 60) -> dict[str, Any]:
        item = media(caption, minutes_ago=minutes_ago, username=USERNAME, comments=0)
        self.own.append(item)
        return item

    def add_comment(self, item: dict[str, Any], text: str, **kwargs: Any) -> dict[str, Any]:
        media_id = item["id"]
        if media_id not in self.comments:
            self.comments[media_id] = []
            comments_path = path(media_id, "comments")
            # Instagram does not document the order of comments: serve them oldest first.
            self.server.route("GET", comments_path, g.edge(comments_path, lambda: self.comments[media_id], TOKEN,
                                                           time_key="timestamp", since=False, newest_first=False))
        made = comment(text, **kwargs)
        self.comments[media_id].append(made)
        item["comments_count"] = item.get("comments_count", 0) + 1
        return made

    def too_many(self, reset_in: int | None) -> Reply:
        headers = g.usage(self.user_id, kind="instagram", calls=100, minutes=reset_in // 60) if reset_in is not None else {}
        return g.error(*g.APP_LIMIT, headers=headers)

    def server_error(self) -> Reply:
        return g.error(*g.UNKNOWN_ERROR, status=500, transient=True)

    def malformed(self) -> Reply:
        return Reply(200, body="<html><body>Sorry, something went wrong.</body></html>", content_type="text/html")


def source_toml(base_url: str, name: str = "instagram-acme", extra: str = "", user_id: str = USER_ID) -> str:
    """A ``[[sources]]`` entry for the Acme account (or ``user_id``) at ``base_url``; the token from
    $INSTAGRAM_TOKEN."""
    return f"""
[[sources]]
name = "{name}"
platform = "instagram"
brand = "Acme"
user_id = "{user_id}"
access_token = {{ env = "INSTAGRAM_TOKEN" }}
base_url = "{base_url}"
timeout = 0.5
rate_limit_backoff = "7m"
{extra}
"""
