"""Reddit mentions with praw: new posts matching the query, new comments naming it.

Each poll reads a few *listings*, newest first: the search for the query
(in r/all, or in the configured subreddits) and, when subreddits are
configured, each one's newest comments, kept when they contain the query's
terms (Reddit has no comment search). A listing is read back to ``OVERLAP``
before the newest item the previous polls read, Reddit's ~1,000-item cap, or
the page budget: a post the spam filter or a moderator lets through late, or
that search indexes late, sits below newer ones, and the overlap still reads
it. The cursor is a JSON object mapping each listing to a
:class:`~connectors.watermark.Watermark` (the newest item's time and the
fullnames read in the overlap before it, which are not served twice); it
moves only when every listing succeeded.

praw authenticates (read-only application credentials) and keeps the rate
limit accounts; three of its defaults are changed because a connector must
never sleep and must bound every request (see :func:`_reddit`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

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
    encode_cursor,
    note_requests,
    utc_from_timestamp,
    whole_number,
)
from connectors.http import (
    after_seconds, check_options, error_for_status, no_response, rate_limited, read_body, redirect_body_reader,
)
from connectors.matching import boolean_query, text_matcher
from connectors.watermark import Watermark, keep_state

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the most a listing returns per request
LISTING_CAP = 1000  # Reddit stops paging a listing after about this many items
OVERLAP = timedelta(minutes=15)  # items let through or indexed late still show up; their fullnames dedupe them
# A subreddit's comment listing is not searched: it lists every comment at once, matching or
# not, so 15 minutes of a busy subreddit would be pages of re-reads every poll. A comment the
# spam filter holds back is rarer than a post search indexes late: a shorter overlap there.
COMMENTS_OVERLAP = timedelta(minutes=2)
WEB_URL = "https://www.reddit.com"
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")


@dataclass(frozen=True)
class RedditOptions:
    #: The app's client id (under its name on reddit.com/prefs/apps).
    client_id: Secret
    #: The app's secret.
    client_secret: Secret
    #: Reddit requires a unique, descriptive one:
    #: "<platform>:<app id>:<version> (by /u/<reddit username>)".
    user_agent: str
    #: Search (and read comments of) these subreddits; empty: search all of Reddit.
    subreddits: tuple[str, ...] = ()
    #: Also read each configured subreddit's new comments, kept when they name the brand.
    comments: bool = True
    #: The OAuth API host.
    base_url: str = "https://oauth.reddit.com"
    #: The host that issues access tokens.
    auth_url: str = "https://www.reddit.com"
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: Page budget per listing per poll (100 items a page; Reddit stops at about 10).
    max_pages: int = 10
    #: When to retry after a 429 that says nothing about its reset time.
    rate_limit_backoff: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if len(self.user_agent.strip()) < 7:
            raise ValueError(
                'user_agent: describe your app, e.g. "python:com.example.monitor:v1.0 (by /u/yourname)"'
            )
        if not 1 <= self.max_pages <= LISTING_CAP // PAGE_SIZE:
            raise ValueError(f"max_pages: must be 1 to {LISTING_CAP // PAGE_SIZE} (Reddit lists about 1,000 items)")
        for name in self.subreddits:
            if not _SUBREDDIT.fullmatch(name.removeprefix("r/")):
                raise ValueError(f'subreddits: "{name}" is not a subreddit name (write "python" or "r/python")')
        check_options(self)

    @property
    def subreddit_names(self) -> list[str]:
        return list(dict.fromkeys(name.removeprefix("r/") for name in self.subreddits))


@dataclass(frozen=True)
class _Listing:
    key: str  # its name in the cursor
    path: str  # relative to base_url, as praw writes paths
    params: Mapping[str, str]
    keep: Callable[[str], bool] | None = None  # which items to keep, by text; None: all
    overlap: timedelta = OVERLAP  # how far before the newest item each poll reads back


class RedditConnector:
    """Search posts and read new comments; incremental per listing."""

    platform: ClassVar[str] = "reddit"
    Options: ClassVar[type] = RedditOptions
    needs_query: ClassVar[bool] = True  # it only searches: a brand or a query is needed

    def __init__(self, options: RedditOptions) -> None:
        self.options = options
        self._client: Any = None  # one praw.Reddit (one access token) per connector

    # ------------------------------------------------------------------ query
    def build_query(self, brand: BrandQuery) -> str:
        """The brand's terms OR-ed (handles without "@"), then NOT its exclusions."""
        return boolean_query(brand)

    # ------------------------------------------------------------------ fetch
    def fetch(self, query: str, cursor: str | None) -> Batch:
        if not query.strip():
            raise BadQuery("reddit: the query is empty; give the source a brand or a query")
        before = decode_cursor(cursor, "reddit")
        after: dict[str, Any] = {}
        found: dict[str, Mention] = {}
        client = self._reddit()
        counter = client._core.requestor  # our _Requestor, shared by the token and API calls
        counter.count = 0
        try:
            for listing in self._listings(query):
                mark = _watermark(before.get(listing.key), listing.overlap)
                self._read(client, listing, mark, found)
                keep_state(after, listing.key, mark)
        except Exception as exc:
            note_requests(exc, counter.count)  # a failed poll still reports the requests it made
            raise
        finally:
            counter.close()  # keep the token, drop the connections: polls are minutes apart
        return Batch(list(found.values()), encode_cursor(after) if after != before else None, counter.count)

    def _listings(self, query: str) -> list[_Listing]:
        subreddits = self.options.subreddit_names
        scope = "+".join(subreddits) or "all"
        params = {
            "q": query, "sort": "new", "t": "all", "syntax": "lucene",
            "restrict_sr": str(bool(subreddits)),  # the text praw sends
        }
        listings = [_Listing(f"search r/{scope}: {query}", f"r/{scope}/search/", params)]
        if self.options.comments:
            keep = text_matcher(query)
            # Keyed by the query that filters them, as the search is: comments another query
            # read and left out are read again for a new one (they were "seen").
            listings += [_Listing(f"comments r/{name}: {query}", f"r/{name}/comments/", {}, keep, COMMENTS_OVERLAP)
                         for name in subreddits]
        return listings

    def _read(self, client: Any, listing: _Listing, mark: Watermark, found: dict[str, Mention]) -> None:
        """Page a listing (newest first) back to the overlap before the newest item read."""
        after: str | None = None
        for _page in range(self.options.max_pages):
            params = {**listing.params, "limit": PAGE_SIZE}
            if after:
                params["after"] = after
            payload = _call(self.options, client, lambda: client.request(method="GET", path=listing.path, params=params))
            children, after = _children(payload, listing.path)
            for item in children:
                if mark.is_old(item["created_utc"]):
                    return
                if mark.take(item["name"], item["created_utc"]):  # the newest read, kept or not
                    mention = _mention(item)
                    if listing.keep is None or listing.keep(mention.text):
                        found.setdefault(mention.id, mention)
            if not after:
                return
        if mark.newest is not None:
            log.warning(
                "reddit: %s: stopped after %d pages (max_pages) before the last item seen; older ones are skipped",
                listing.key, self.options.max_pages,
            )

    def _reddit(self) -> Any:
        if self._client is None:
            self._client = _reddit(self.options)
        return self._client


