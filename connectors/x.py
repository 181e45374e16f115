"""X (Twitter) mentions through API v2 recent search, with tweepy.

One poll runs each query (the brand's terms, split into several queries when
they exceed X's query-length limit) from its own ``since_id`` and follows
``next_token`` up to a page budget. The cursor is a JSON object mapping each
query to its newest post id; it moves only when every page of every query
succeeded. A poll with nothing new costs one request per query.

tweepy is used with ``return_type=dict`` (ids stay exact strings, nothing is
parsed twice) and ``wait_on_rate_limit=False``: this module never sleeps. Its
hard-coded host and its missing timeout are handled by :class:`_Session`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

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
    parse_iso_datetime,
    query_lines,
    utc_from_timestamp,
    whole_number,
)
from connectors.http import (
    QuotaGuard, check_options, error_for_status, no_response, rate_limited, read_body, redirect_body_reader,
    retry_at,
)

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twitter.com"
TWEEPY_HOST = "https://api.twitter.com"  # hard-coded in tweepy.client.BaseClient.request (4.x)
PAGE_SIZE = 100  # the most recent search returns per request
SEARCH_FIELDS: dict[str, Any] = {
    "max_results": PAGE_SIZE,
    "expansions": ["author_id"],
    # note_tweet: a post over 280 characters has only its start in ``text``, the whole in note_tweet.text
    "tweet_fields": ["created_at", "lang", "public_metrics", "conversation_id", "author_id", "note_tweet"],
    "user_fields": ["username", "name", "public_metrics"],
}
# Recent search rejects (400) a since_id older than its 7-day window; a source
# left unpolled that long starts afresh instead of failing forever.
_SEARCH_WINDOW = timedelta(days=7) - timedelta(hours=1)
_TWITTER_EPOCH_MS = 1288834974657  # snowflake ids carry their creation time
_BARE_TERM = re.compile(r"[@#$]?\w+")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)*")


@dataclass(frozen=True)
class XOptions:
    #: App-only Bearer token from the X developer portal.
    bearer_token: Secret
    #: API host; point it at a proxy, a sandbox or a test server.
    base_url: str = DEFAULT_BASE_URL
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: Add ``-is:retweet`` to built queries (a retweet repeats someone else's words).
    exclude_retweets: bool = True
    #: Add ``-from:<handle>`` for the brand's own accounts to built queries.
    exclude_own_posts: bool = True
    #: Only posts X classified in this language (a BCP-47 code such as "en").
    lang: str | None = None
    #: Page budget per query per poll (100 posts a page).
    max_pages: int = 10
    #: X's query-length limit: 512 on self-serve plans, 4096 on Enterprise.
    max_query_length: int = 512
    #: When to retry after a 429 that says nothing about its reset time.
    rate_limit_backoff: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        check_options(self)
        if self.max_query_length < 32:
            raise ValueError("max_query_length: must be at least 32")
        if self.lang is not None and not _LANG.fullmatch(self.lang):
            raise ValueError(f'lang: "{self.lang}" is not a language code such as "en" or "pt"')


class XConnector:
    """Recent search (the last 7 days) for a brand's terms, incremental by ``since_id``."""

    platform: ClassVar[str] = "x"
    Options: ClassVar[type] = XOptions
    needs_query: ClassVar[bool] = True  # it only searches: a brand or a query is needed

    def __init__(self, options: XOptions) -> None:
        self.options = options

    # ------------------------------------------------------------------ query
    def build_query(self, brand: BrandQuery) -> str:
        """The brand's terms OR-ed, then its exclusions; one query per line when
        they do not fit in ``max_query_length``."""
        return "\n".join(build_queries(brand, self.options))

    # ------------------------------------------------------------------ fetch
    def fetch(self, query: str, cursor: str | None) -> Batch:
        queries = query_lines(query, "x")
        for q in queries:
            if len(q) > self.options.max_query_length:
                raise BadQuery(
                    f"x: a query is {len(q)} characters, over the {self.options.max_query_length}"
                    f" allowed (max_query_length): shorten it or write it as several lines: {q[:60]}…"
                )
        before = decode_cursor(cursor, "x")
        found: dict[str, Mention] = {}
        after: dict[str, str] = {}
        with _Api(self.options) as api:
            for q in queries:
                since = before.get(q)
                newest = self._search(api, q, since if isinstance(since, str) else None, found)
                if newest:
                    after[q] = newest
            requests = api.requests
        return Batch(list(found.values()), encode_cursor(after) if after != before else None, requests)

    def _search(self, api: _Api, query: str, since_id: str | None, found: dict[str, Mention]) -> str | None:
        """Every page newer than ``since_id`` (up to the page budget); the newest id seen."""
        if since_id and _snowflake_time(since_id) < datetime.now(timezone.utc) - _SEARCH_WINDOW:
            log.warning("x: %r: last post seen is older than recent search's 7 days; starting afresh", query)
            since_id = None
        newest = int(since_id) if since_id and since_id.isdigit() else 0
        token: str | None = None
        for _page in range(self.options.max_pages):
            page = api.search(query, since_id, token)
            for mention in _mentions(page):
                found.setdefault(mention.id, mention)
                newest = max(newest, int(mention.id) if mention.id.isdigit() else 0)
            meta = page.get("meta") or {}
            if str(meta.get("newest_id", "")).isdigit():
                newest = max(newest, int(meta["newest_id"]))
            token = meta.get("next_token")
            if not token:
                break
        else:
            log.warning(
                "x: %r: stopped after %d pages (max_pages); older matching posts are skipped",
                query, self.options.max_pages,
            )
        return str(newest) if newest else None


