"""Mastodon mentions from one instance: hashtag timelines and status search, over plain HTTP.

The query has one line per listing: ``#acme`` reads the hashtag timeline
``/api/v1/timelines/tag/acme`` (public on most instances), any other line is
a status search ``/api/v2/search?type=statuses`` (needs ``access_token``, an
instance with full-text search, and only finds posts the account may search:
opted-in public posts, its own, its mentions and favourites).

Timelines are followed forward with ``min_id`` and the ``Link: rel="prev"``
URL the server sends (each page is the next newer one, so a poll that stops
at the page budget leaves no gap: the next poll continues where it stopped).
A first poll reads back through ``rel="next"`` within ``lookback``.

Status ids are snowflakes of a time (``Mastodon::Snowflake``: milliseconds
<< 16), and a post federated late gets the id of its ``created_at``, older
than posts already read. So the cursor maps each query line to a
:class:`~connectors.watermark.Watermark` (as Bluesky's does): the newest
status time and the uris seen in the ``OVERLAP`` before it; the next poll
asks from ``min_id`` = the id of that time less the overlap and serves only
unseen uris. A cursor of an older version (the newest status id) is read as
that id's time.

Servers whose ids are no snowflakes (GoToSocial's ULIDs, Pleroma's and
Akkoma's flake ids) cannot be asked from a time: their ``min_id`` compares ids
of their own kind. The cursor notes which kind a line's server gave
(``"ids": "snowflake"`` or ``"opaque"``); an opaque line is read newest first
through ``rel="next"``, as a first poll is, down to the overlap by
``created_at``, and its search sends no ``min_id``. A line not known yet (a
cursor of an older version) whose forward walk finds nothing is read that way
too, which tells the two kinds apart.

Mentions are keyed by the status ``uri`` (the same on every instance), so a
post seen through two instances is stored once. Plain HTTP is used rather
than Mastodon.py, whose defaults sleep on rate limits and wait 300 s per
request, and which adds instance/version look-ups to every poll.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from connectors.base import (
    AuthError,
    BadPayload,
    BadQuery,
    Batch,
    BrandQuery,
    ConnectorError,
    Mention,
    Secret,
    decode_cursor,
    next_cursor,
    parse_iso_datetime,
    query_lines,
    whole_number,
)
from connectors.http import HttpClient, check_options, error_detail
from connectors.markup import html_to_text
from connectors.matching import search_terms
from connectors.watermark import Watermark, keep_state

if TYPE_CHECKING:
    from requests import Response

log = logging.getLogger(__name__)

TAG_TIMELINE = "/api/v1/timelines/tag/"
SEARCH = "/api/v2/search"
OVERLAP = timedelta(minutes=15)  # posts federated late (backdated ids) still show up; their uris dedupe them
_SNOWFLAKE_SINCE = datetime(2016, 1, 1, tzinfo=timezone.utc).timestamp()  # older "ids" are not snowflakes


class _UnknownTag(BadQuery):
    pass


@dataclass(frozen=True)
class MastodonOptions:
    #: The instance to read from (its timelines only hold posts it knows about).
    base_url: str = "https://mastodon.social"
    #: An access token (Preferences → Development; scopes read:statuses, read:search).
    #: Hashtag timelines work without one on most instances; search needs it.
    access_token: Secret | None = None
    #: Also search statuses for the brand's terms in built queries (needs access_token).
    search: bool = False
    #: Hashtag timelines: only posts made on this instance.
    local: bool = False
    #: Statuses per request (Mastodon allows up to 40).
    page_size: int = 40
    #: Page budget per query line per poll.
    max_pages: int = 10
    #: How far back the first poll of a hashtag reaches.
    lookback: timedelta = timedelta(days=7)
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: When to retry after a 429 without X-RateLimit-Reset.
    rate_limit_backoff: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        check_options(self, page_size_max=40)
        if self.search and self.access_token is None:
            raise ValueError("search: status search needs an access_token")


class MastodonConnector:
    """Hashtag timelines (``#tag`` lines) and status searches (other lines) on one instance."""

    platform: ClassVar[str] = "mastodon"
    Options: ClassVar[type] = MastodonOptions
    needs_query: ClassVar[bool] = True  # it only searches: a brand or a query is needed

    def __init__(self, options: MastodonOptions) -> None:
        self.options = options

    def build_query(self, brand: BrandQuery) -> str:
        """A ``#hashtag`` line per brand term (spaces dropped); with ``search``, a search line per term too."""
        tags = ["#" + "".join(ch for ch in t.strip().lstrip("@#") if ch.isalnum() or ch == "_") for t in brand.terms()]
        lines = [t for t in dict.fromkeys(tags) if len(t) > 1]
        if self.options.search:
            lines += search_terms(brand)
        return "\n".join(lines)

    def fetch(self, query: str, cursor: str | None) -> Batch:
        lines = query_lines(query, self.platform)
        if any(not line.startswith("#") for line in lines) and self.options.access_token is None:
            raise AuthError("mastodon: status search (query lines without #) needs an access_token")
        # Status ids and times belong to one instance: another one's timeline is read afresh.
        scope = self.options.base_url.rstrip("/")
        before = decode_cursor(cursor, self.platform, scope)
        after: dict[str, Any] = {}
        found: dict[str, Mention] = {}
        floor = (datetime.now(timezone.utc) - self.options.lookback).timestamp()
        with self._client() as http:
            for line in lines:
                state = before.get(line)
                behind = False
                ids = _Ids(state.get("ids") if isinstance(state, Mapping) else None)
                if line.startswith("#"):
                    mark = _watermark(state, floor)
                    was_behind = isinstance(state, Mapping) and state.get("behind") is True
                    behind = self._timeline(http, line, mark, found, ids, was_behind)
                else:  # a first search reads every page, as it always did: no lookback floor
                    mark = _watermark(state, None)
                    self._search(http, line, mark, found, ids)
                keep_state(after, line, mark)
                if line in after:
                    if behind:
                        after[line]["behind"] = True
                    if ids.kind is not None:
                        after[line]["ids"] = ids.kind
            requests = http.requests
        return Batch(list(found.values()), next_cursor(cursor, after, scope), requests)

    def _client(self) -> HttpClient:
        o = self.options
        headers = {"Authorization": f"Bearer {o.access_token.reveal()}"} if o.access_token else {}
        return HttpClient(self.platform, o.base_url, o.timeout, backoff=o.rate_limit_backoff,
                          secret=o.access_token, headers=headers, classify=self._classify)

    # ------------------------------------------------------------- listings
    def _timeline(self, http: HttpClient, line: str, mark: Watermark, found: dict[str, Mention],
                  ids: _Ids, behind: bool = False) -> bool:
        """Read a hashtag timeline; whether a forward walk stopped at the page budget (``behind``:
        the next poll then continues from the newest status, not the overlap, or a window
        of more than a budget of statuses would be re-read forever)."""
        if mark.newest is None or ids.kind == "opaque":
            return self._walk(http, line, mark, found, ids, None)
        walked = ids.seen
        behind = self._walk(http, line, mark, found, ids, _id_at(mark.newest if behind else mark.since()))
        if ids.kind is None and ids.seen == walked:  # nothing above a snowflake of the overlap:
            return self._walk(http, line, mark, found, ids, None)  # quiet, or ids of another kind
        return behind

    def _walk(self, http: HttpClient, line: str, mark: Watermark, found: dict[str, Mention],
              ids: _Ids, min_id: str | None) -> bool:
        """Forward from ``min_id`` through ``rel="prev"``, else newest first through
        ``rel="next"`` down to the overlap (or ``lookback``); whether a forward walk stopped
        at the page budget."""
        o = self.options
        tag = line.lstrip("#")
        params: dict[str, Any] = {"limit": o.page_size}
        if o.local:
            params["local"] = "true"
        forward = min_id is not None
        if forward:
            params["min_id"] = min_id
        target: str | None = TAG_TIMELINE + quote(tag, safe="")
        for _page in range(o.max_pages):
            assert target is not None
            try:
                response = http.get(target, params=params)
            except _UnknownTag:
                log.info("mastodon: %s: no such hashtag on %s yet", line, o.base_url)
                return False
            statuses = _statuses(http.json(response), target)
            if not statuses:
                return False
            ids.note(statuses)
            oldest: float | None = None
            for status in statuses:
                mention = _mention(status)
                if mention is None:
                    continue
                oldest = _status_time(status, mention)
                if mark.take(mention.id, oldest):
                    found.setdefault(mention.id, mention)
            if not forward and oldest is not None and mark.is_old(oldest):
                return False  # a first poll reads back only as far as lookback
            if forward and len(statuses) < o.page_size:
                return False  # the newest page: nothing above it yet
            link = response.links.get("prev" if forward else "next", {}).get("url")
            if not link:
                return False
            target, params = link, {}
        log.warning("mastodon: %s: stopped after %d pages (max_pages); %s", line, o.max_pages,
                    "newer posts follow next poll" if forward else "older posts are skipped")
        return forward

    def _search(self, http: HttpClient, line: str, mark: Watermark, found: dict[str, Mention], ids: _Ids) -> None:
        """Search results are not in time order: read every page of results above the overlap
        (from its snowflake on a server known to give snowflakes, else every page, by time)."""
        o = self.options
        since = mark.since()
        for page in range(o.max_pages):
            params: dict[str, Any] = {"q": line, "type": "statuses", "resolve": "false", "limit": o.page_size,
                                      "offset": page * o.page_size}
            if since is not None and ids.kind == "snowflake":
                params["min_id"] = _id_at(since)
            body = http.get_json(SEARCH, params=params)
            statuses = _statuses(body.get("statuses") if isinstance(body, Mapping) else None, SEARCH)
            ids.note(statuses)
            for status in statuses:
                mention = _mention(status)
                if mention is not None and mark.take(mention.id, _status_time(status, mention)):
                    found.setdefault(mention.id, mention)
            if len(statuses) < o.page_size:
                return
        log.warning("mastodon: search %r: stopped after %d pages (max_pages)", line, o.max_pages)

    def _classify(self, response: Response) -> ConnectorError | None:
        path = urlsplit(response.url).path
        if response.status_code == 404 and TAG_TIMELINE in path:
            return _UnknownTag(f"mastodon: unknown hashtag {path}")
        if response.status_code == 401 and self.options.access_token is None:
            return AuthError(
                f"mastodon: {self.options.base_url} requires an access token for {path}"
                f" (401 {error_detail(response)}); set access_token"
            )
        return None


class _Ids:
    """Which kind of status ids a line's server gives: ``"snowflake"`` (Mastodon's, of a
    time: ``min_id`` can be aimed at a time), ``"opaque"`` (any other kind), ``None``
    (not known yet); ``seen`` counts the statuses noted."""

    def __init__(self, kind: Any) -> None:
        self.kind: str | None = kind if kind in ("snowflake", "opaque") else None
        self.seen = 0

    def note(self, statuses: list[dict[str, Any]]) -> None:
        self.seen += len(statuses)
        if self.kind != "opaque" and statuses:
            snowflakes = all(_snowflake_time(status["id"]) is not None for status in statuses)
            self.kind = "snowflake" if snowflakes else "opaque"


# ---------------------------------------------------------------------- mapping
def _statuses(body: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise BadPayload(f"mastodon: {where} answered with something other than a list of statuses")
    statuses = []
    for status in body:
        if isinstance(status, dict) and isinstance(status.get("id"), str) and status["id"]:
            statuses.append(status)
        else:
            log.warning("mastodon: %s: skipping a status without id: %.200r", where, status)
    return statuses


def _snowflake_time(status_id: Any) -> float | None:
    """The time (Unix seconds) a Mastodon snowflake id carries; ``None`` for other ids."""
    if not isinstance(status_id, str) or not status_id.isdigit():
        return None
    seconds = (int(status_id) >> 16) / 1000
    return seconds if seconds >= _SNOWFLAKE_SINCE else None


def _id_at(seconds: float) -> str:
    """The lowest snowflake id of a time (``Mastodon::Snowflake.id_at`` without its sequence)."""
    return str(round(seconds * 1000) << 16)


def _status_time(status: Mapping[str, Any], mention: Mention) -> float:
    """Where a status sits in the timeline: its id's time (what ``min_id`` compares), else created_at."""
    at = _snowflake_time(status.get("id"))
    return at if at is not None else mention.created_at.timestamp()


def _watermark(state: Any, floor: float | None) -> Watermark:
    """A line's watermark; a cursor of an older version holds the newest status id, read as its time."""
    if isinstance(state, str):
        return Watermark(_snowflake_time(state), overlap=OVERLAP.total_seconds(), floor=floor)
    return Watermark.load(state, OVERLAP.total_seconds(), floor)


def _mention(status: Mapping[str, Any]) -> Mention | None:
    post = status.get("reblog") if isinstance(status.get("reblog"), Mapping) else status
    try:
        created = parse_iso_datetime(post["created_at"])
    except (KeyError, TypeError, ValueError):
        log.warning("mastodon: skipping a status without created_at: %.200r", status.get("id"))
        return None
    account = post.get("account") if isinstance(post.get("account"), Mapping) else {}
    text = html_to_text(post.get("content") if isinstance(post.get("content"), str) else "")
    spoiler = post.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}"
    url = post.get("url") or post.get("uri")
    return Mention(
        platform="mastodon",
        id=str(post.get("uri") or post["id"]),
        text=text,
        author=_acct(account),
        url=url if isinstance(url, str) else None,
        created_at=created,
        raw=status,
        lang=post.get("language") if isinstance(post.get("language"), str) else None,
        likes=whole_number(post, "favourites_count"),
        replies=whole_number(post, "replies_count"),
        reposts=whole_number(post, "reblogs_count"),
        followers=whole_number(account, "followers_count"),
    )


def _acct(account: Mapping[str, Any]) -> str | None:
    """``user@domain`` for every author (local accounts' ``acct`` has no domain)."""
    acct = account.get("acct")
    if not isinstance(acct, str) or not acct:
        return None
    if "@" not in acct and isinstance(account.get("url"), str):
        host = urlsplit(account["url"]).hostname
        if host:
            return f"{acct}@{host}"
    return acct