# ---------------------------------------------------------------------- mapping
def _watermark(state: Any, overlap: timedelta) -> Watermark:
    """A listing's watermark; a cursor of an older version (the newest item's
    ``{"name", "created"}``) is read as that item, seen."""
    if isinstance(state, Mapping) and "newest" not in state:
        name, created = state.get("name"), state.get("created")
        if isinstance(name, str) and isinstance(created, (int, float)) and not isinstance(created, bool):
            return Watermark(float(created), {name: float(created)}, overlap.total_seconds())
    return Watermark.load(state, overlap.total_seconds())


def _children(payload: Any, path: str) -> tuple[list[dict[str, Any]], str | None]:
    """The usable items of a Listing page (newest first) and its ``after`` token."""
    data = payload.get("data") if isinstance(payload, Mapping) and payload.get("kind") == "Listing" else None
    if not isinstance(data, Mapping) or not isinstance(data.get("children", []), list):
        raise BadPayload(f"reddit: {path} answered with something other than a Listing")
    items = []
    for child in data.get("children", []):
        item = child.get("data") if isinstance(child, Mapping) and child.get("kind") in ("t1", "t3") else None
        if (
            not isinstance(item, Mapping)
            or not item.get("id")
            or isinstance(item.get("created_utc"), bool)
            or not isinstance(item.get("created_utc"), (int, float))
        ):
            log.warning("reddit: %s: skipping an item without id or created_utc: %.200r", path, child)
            continue
        item = dict(item)
        item.setdefault("name", f"{child['kind']}_{item['id']}")
        items.append(item)
    after = data.get("after")
    return items, after if isinstance(after, str) and after else None