def build_queries(brand: BrandQuery, options: XOptions) -> list[str]:
    """The brand's terms as X queries, each within ``options.max_query_length``."""
    terms = list(dict.fromkeys(_term(t) for t in brand.terms() if t.strip()))
    suffix = [f"-{_term(t)}" for t in brand.exclude if t.strip()]
    if options.exclude_own_posts:
        suffix += [f"-from:{h.strip().lstrip('@')}" for h in brand.handles if h.strip().lstrip("@")]
    if options.exclude_retweets:
        suffix.append("-is:retweet")
    if options.lang:
        suffix.append(f"lang:{options.lang}")
    tail = " ".join(dict.fromkeys(suffix))
    room = options.max_query_length - (len(tail) + 1 if tail else 0)
    if room < 3:
        raise BadQuery(
            f"x: brand {brand.name}: its exclusions alone take {len(tail)} of the"
            f" {options.max_query_length} characters a query may have; drop some"
        )
    groups: list[list[str]] = []
    for term in terms:
        if len(term) > room:
            raise BadQuery(f"x: brand {brand.name}: the term {term[:40]!r} does not fit in a query")
        if groups and len(_group([*groups[-1], term])) <= room:
            groups[-1].append(term)
        else:
            groups.append([term])
    return [f"{_group(g)} {tail}".strip() for g in groups]


def _term(text: str) -> str:
    """A word, @handle or #hashtag as it is; anything else as an exact phrase."""
    text = text.strip()
    return text if _BARE_TERM.fullmatch(text) else '"' + text.replace('"', "") + '"'


def _group(terms: list[str]) -> str:
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _snowflake_time(post_id: str) -> datetime:
    try:
        return utc_from_timestamp(((int(post_id) >> 22) + _TWITTER_EPOCH_MS) / 1000)
    except (ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)  # not a snowflake: let X judge it


# ---------------------------------------------------------------------- mapping
def _mentions(page: Mapping[str, Any]) -> Iterator[Mention]:
    data = page.get("data", [])
    includes = page.get("includes") or {}
    if not isinstance(data, list) or not isinstance(includes, Mapping) or not isinstance(page.get("meta", {}), Mapping):
        raise BadPayload("x: recent search answered with an unexpected shape (data is not a list)")
    users = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, Mapping)}
    for post in data:
        mention = _mention(post, users)
        if mention is not None:
            yield mention


def _mention(post: Any, users: Mapping[str, Mapping[str, Any]]) -> Mention | None:
    if not isinstance(post, Mapping) or not post.get("id") or not isinstance(post.get("text"), str):
        log.warning("x: skipping a post without id or text: %.200r", post)
        return None
    post_id = str(post["id"])
    user = users.get(post.get("author_id")) or {}
    username = user.get("username")
    try:
        created = parse_iso_datetime(post["created_at"])
    except (KeyError, TypeError, ValueError):
        created = _snowflake_time(post_id)  # the id says when it was posted
    metrics = post.get("public_metrics") or {}
    author_metrics = user.get("public_metrics") or {}
    reposts = [metrics.get(k) for k in ("retweet_count", "quote_count") if isinstance(metrics.get(k), int)]
    return Mention(
        platform="x",
        id=post_id,
        text=_full_text(post),
        author=username,
        url=f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}",
        created_at=created,
        raw={"post": dict(post), "author": dict(user)} if user else {"post": dict(post)},
        lang=post.get("lang"),
        likes=whole_number(metrics, "like_count"),
        replies=whole_number(metrics, "reply_count"),
        reposts=sum(reposts) if reposts else None,
        followers=whole_number(author_metrics, "followers_count"),
    )


def _full_text(post: Mapping[str, Any]) -> str:
    """The whole text: a long post's ``note_tweet.text``, else ``text``."""
    note = post.get("note_tweet")
    whole = note.get("text") if isinstance(note, Mapping) else None
    return whole if isinstance(whole, str) and whole else post["text"]


