"""The Meta Graph API, as Facebook Pages and Instagram professional accounts use it.

Shared by :mod:`connectors.facebook` and :mod:`connectors.instagram`: the
options both take, the token sent as a Bearer header, edges read page by page
through ``paging.next`` (re-aimed at ``base_url``: it carries the real host)
until a page has none (an empty page is not the end),
and Graph's error model. Graph reports most failures as HTTP 400 with
``{"error": {"code": N, ...}}``, so errors are classified by code:

* 4, 17, 32, 613, 80001-80009 (app, user, page, custom and business-use-case
  limits): :class:`RateLimited`, retried when the usage headers'
  ``estimated_time_to_regain_access`` (minutes) says, else after ``rate_limit_backoff``.
* 102, 190, 463, 467 (token missing, invalid or expired): :class:`AuthError`.
* 10, 200-299 (permission missing): :class:`AuthError` naming the permission problem.
* 12 (deprecated edge or field): :class:`Unavailable`, which callers may treat as
  "this feature is gone" rather than as a failed poll.
* 100, 803 (bad parameter, unknown object): :class:`BadQuery`.
* 1, 2 or ``is_transient``: :class:`TransientError`.

The usage headers (``X-App-Usage``, ``X-Page-Usage``, ``X-Business-Use-Case-Usage``,
percentages of quota) are read on every response: at 100% or with a wait time
the next request raises :class:`RateLimited` instead of being sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from connectors.base import (
    AuthError,
    BadPayload,
    BadQuery,
    ConnectorError,
    Mention,
    Secret,
    parse_iso_datetime,
)
from connectors.http import HttpClient, check_options, rate_limited, server_error
from connectors.watermark import Watermark

if TYPE_CHECKING:
    from requests import Response

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v26.0"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80010)})
TOKEN_CODES = frozenset({102, 190, 463, 467})
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage", "x-ad-account-usage")
_PERCENTS = ("call_count", "total_cputime", "total_time")


class Unavailable(BadQuery):
    """Graph no longer serves this edge or field in the configured version (error code 12)."""


@dataclass(frozen=True, kw_only=True)
class GraphOptions:
    """The keys every Graph API source takes (after its own required ones)."""

    #: Graph API host; point it at a proxy, a sandbox or a test server.
    base_url: str = DEFAULT_BASE_URL
    #: Graph API version, sent as the first path segment.
    api_version: str = DEFAULT_VERSION
    #: Seconds to wait for each response.
    timeout: float = 20.0
    #: Page budget per edge per poll.
    max_pages: int = 10
    #: Items asked for per page (Graph allows up to 100; Instagram edges 50).
    page_size: int = 50
    #: How far back the first poll of an edge reaches.
    lookback: timedelta = timedelta(days=7)
    #: When to retry after a rate-limit error whose headers give no wait time.
    rate_limit_backoff: timedelta = timedelta(minutes=15)
    #: Leave out posts and comments written by the brand's own account.
    exclude_own: bool = True

    def __post_init__(self) -> None:
        check_options(self, page_size_max=100)
        if not self.api_version.startswith("v"):
            raise ValueError(f'api_version: "{self.api_version}" must look like "v26.0"')


class GraphApi:
    """A Graph session for one poll: ``get`` one object, ``pages`` of an edge."""

    def __init__(self, platform: str, options: GraphOptions, token: Secret) -> None:
        self.platform = platform
        self.options = options
        self.token = token
        self._http = HttpClient(
            platform, options.base_url, options.timeout, backoff=options.rate_limit_backoff,
            secret=token, classify=self._classify, quota=self._usage_block,
        )

    @property
    def requests(self) -> int:
        return self._http.requests

    def __enter__(self) -> GraphApi:
        self._http.headers["Authorization"] = f"Bearer {self.token.reveal()}"
        self._http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.__exit__(*exc)

    def path(self, *segments: str) -> str:
        return "/" + "/".join([self.options.api_version, *segments])

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = self._http.get_json(path, params=dict(params))
        if not isinstance(body, dict):
            raise BadPayload(f"{self.platform}: {path} answered with something other than a JSON object")
        return body

    def pages(self, path: str, params: Mapping[str, Any], what: str) -> Iterator[list[dict[str, Any]]]:
        """The ``data`` of each page of an edge, newest first as Graph lists them, following
        ``paging.next`` while the caller asks for more, up to ``max_pages``."""
        target: str | None = path
        query: Mapping[str, Any] | None = params
        for _page in range(self.options.max_pages):
            assert target is not None
            body = self._http.get_json(target, params=query)
            data = body.get("data") if isinstance(body, Mapping) else None
            if not isinstance(data, list):
                raise BadPayload(f"{self.platform}: {what} answered without a data list")
            yield [item for item in data if isinstance(item, dict)]
            paging = body.get("paging")
            target = paging.get("next") if isinstance(paging, Mapping) else None
            # Only a missing next ends an edge: Graph privacy-filters a page after
            # filling it, so a page may come back empty with more pages behind it.
            if not isinstance(target, str) or not target:
                return
            query = None  # the next URL carries every parameter
        log.warning("%s: %s: stopped after %d pages (max_pages); older items are skipped",
                    self.platform, what, self.options.max_pages)

    def _classify(self, response: Response) -> ConnectorError | None:
        try:
            error = json.loads(response.content).get("error")
        except (ValueError, AttributeError):
            return None
        if not isinstance(error, Mapping):
            return None
        code = error.get("code")
        message = str(error.get("message") or "no message")  # masked, then shortened, by the poll
        p = self.platform
        if code in RATE_LIMIT_CODES:
            blocked = self._usage_block(response)
            if blocked is not None:
                until, _ = blocked
                return rate_limited(p, f"rate limited (code {code}: {message})", until)
            return self._http.rate_limited(response, f"rate limited (code {code}: {message})")
        if code in TOKEN_CODES:
            return AuthError(
                f"{self.token.where}: Graph rejected the access token from {self.token.describe()}"
                f" (code {code}: {message}); make a new long-lived token"
            )
        if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
            return AuthError(
                f"{self.token.section}: the token lacks a permission (code {code}: {message});"
                " see the README for the permissions this platform needs"
            )
        if code == 12:
            return Unavailable(f"{p}: no longer available in {self.options.api_version} (code 12: {message})")
        if code in (100, 803):
            return BadQuery(f"{p}: Graph rejected the request (code {code}: {message})")
        if code in (1, 2) or error.get("is_transient") is True or response.status_code >= 500:
            return server_error(f"{p}: server error {response.status_code} (code {code}: {message})", response)
        return None

    def _usage_block(self, response: Response) -> tuple[datetime, str] | None:
        """Until when the usage headers say to stop, or ``None`` while under quota."""
        wait = 0.0
        full: str | None = None
        for name in USAGE_HEADERS:
            for usage in _usages(response.headers.get(name)):
                minutes = usage.get("estimated_time_to_regain_access")
                if isinstance(minutes, (int, float)) and minutes > wait:
                    wait, full = float(minutes), name
                if any(isinstance(usage.get(k), (int, float)) and usage[k] >= 100 for k in _PERCENTS):
                    full = full or name
        if full is None:
            return None
        pause = timedelta(minutes=wait) if wait else self.options.rate_limit_backoff
        return datetime.now(timezone.utc) + pause, f"rate limit used up ({full} at 100%)"


def collect(
    platform: str,
    what: str,
    page: list[dict[str, Any]],
    mark: Watermark,
    found: dict[str, Mention],
    make: Callable[[dict[str, Any]], Mention],
    *,
    time_key: str = "created_time",
    skip: Callable[[Mapping[str, Any]], bool] = lambda item: False,
    ordered: bool = True,
) -> bool:
    """Add a page's new items to ``found`` (those ``skip`` accepts are only recorded as seen).

    Returns whether later pages may still hold new items: ``False`` once an
    ``ordered`` (newest-first) page reaches items older than the watermark.
    """
    for item in page:
        at = graph_time(item.get(time_key))
        if not item.get("id") or at is None:
            log.warning("%s: %s: skipping an item without id or %s: %.200r", platform, what, time_key, item)
            continue
        if mark.is_old(at.timestamp()):
            if ordered:
                return False
            continue
        if mark.take(str(item["id"]), at.timestamp()):
            if not skip(item):
                found.setdefault(str(item["id"]), make(item))
    return True


def graph_time(value: Any) -> datetime | None:
    """A Graph ``created_time``/``timestamp`` ("2026-01-11T07:14:00+0000"); ``None`` if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return parse_iso_datetime(value)
    except ValueError:
        return None


def _usages(value: str | None) -> list[Mapping[str, Any]]:
    """The usage objects in a usage header: one object, or lists keyed by business id."""
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return []
    if not isinstance(parsed, Mapping):
        return []
    if any(k in parsed for k in (*_PERCENTS, "estimated_time_to_regain_access")):
        return [parsed]
    return [u for entries in parsed.values() if isinstance(entries, list) for u in entries if isinstance(u, Mapping)]
