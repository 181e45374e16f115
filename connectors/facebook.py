"""Facebook Page mentions through the Graph API, with a Page access token.

Each poll reads, for one Page:

* ``feed``: posts on the Page by others (visitor posts on New Pages
  Experience Pages land here; the Page's own posts are left out);
* ``comments``: comments and replies on the Page's posts created within
  ``comments_lookback`` whose ``updated_time`` (which a new comment moves) is
  at or after the newest one the last poll saw;
* ``tagged``: public posts that tag the Page;
* ``visitor_posts``: the classic-Pages edge (off by default: NPE Pages lack it);
* ``ratings``: recommendations and reviews. Graph deprecated them in v22
  (error code 12): the connector then notes the version in its cursor and
  stops asking, instead of failing every poll.

Facebook cannot be searched, so the query is unused: everything on the brand's
Page is about the brand. The cursor maps each edge to a
:class:`~connectors.watermark.Watermark` (newest ``created_time`` and the ids
at that second); edges with a ``since`` parameter are asked from there. It
names the Page (``page_id``): another Page's poll starts afresh.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from connectors.base import Batch, BrandQuery, Mention, Secret, decode_cursor, next_cursor, whole_number
from connectors.graph import GraphApi, GraphOptions, Unavailable, collect, graph_time
from connectors.watermark import Watermark, keep_state

log = logging.getLogger(__name__)

WEB_URL = "https://www.facebook.com"
POST_FIELDS = (
    "id,created_time,updated_time,message,story,permalink_url,from,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
COMMENT_FIELDS = "id,created_time,message,from,like_count,comment_count,permalink_url,parent{id}"
RATING_FIELDS = "created_time,recommendation_type,review_text,reviewer,has_review,has_rating,rating"
_OVERLAP = 1.0  # seconds: Graph times have one-second resolution; re-read the newest second


@dataclass(frozen=True)
class FacebookOptions(GraphOptions):
    #: The Page's numeric id (Page → About → Page transparency, or Graph ``/me?fields=id``).
    page_id: str
    #: A Page access token (long-lived) with pages_read_engagement and pages_read_user_content.
    access_token: Secret
    #: Read the Page's feed for posts by visitors (the Page's own posts are skipped).
    feed: bool = True
    #: Read comments (and replies) on the Page's recent posts.
    comments: bool = True
    #: Posts created this long ago or less have their comments read.
    comments_lookback: timedelta = timedelta(days=3)
    #: Read public posts that tag the Page.
    tagged: bool = True
    #: Read the classic visitor_posts edge (not on New Pages Experience Pages).
    visitor_posts: bool = False
    #: Read recommendations/reviews (deprecated by Graph v22+: skipped when Graph says so).
    ratings: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.page_id.strip().isdigit():
            raise ValueError(f'page_id: "{self.page_id}" must be the numeric Page id')


class FacebookConnector:
    """Posts, comments, tags and reviews on one Facebook Page, incremental per edge."""

    platform: ClassVar[str] = "facebook"
    Options: ClassVar[type] = FacebookOptions
    takes_query: ClassVar[bool] = False  # everything is read: there is nothing to search

    def __init__(self, options: FacebookOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        return ""  # a Page is read whole: everything on it concerns the brand

    def fetch(self, query: str, cursor: str | None) -> Batch:
        o = self.options
        before = decode_cursor(cursor, self.platform, o.page_id)  # another Page: afresh
        after: dict[str, Any] = {}
        found: dict[str, Mention] = {}
        floor = (datetime.now(timezone.utc) - o.lookback).timestamp()
        with GraphApi(self.platform, o, o.access_token) as api:
            if o.feed or o.comments:
                self._feed(api, before, after, found, floor)
            for edge in ("tagged", "visitor_posts"):
                if getattr(o, edge):
                    mark = Watermark.load(before.get(edge), _OVERLAP, floor)
                    self._posts(api, edge, mark, found)
                    keep_state(after, edge, mark)
            if o.ratings:
                self._ratings(api, before, after, found, floor)
            requests = api.requests
        return Batch(list(found.values()), next_cursor(cursor, after, o.page_id), requests)

    # ------------------------------------------------------------------ edges
    def _feed(self, api: GraphApi, before: Mapping[str, Any], after: dict[str, Any],
              found: dict[str, Mention], floor: float) -> None:
        """The feed, read back far enough for both new posts and posts whose comments are read."""
        o = self.options
        posts = Watermark.load(before.get("feed"), _OVERLAP, floor)
        comments = Watermark.load(before.get("comments"), _OVERLAP, floor)
        comment_floor = (datetime.now(timezone.utc) - o.comments_lookback).timestamp()
        starts = [s for s in (posts.since() if o.feed else None, comment_floor if o.comments else None) if s is not None]
        start = min(starts)
        # A comment moves its post's updated_time: only posts updated since the newest
        # updated_time of the last poll (that one included, for same-second comments) are read.
        last_update = before.get("posts_updated") if isinstance(before.get("posts_updated"), (int, float)) else None
        newest_update = last_update
        discussed: list[str] = []
        done = False
        for page in api.pages(api.path(o.page_id, "feed"), self._params(POST_FIELDS, start), "feed"):
            for post in page:
                at = graph_time(post.get("created_time"))
                if not post.get("id") or at is None:
                    log.warning("facebook: feed: skipping a post without id or created_time: %.200r", post)
                    continue
                if at.timestamp() < start:
                    done = True
                    break
                if o.feed and posts.take(post["id"], at.timestamp()):
                    if not self._own(post):
                        found.setdefault(post["id"], _post(post))
                updated = graph_time(post.get("updated_time"))
                if not o.comments or at.timestamp() < comment_floor:
                    continue
                if updated is not None:
                    newest_update = max(newest_update or 0, int(updated.timestamp()))
                if updated is None or last_update is None or updated.timestamp() >= last_update:
                    discussed.append(post["id"])
            if done:
                break
        if o.feed:
            keep_state(after, "feed", posts)
        if o.comments:
            for post_id in discussed:
                self._comments(api, post_id, comments, found)
            keep_state(after, "comments", comments)
            if newest_update is not None:
                after["posts_updated"] = newest_update

    def _posts(self, api: GraphApi, edge: str, mark: Watermark, found: dict[str, Mention]) -> None:
        since = mark.since()
        params = self._params(POST_FIELDS, since)
        for page in api.pages(api.path(self.options.page_id, edge), params, edge):
            if not collect(self.platform, edge, page, mark, found, _post, skip=self._own):
                return

    def _comments(self, api: GraphApi, post_id: str, mark: Watermark, found: dict[str, Mention]) -> None:
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "reverse_chronological",
                  "limit": self.options.page_size}
        for page in api.pages(api.path(post_id, "comments"), params, f"comments on {post_id}"):
            if not collect(self.platform, f"comments on {post_id}", page, mark, found, _comment, skip=self._own):
                return

    def _ratings(self, api: GraphApi, before: Mapping[str, Any], after: dict[str, Any],
                 found: dict[str, Mention], floor: float) -> None:
        o = self.options
        state = before.get("ratings")
        if isinstance(state, Mapping) and state.get("unavailable") == o.api_version:
            after["ratings"] = dict(state)
            return
        mark = Watermark.load(state, _OVERLAP, floor)
        params = {"fields": RATING_FIELDS, "limit": o.page_size}
        try:
            for page in api.pages(api.path(o.page_id, "ratings"), params, "ratings"):
                for rating in page:
                    rating.setdefault("id", _rating_id(o.page_id, rating))
                if not collect(self.platform, "ratings", page, mark, found, lambda r: _rating(o.page_id, r)):
                    break
        except Unavailable as exc:
            log.warning("%s; ratings are no longer read (set ratings = false to silence this)", exc)
            after["ratings"] = {"unavailable": o.api_version}
            return
        keep_state(after, "ratings", mark)

    # ---------------------------------------------------------------- helpers
    def _params(self, fields: str, since: float | None) -> dict[str, Any]:
        params: dict[str, Any] = {"fields": fields, "limit": self.options.page_size}
        if since is not None:
            params["since"] = int(since)
        return params

    def _own(self, item: Mapping[str, Any]) -> bool:
        author = item.get("from")
        return self.options.exclude_own and isinstance(author, Mapping) and str(author.get("id")) == self.options.page_id


# ---------------------------------------------------------------------- mapping
def _author(item: Mapping[str, Any], key: str = "from") -> str | None:
    person = item.get(key)
    name = person.get("name") if isinstance(person, Mapping) else None
    return name if isinstance(name, str) and name else None


def _summary_count(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    summary = value.get("summary") if isinstance(value, Mapping) else None
    return whole_number(summary, "total_count") if isinstance(summary, Mapping) else None


def _post(post: Mapping[str, Any]) -> Mention:
    shares = post.get("shares")
    text = post.get("message") or post.get("story") or ""
    return Mention(
        platform="facebook",
        id=str(post["id"]),
        text=text if isinstance(text, str) else "",
        author=_author(post),
        url=post.get("permalink_url") or f"{WEB_URL}/{post['id']}",
        created_at=graph_time(post["created_time"]),  # type: ignore[arg-type]
        raw=post,
        likes=_summary_count(post, "reactions"),
        replies=_summary_count(post, "comments"),
        reposts=whole_number(shares, "count") if isinstance(shares, Mapping) else None,
    )


def _comment(comment: Mapping[str, Any]) -> Mention:
    text = comment.get("message")
    return Mention(
        platform="facebook",
        id=str(comment["id"]),
        text=text if isinstance(text, str) else "",
        author=_author(comment),
        url=comment.get("permalink_url") or f"{WEB_URL}/{comment['id']}",
        created_at=graph_time(comment["created_time"]),  # type: ignore[arg-type]
        raw=comment,
        likes=whole_number(comment, "like_count"),
        replies=whole_number(comment, "comment_count"),
    )


def _rating_id(page_id: str, rating: Mapping[str, Any]) -> str:
    """Ratings have no id: the Page, the reviewer, the time and the text make one."""
    reviewer = rating.get("reviewer")
    who = str(reviewer.get("id")) if isinstance(reviewer, Mapping) and reviewer.get("id") else "anonymous"
    text = str(rating.get("review_text") or "")
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return f"rating:{page_id}:{who}:{rating.get('created_time')}:{digest}"


def _rating(page_id: str, rating: Mapping[str, Any]) -> Mention:
    text = rating.get("review_text")
    if not isinstance(text, str) or not text.strip():
        kind = rating.get("recommendation_type")
        text = {"positive": "Recommends this page.", "negative": "Does not recommend this page."}.get(str(kind), "")
    return Mention(
        platform="facebook",
        id=str(rating["id"]),
        text=text,
        author=_author(rating, "reviewer"),
        url=f"{WEB_URL}/{page_id}/reviews",
        created_at=graph_time(rating["created_time"]),  # type: ignore[arg-type]
        raw=rating,
    )