# ------------------------------------------------------------------ transport
class _Api:
    """A tweepy client for one poll: rerouted, timed out, and its errors mapped.

    Counts its requests, and refuses to make one the last response said
    would be over the rate limit (raising :class:`RateLimited` instead).
    """

    def __init__(self, options: XOptions) -> None:
        self.options = options
        self.requests = 0
        self._session: Any = None
        self._client: Any = None
        self._quota = QuotaGuard("x")

    def __enter__(self) -> _Api:
        import tweepy  # lazily: start-up time matters

        token = self.options.bearer_token.reveal()
        self._client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
        self._session = _session_class()(self.options.base_url, self.options.timeout)
        self._client.session = self._session  # a plain attribute in tweepy 4.x
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:  # a failed poll still reports the requests it made
            note_requests(exc, self.requests)
        if self._session is not None:
            self._session.close()

    def search(self, query: str, since_id: str | None, next_token: str | None) -> dict[str, Any]:
        import requests
        import tweepy

        self._check_quota()
        self.requests += 1
        try:
            page = self._client.search_recent_tweets(
                query, since_id=since_id, next_token=next_token, **SEARCH_FIELDS
            )
        except tweepy.Unauthorized as exc:
            secret = self.options.bearer_token
            raise AuthError(
                f"{secret.where}: X rejected the bearer token from {secret.describe()}"
                f" (401 {_detail(exc)}); check that it is the app's current Bearer token"
            ) from None
        except tweepy.Forbidden as exc:
            raise AuthError(
                f"{self.options.bearer_token.section}: X refused recent search (403 {_detail(exc)});"
                " the app must belong to a Project whose plan includes recent search"
                " (check it in the developer portal)"
            ) from None
        except tweepy.BadRequest as exc:
            raise BadQuery(f"x: X rejected the query {query[:80]!r} (400 {_detail(exc)})") from None
        except tweepy.HTTPException as exc:  # 429, server errors, and statuses X should not answer
            raise self._error(exc.response) from None
        except ValueError as exc:  # before RequestException: requests' JSONDecodeError is both
            last = self._session.last_response
            if last is not None and last.status_code == 429:  # a garbled x-rate-limit-reset
                raise self._error(last) from None
            raise BadPayload(f"x: recent search answered with invalid JSON ({exc})") from None
        except requests.RequestException as exc:
            raise no_response("x", exc, self.options.base_url, self.options.timeout) from None
        if not isinstance(page, dict):
            raise BadPayload("x: recent search answered with something other than a JSON object")
        return page

    def _check_quota(self) -> None:
        last = self._session.last_response  # tweepy's dicts drop the headers: the session kept them
        if last is not None:
            self._quota.note(last)
        self._quota.check()

    def _error(self, response: requests.Response) -> ConnectorError:
        """A 429 for the plan's monthly cap says so; the rest are mapped by status."""
        backoff = self.options.rate_limit_backoff
        if response.status_code == 429:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if isinstance(body, Mapping) and body.get("title") == "UsageCapExceeded":
                why = f"the plan's monthly post cap is used up (429 {body.get('detail', '')})"
                return rate_limited("x", why, retry_at(response, backoff))
        return error_for_status("x", response, backoff=backoff)


def _detail(exc: Any) -> str:
    messages = getattr(exc, "api_messages", None) or []
    return "; ".join(str(m) for m in messages) or str(getattr(exc.response, "reason", "")) or "no detail"


@cache
def _session_class() -> type:
    """A requests.Session that sends tweepy's requests to ``base_url`` with a timeout.

    tweepy hard-codes ``https://api.twitter.com`` and passes no timeout; both
    are fixed here rather than by copying tweepy's request code. The last
    response is kept for its rate-limit headers (``return_type=dict`` drops them).
    Its body is read here, at most ``MAX_RESPONSE_BYTES`` (:func:`connectors.http.read_body`).
    """
    import requests

    class _Session(requests.Session):
        def __init__(self, base_url: str, timeout: float) -> None:
            super().__init__()
            self.base_url = base_url.rstrip("/")
            self.timeout = timeout
            self.last_response: requests.Response | None = None
            self.hooks["response"].append(redirect_body_reader("x"))  # a redirect's body too

        def request(  # type: ignore[override]
            self, method: str, url: str, *args: Any, **kwargs: Any
        ) -> requests.Response:
            if url.startswith(TWEEPY_HOST):
                url = self.base_url + url[len(TWEEPY_HOST):]
            kwargs["timeout"] = self.timeout
            kwargs["stream"] = True  # read below, at most MAX_RESPONSE_BYTES
            response = super().request(method, url, *args, **kwargs)
            self.last_response = response
            read_body(response, "x", within=self.timeout)
            return response

    return _Session