def _mention(item: Mapping[str, Any]) -> Mention:
    is_post = item["name"].startswith("t3_")
    if is_post:
        title, body = item.get("title") or "", item.get("selftext") or ""
        text = f"{title}\n\n{body}" if body else title
    else:
        text = item.get("body") or ""
    author = item.get("author")
    permalink = item.get("permalink")
    return Mention(
        platform="reddit",
        id=item["name"],
        text=text,
        author=author if isinstance(author, str) and author != "[deleted]" else None,
        url=WEB_URL + permalink if isinstance(permalink, str) and permalink.startswith("/") else None,
        created_at=utc_from_timestamp(item["created_utc"]),
        raw=item,
        likes=whole_number(item, "score"),
        replies=whole_number(item, "num_comments") if is_post else None,
    )



# ------------------------------------------------------------------ transport
class _TokenRejected(Exception):
    """A 401 for the access token: prawcore has dropped it, the next request gets a new one."""


def _call(options: RedditOptions, client: Any, request: Callable[[], Any]) -> Any:
    """Make one praw request with ``client``, mapping every failure to a ConnectorError.

    Reddit may reject a token before the expiry it announced: the request is
    made once more, with a new token; a second 401 is an :class:`AuthError`.
    """
    try:
        return _call_once(options, client, request)
    except _TokenRejected:
        log.info("reddit: the access token was rejected (401); retrying once with a new token")
    try:
        return _call_once(options, client, request)
    except _TokenRejected:
        raise AuthError(
            f"{options.client_id.section}: Reddit rejected the access token (401) twice, the second a new one;"
            " check the app's credentials"
        ) from None


def _call_once(options: RedditOptions, client: Any, request: Callable[[], Any]) -> Any:
    import prawcore
    from praw.exceptions import PRAWException

    classes = _prawcore_classes()
    try:
        return request()
    except classes.QuotaUsedUp as exc:
        raise rate_limited("reddit", "rate limit used up (x-ratelimit-remaining: 0)", after_seconds(exc.seconds)) from None
    except (prawcore.InvalidToken, KeyError) as exc:  # prawcore 4 raises KeyError(401) without www-authenticate
        if isinstance(exc, KeyError) and exc.args != (401,):
            raise
        raise _TokenRejected() from None  # prawcore cleared the token on the 401 (Session._request_with_retries)
    except prawcore.OAuthException as exc:
        raise AuthError(
            f"{options.client_id.section}: Reddit refused the credentials ({exc.error}); check client_id and"
            f" client_secret ({options.client_id.describe()}, {options.client_secret.describe()})"
        ) from None
    except (prawcore.Forbidden, prawcore.InsufficientScope) as exc:
        raise AuthError(
            f"{options.client_id.section}: Reddit refused access (403 {exc.response.reason}):"
            " a configured subreddit may be private, banned or quarantined, or the app lacks API access"
        ) from None
    except (prawcore.NotFound, prawcore.Redirect) as exc:
        path = urlsplit(exc.response.url).path
        raise BadQuery(f"reddit: {path} does not exist ({exc.response.status_code}); check subreddits") from None
    except prawcore.BadJSON:
        raise BadPayload("reddit: a listing answered with invalid JSON") from None
    except prawcore.ResponseException as exc:  # 429, server errors and the rest, by status
        if exc.response.status_code == 401 and exc.response.url.endswith("/api/v1/access_token"):
            raise AuthError(
                f"{options.client_id.section}: Reddit rejected client_id/client_secret (401 from the token"
                f" endpoint); check {options.client_id.describe()} and {options.client_secret.describe()}"
            ) from None
        raise error_for_status("reddit", exc.response, backoff=options.rate_limit_backoff) from None
    except prawcore.RequestException as exc:
        args = exc.request_args
        target = str(args[1]) if len(args) > 1 else options.base_url
        raise no_response("reddit", exc.original_exception, target, options.timeout) from None
    except ValueError as exc:
        last = client._core.requestor.last_response
        if last is not None and last.status_code == 429:  # prawcore's TooManyRequests reads a
            # Retry-After that is an HTTP date as a number, and fails: mapped by its headers here
            raise error_for_status("reddit", last, backoff=options.rate_limit_backoff) from None
        # the token endpoint's invalid JSON is not wrapped by prawcore
        raise BadPayload(f"reddit: the token endpoint answered with invalid JSON ({exc})") from None
    except (prawcore.PrawcoreException, PRAWException) as exc:
        raise ConnectorError(f"reddit: {type(exc).__name__}: {exc}") from None


