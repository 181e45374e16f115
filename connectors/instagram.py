"""Instagram mentions through the Graph API, for a professional (Business or Creator) account.

Each poll reads:

* ``tags``: media other accounts tagged the brand's account in;
* ``comments``: comments and replies on the brand's own media published
  within ``comments_lookback`` (the brand's own replies are left out);
* ``hashtags``: each configured hashtag's recent media (the last 24 hours;
  needs the Instagram Public Content Access feature). Instagram allows 30
  unique hashtags per account in a rolling 7 days: the cursor remembers each
  hashtag's id and when it was first searched, and a hashtag that would go
  over ``hashtag_budget`` is skipped with a warning instead of being searched.

Caption and comment @mentions of the brand are only delivered by webhooks
(there is no edge to poll), so they are not read here; photo tags are.

The query is unused. The cursor maps each listing (``tags``, ``comments``,
``hashtag:<name>``) to a :class:`~connectors.watermark.Watermark` (newest
``timestamp`` and the ids at that second), plus the ``hashtag_ids`` cache. It
names the account (``user_id``): another account's poll starts afresh.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from connectors.base import (
    BadQuery,
    Batch,
    BrandQuery,
    Mention,
    Secret,
    decode_cursor,
    next_cursor,
    whole_number,
)
from connectors.graph import GraphApi, GraphOptions, collect, graph_time
from connectors.watermark import Watermark, keep_state

log = logging.getLogger(__name__)

MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,username,like_count,comments_count"
HASHTAG_MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,like_count,comments_count"  # no username
OWN_MEDIA_FIELDS = "id,timestamp,permalink,comments_count"
_REPLY_FIELDS = "id,text,timestamp,username,like_count,from{id,username}"
COMMENT_FIELDS = f"{_REPLY_FIELDS},replies{{{_REPLY_FIELDS}}}"
HASHTAG_WINDOW = timedelta(days=7)  # a searched hashtag counts against the budget this long
_OVERLAP = 1.0
_HASHTAG = re.compile(r"#?(\w+)")


@dataclass(frozen=True)
class InstagramOptions(GraphOptions):
    #: The Instagram professional account's id (Graph: ``/{page-id}?fields=instagram_business_account``).
    user_id: str
    #: A Facebook Page or Instagram user access token with instagram_basic and
    #: instagram_manage_comments (hashtags: Instagram Public Content Access).
    access_token: Secret
    #: Read media the account is tagged in.
    tags: bool = True
    #: Read comments on the account's own media.
    comments: bool = True
    #: Own media published this long ago or less have their comments read.
    comments_lookback: timedelta = timedelta(days=3)
    #: Hashtags (without "#") whose recent media (last 24 hours) are read.
    hashtags: tuple[str, ...] = ()
    #: Unique hashtags this account may search per rolling 7 days (Instagram's limit is 30).
    hashtag_budget: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.user_id.strip().isdigit():
            raise ValueError(f'user_id: "{self.user_id}" must be the numeric Instagram account id')
        for tag in self.hashtags:
            if not _HASHTAG.fullmatch(tag.strip()):
                raise ValueError(f'hashtags: "{tag}" is not a hashtag (letters, digits and _ only)')
        if not 1 <= self.hashtag_budget <= 30:
            raise ValueError("hashtag_budget: must be 1 to 30 (Instagram's limit per 7 days)")
        if len(self.hashtag_names) > self.hashtag_budget:
            raise ValueError(f"hashtags: {len(self.hashtag_names)} configured, over the budget of {self.hashtag_budget}")

    @property
    def hashtag_names(self) -> list[str]:
        return list(dict.fromkeys(tag.strip().lstrip("#").lower() for tag in self.hashtags))


class InstagramConnector:
    """Tagged media, comments on own media and hashtag media; incremental per listing."""

    platform: ClassVar[str] = "instagram"
    Options: ClassVar[type] = InstagramOptions
    takes_query: ClassVar[bool] = False  # everything is read: there is nothing to search

    def __init__(self, options: InstagramOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        return ""  # tags and comments concern the account; hashtags are configured

    def fetch(self, query: str, cursor: str | None) -> Batch:
        o = self.options
        before = decode_cursor(cursor, self.platform, o.user_id)  # another account: afresh
        after: dict[str, Any] = {}
        found: dict[str, Mention] = {}
        now = datetime.now(timezone.utc)
        floor = (now - o.lookback).timestamp()
        with GraphApi(self.platform, o, o.access_token) as api:
            if o.tags:
                mark = Watermark.load(before.get("tags"), _OVERLAP, floor)
                params = {"fields": MEDIA_FIELDS, "limit": o.page_size}
                for page in api.pages(api.path(o.user_id, "tags"), params, "tags"):
                    if not collect(self.platform, "tags", page, mark, found, _media, time_key="timestamp"):
                        break
                keep_state(after, "tags", mark)
            if o.comments:
                mark = Watermark.load(before.get("comments"), _OVERLAP, floor)
                self._comments(api, mark, found, (now - o.comments_lookback).timestamp())
                keep_state(after, "comments", mark)
            if o.hashtags:
                self._hashtags(api, before, after, found, now)
            requests = api.requests
        return Batch(list(found.values()), next_cursor(cursor, after, o.user_id), requests)

    def _comments(self, api: GraphApi, mark: Watermark, found: dict[str, Mention], since: float) -> None:
        """Comments on own media published since ``since``; their order is undocumented, so
        every page is read and the watermark picks the new ones."""
        o = self.options
        media: list[Mapping[str, Any]] = []
        params = {"fields": OWN_MEDIA_FIELDS, "limit": o.page_size}
        for page in api.pages(api.path(o.user_id, "media"), params, "own media"):
            recent = [m for m in page if m.get("id") and (graph_time(m.get("timestamp")) or _EPOCH).timestamp() >= since]
            media += recent
            if len(recent) < len(page):
                break
        for item in media:
            if item.get("comments_count") == 0:
                continue
            params = {"fields": COMMENT_FIELDS, "limit": o.page_size}
            what = f"comments on {item['id']}"
            for page in api.pages(api.path(str(item["id"]), "comments"), params, what):
                flat = [c for top in page for c in [top, *_replies(top)]]
                for comment in flat:
                    comment.setdefault("_media", {"id": item["id"], "permalink": item.get("permalink")})
                collect(self.platform, what, flat, mark, found, _comment, time_key="timestamp",
                        skip=self._own, ordered=False)

    def _hashtags(self, api: GraphApi, before: Mapping[str, Any], after: dict[str, Any],
                  found: dict[str, Mention], now: datetime) -> None:
        o = self.options
        cached = before.get("hashtag_ids")
        ids: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in (cached.items() if isinstance(cached, Mapping) else ())
            if isinstance(v, Mapping) and isinstance(v.get("id"), str) and isinstance(v.get("first"), (int, float))
        }
        window_start = (now - HASHTAG_WINDOW).timestamp()
        for tag in o.hashtag_names:
            known = ids.get(tag)
            if known is None or known["first"] < window_start:
                active = [k for k, v in ids.items() if v["first"] >= window_start]
                if len(active) >= o.hashtag_budget:
                    frees = datetime.fromtimestamp(min(ids[k]["first"] for k in active), timezone.utc) + HASHTAG_WINDOW
                    log.warning("instagram: #%s skipped: %d hashtags searched in the last 7 days (hashtag_budget);"
                                " the oldest frees up at %s", tag, len(active), f"{frees:%Y-%m-%dT%H:%M:%SZ}")
                    continue
                hashtag_id = known["id"] if known else self._hashtag_id(api, tag)
                ids[tag] = known = {"id": hashtag_id, "first": int(now.timestamp())}
            mark = Watermark.load(before.get(f"hashtag:{tag}"), _OVERLAP, (now - o.lookback).timestamp())
            params = {"user_id": o.user_id, "fields": HASHTAG_MEDIA_FIELDS, "limit": o.page_size}
            for page in api.pages(api.path(known["id"], "recent_media"), params, f"#{tag}"):
                if not collect(self.platform, f"#{tag}", page, mark, found, _media, time_key="timestamp"):
                    break
            keep_state(after, f"hashtag:{tag}", mark)
        names = set(o.hashtag_names)
        ids = {k: v for k, v in ids.items() if k in names or v["first"] >= window_start}  # the budget's memory
        if ids:
            after["hashtag_ids"] = ids

    def _hashtag_id(self, api: GraphApi, tag: str) -> str:
        body = api.get(api.path("ig_hashtag_search"), {"user_id": self.options.user_id, "q": tag})
        data = body.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], Mapping) or not data[0].get("id"):
            raise BadQuery(f"instagram: Instagram knows no hashtag #{tag}")
        return str(data[0]["id"])

    def _own(self, comment: Mapping[str, Any]) -> bool:
        author = comment.get("from")
        return (self.options.exclude_own and isinstance(author, Mapping)
                and str(author.get("id")) == self.options.user_id)


_EPOCH = datetime.fromtimestamp(0, timezone.utc)


def _replies(comment: Mapping[str, Any]) -> list[dict[str, Any]]:
    replies = comment.get("replies")
    data = replies.get("data") if isinstance(replies, Mapping) else None
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


# ---------------------------------------------------------------------- mapping
def _media(item: Mapping[str, Any]) -> Mention:
    caption = item.get("caption")
    username = item.get("username")
    return Mention(
        platform="instagram",
        id=str(item["id"]),
        text=caption if isinstance(caption, str) else "",
        author=username if isinstance(username, str) and username else None,
        url=item.get("permalink") if isinstance(item.get("permalink"), str) else None,
        created_at=graph_time(item["timestamp"]),  # type: ignore[arg-type]
        raw=item,
        likes=whole_number(item, "like_count"),
        replies=whole_number(item, "comments_count"),
    )


def _comment(item: Mapping[str, Any]) -> Mention:
    text = item.get("text")
    author = item.get("from") if isinstance(item.get("from"), Mapping) else {}
    username = item.get("username") or author.get("username")
    media = item.get("_media") or {}
    return Mention(
        platform="instagram",
        id=str(item["id"]),
        text=text if isinstance(text, str) else "",
        author=username if isinstance(username, str) and username else None,
        url=media.get("permalink") if isinstance(media.get("permalink"), str) else None,
        created_at=graph_time(item["timestamp"]),  # type: ignore[arg-type]
        raw={k: v for k, v in item.items() if k != "replies"},
        likes=whole_number(item, "like_count"),
    )