def _reddit(options: RedditOptions) -> Any:
    """A read-only praw.Reddit that never sleeps and bounds every request.

    praw/prawcore would otherwise: sleep up to 10 s before requests to pace
    the rate limit (and up to the whole reset time when it is used up), retry
    server errors and timeouts twice with sleeps, ignore any timeout but 16 s
    for API calls, and ask PyPI for updates. The rate-limit and retry changes
    use private attributes of praw 8 / prawcore 4 (pinned in pyproject.toml;
    the no-sleep tests guard them).
    """
    import praw

    classes = _prawcore_classes()
    reddit = praw.Reddit(
        client_id=options.client_id.reveal(),
        client_secret=options.client_secret.reveal(),
        user_agent=options.user_agent,
        oauth_url=options.base_url.rstrip("/"),
        reddit_url=options.auth_url.rstrip("/"),  # prawcore appends /api/v1/access_token
        check_for_updates=False,
        check_for_async=False,
        requestor_class=classes.Requestor,
        requestor_kwargs={"timeout": options.timeout},
    )
    core = reddit._core  # the read-only session
    core._retry_strategy_class = classes.NoRetry
    core._rate_limiter = classes.RateLimiter(window_size=core._rate_limiter.window_size)
    return reddit


@cache
def _prawcore_classes() -> Any:
    """prawcore subclasses, defined on first use so importing this module stays cheap."""
    import time
    from types import SimpleNamespace

    import prawcore
    from prawcore.rate_limit import RateLimiter
    from prawcore.sessions import FiniteRetryStrategy

    class QuotaUsedUp(prawcore.PrawcoreException):
        def __init__(self, seconds: int) -> None:
            super().__init__(f"rate limit used up; resets in {seconds}s")
            self.seconds = seconds

    class Requestor(prawcore.Requestor):
        """Forces our timeout (prawcore passes 16 s to every API call), counts requests and
        reads each body, at most ``MAX_RESPONSE_BYTES`` (:func:`connectors.http.read_body`)."""

        count = 0
        last_response: Any = None  # the last response received (its headers, when prawcore fails on them)

        def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            import requests

            self.count += 1
            self.last_response = None
            try:  # the token endpoint follows redirects: their bodies are read the same way
                response = super().request(*args, timeout=self.timeout, stream=True,
                                           hooks={"response": [redirect_body_reader("reddit")]}, **kwargs)
            except prawcore.RequestException as exc:
                if isinstance(exc.original_exception, ConnectorError):  # too big: not a failed request
                    raise exc.original_exception from None
                raise
            try:
                read_body(response, "reddit", within=self.timeout)
            except requests.RequestException as exc:  # as prawcore wraps a failed request
                raise prawcore.RequestException(exc, args, kwargs) from None
            self.last_response = response
            return response

    @dataclass(frozen=True)
    class NoRetry(FiniteRetryStrategy):
        """Fail at once: the next poll is the retry."""

        retries: int = 0

        def _sleep_seconds(self) -> float | None:
            return None

    class NoSleepRateLimiter(RateLimiter):
        """Keeps prawcore's accounts of the rate-limit headers; raises instead of sleeping
        when they say the quota is used up, and never sleeps to pace requests."""

        def delay(self) -> None:
            if self.remaining is not None and self.remaining <= 0 and self.next_request_timestamp_ns:
                left = (self.next_request_timestamp_ns - time.monotonic_ns()) / 1e9
                if left > 0:
                    raise QuotaUsedUp(int(left) + 1)

        def update(self, *, response_headers: Mapping[str, str]) -> None:
            try:
                super().update(response_headers=response_headers)
            except (KeyError, ValueError):  # partial or garbled headers: keep the old accounts
                log.debug("reddit: unreadable rate-limit headers %r", dict(response_headers))

    return SimpleNamespace(
        QuotaUsedUp=QuotaUsedUp, Requestor=Requestor, NoRetry=NoRetry, RateLimiter=NoSleepRateLimiter
    )
