"""Plain-HTTP plumbing for connectors that talk to a JSON (or feed) API with requests.

:class:`HttpClient` is one ``requests.Session`` for one poll: every request
goes to ``base_url`` (absolute URLs a platform hands back for paging, which
carry the real host, are re-aimed there too), has the timeout, is counted,
its body is read up to :data:`MAX_RESPONSE_BYTES` (decompressed), and every
failure becomes a :class:`~connectors.base.ConnectorError`:

========================================  ==========================================
timeout                                   TransientError "no answer within Ns"
connection refused, reset, DNS            TransientError "cannot reach host"
429                                       RateLimited, at ``Retry-After`` or the
                                          reset header, else ``now + backoff``
401, 403                                  AuthError naming the secret's config key
400, 404, 422                             BadQuery
408, 5xx                                  TransientError "server error N" (with
                                          ``retry_at`` from a future ``Retry-After``)
a body that is not JSON (:meth:`json`)    BadPayload
a body over MAX_RESPONSE_BYTES (a         BadPayload "answered with more than 32 MB"
redirect's too)
a redirect off base_url's host, when the  ConnectorError "redirected to ...; not
client sends credentials                  followed with the credentials"
========================================  ==========================================

A platform's own error bodies (Graph API error codes, XRPC error names) are
read first by the connector's ``classify`` hook. Connectors that reach the API
through a platform library (tweepy, praw) map the library's errors with the
same functions: :func:`error_for_status` (the table above), :func:`rate_limited`
(the one "retry after" message) and :class:`QuotaGuard`. Rate-limit headers are
watched on every response: when one says the quota is used up
(``X-RateLimit-Remaining: 0`` and a reset time, or the connector's ``quota``
hook), the *next* request raises :class:`RateLimited` instead of being sent.
Nothing here sleeps. ``requests`` is imported on first use, not with this module.
"""

from __future__ import annotations

import json as jsonlib
import math
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from connectors.base import (
    AuthError,
    BadPayload,
    BadQuery,
    ConnectorError,
    RateLimited,
    Secret,
    TransientError,
    check_at_least_one,
    note_requests,
    parse_iso_datetime,
    utc_from_timestamp,
)

if TYPE_CHECKING:
    import requests

USER_AGENT = "sentiment-monitor/0.1 (self-hosted brand mention monitor)"
#: The most a response body may hold once decompressed. A page of any platform is well under
#: 1 MB and a large feed a few MB; a bigger body (an endless one, or a gzip bomb: 400 KB on the
#: wire that inflates to gigabytes) is refused before it fills the memory.
MAX_RESPONSE_BYTES = 32 * 2**20
_CHUNK = 64 * 1024
_REMAINING = ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining")
_RESET = ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset")
_EPOCH_FROM = 1_000_000_000  # a reset value this large is a Unix time, smaller ones are seconds from now

Classify = Callable[["requests.Response"], "ConnectorError | None"]
Quota = Callable[["requests.Response"], "tuple[datetime, str] | None"]


class HttpClient:
    """One session for one poll; use as a context manager. See the module docstring."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        timeout: float,
        *,
        backoff: timedelta,
        secret: Secret | None = None,
        user_agent: str = USER_AGENT,
        headers: Mapping[str, str] | None = None,
        classify: Classify | None = None,
        quota: Quota | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.backoff = backoff
        self.secret = secret
        self.headers = {"User-Agent": user_agent, **(headers or {})}
        self.classify = classify
        self.requests = 0
        self._session: Any = None
        self._quota = QuotaGuard(platform, quota)

    def __enter__(self) -> HttpClient:
        import requests

        self._session = requests.Session()
        self._session.headers.update(self.headers)
        if self.secret is not None:
            self._session.hooks["response"].append(self._stay_on_base_host)
        self._session.hooks["response"].append(redirect_body_reader(self.platform))
        return self

    def _stay_on_base_host(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A client that sends credentials follows redirects only on ``base_url``'s host (and to
        https there): requests drops an ``Authorization`` header on the way to another host, but
        not a request body, such as a login's password, which a 307 or 308 sends again."""
        if not response.is_redirect:
            return
        target = urlsplit(urljoin(response.url, response.headers["location"]))
        base = urlsplit(self.base_url)
        try:
            same = (target.scheme, target.port) == (base.scheme, base.port) or target.scheme == "https"
        except ValueError:  # a port that is not a number
            same = False
        if target.hostname != base.hostname or not same:
            response.close()
            where = target.netloc.rpartition("@")[2]  # never a user:password@ it may carry
            raise ConnectorError(
                f"{self.platform}: {urlsplit(response.url).path} redirected to {target.scheme}://{where}"
                f" ({response.status_code}), which is not base_url's host; not followed with the"
                " credentials (set base_url to that server if it is meant)"
            )

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:  # a failed poll still reports the requests it made
            note_requests(exc, self.requests)
        if self._session is not None:
            self._session.close()

    # ------------------------------------------------------------ requests
    def url(self, target: str) -> str:
        """``target`` (a path, or an absolute URL from the platform) on ``base_url``."""
        return rebase(target, self.base_url) if "://" in target else f"{self.base_url}/{target.lstrip('/')}"

    def get(self, target: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", target, **kwargs)

    def post(self, target: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", target, **kwargs)

    def request(self, method: str, target: str, **kwargs: Any) -> requests.Response:
        """Send one request; a response with an error status raises (see the module docstring)."""
        import requests

        self._quota.check()
        url = self.url(target)
        self.requests += 1
        try:
            response = self._session.request(method, url, timeout=self.timeout, stream=True, **kwargs)
            read_body(response, self.platform, within=self.timeout)
        except requests.RequestException as exc:
            raise no_response(self.platform, exc, url, self.timeout) from None
        self._quota.note(response)
        if response.status_code >= 400:
            raise self.error(response)
        return response

    def json(self, response: requests.Response) -> Any:
        """The response's JSON value; :class:`BadPayload` when it is not JSON."""
        try:
            return jsonlib.loads(response.content)
        except ValueError as exc:
            raise BadPayload(
                f"{self.platform}: {urlsplit(response.url).path} answered with invalid JSON ({exc})"
            ) from None

    def get_json(self, target: str, **kwargs: Any) -> Any:
        return self.json(self.get(target, **kwargs))

    # -------------------------------------------------------------- errors
    def error(self, response: requests.Response) -> ConnectorError:
        """The ConnectorError for an error response (the ``classify`` hook first)."""
        if self.classify is not None:
            found = self.classify(response)
            if found is not None:
                return found
        return error_for_status(self.platform, response, backoff=self.backoff, secret=self.secret)

    def rate_limited(self, response: requests.Response, why: str = "rate limited (429)") -> RateLimited:
        """A RateLimited for ``response``: at the time its headers say, else after ``backoff``."""
        return rate_limited(self.platform, why, retry_at(response, self.backoff))


class QuotaGuard:
    """Watches rate-limit headers: once a response says the quota is used up
    (``X-RateLimit-Remaining: 0`` and a reset time, or the ``quota`` hook), :meth:`check`
    raises :class:`RateLimited` until the reset instead of letting the next request go."""

    def __init__(self, platform: str, quota: Quota | None = None) -> None:
        self.platform = platform
        self.quota = quota
        self._blocked: tuple[datetime, str] | None = None

    def note(self, response: requests.Response) -> None:
        blocked = self.quota(response) if self.quota is not None else None
        if blocked is None:
            remaining = next((name for name in _REMAINING if name in response.headers), None)
            if remaining is not None and _number(response.headers[remaining]) == 0:
                reset = _reset_time(response)
                if reset is not None:
                    blocked = (reset, f"rate limit used up ({remaining}: 0)")
        if blocked is not None:
            self._blocked = blocked

    def check(self) -> None:
        if self._blocked is None:
            return
        until, why = self._blocked
        if until > datetime.now(timezone.utc):
            raise rate_limited(self.platform, why, until)
        self._blocked = None


def error_for_status(
    platform: str, response: requests.Response, *, backoff: timedelta, secret: Secret | None = None
) -> ConnectorError:
    """The ConnectorError for an error response, by its status (the module docstring's table);
    ``secret`` is named when credentials are refused, ``backoff`` is the wait when a 429 gives none."""
    status, p = response.status_code, platform
    detail = error_detail(response)
    if status == 429:
        return rate_limited(p, "rate limited (429)", retry_at(response, backoff))
    if status in (401, 403):
        if secret is not None:
            return AuthError(
                f"{secret.where}: {p} refused the credentials from {secret.describe()} ({status} {detail})"
            )
        return AuthError(f"{p}: access refused ({status} {detail})")
    if status in (400, 404, 422):
        return BadQuery(f"{p}: {urlsplit(response.url).path} rejected the request ({status} {detail})")
    if status == 408 or status >= 500:
        return server_error(f"{p}: server error {status} {response.reason or ''}".rstrip(), response)
    return ConnectorError(f"{p}: unexpected {status} from {urlsplit(response.url).path}: {detail}")


def read_body(
    response: requests.Response, platform: str, limit: int = MAX_RESPONSE_BYTES, *, within: float | None = None
) -> None:
    """Read the body of ``response`` (sent with ``stream=True``) into it, so ``content`` and
    ``json()`` work as usual: at most ``limit`` bytes once decompressed, else :class:`BadPayload`
    (the connection is closed, the rest never read). Reading errors are ``requests``' own.

    ``within``: seconds the whole body may take to arrive (the client's timeout). A request's
    timeout bounds each wait for bytes, not the body: a server that sends a byte now and then
    (or stops halfway) would hold the poll for ever. Past ``within`` the read is cut, and a
    body that stops arriving raises ``requests.ReadTimeout`` (:func:`no_response` says so)."""
    import requests
    from urllib3.exceptions import ReadTimeoutError

    def too_big() -> BadPayload:
        response.close()
        return BadPayload(
            f"{platform}: {urlsplit(response.url).path} answered with more than"
            f" {limit / 2**20:g} MB (decompressed); not read"
        )

    declared = _number(response.headers.get("content-length") or "")
    if declared is not None and declared > limit and not response.headers.get("content-encoding"):
        raise too_big()
    def timed_out() -> requests.ReadTimeout:
        response.close()
        exc = requests.ReadTimeout(f"the body did not arrive whole within {within:g}s", response=response)
        exc.partial_body = True  # type: ignore[attr-defined]
        return exc

    cut = threading.Event()
    timer = None
    if within is not None:
        timer = threading.Timer(within, _cut_off, (response, cut))
        timer.daemon = True
        timer.start()
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_big()
            chunks.append(chunk)
    except requests.RequestException as exc:
        # requests reports a read timeout in the body as a ConnectionError; a cut read as a broken one
        if cut.is_set() or (exc.args and isinstance(exc.args[0], ReadTimeoutError)):
            raise timed_out() from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if cut.is_set():  # a body without a length ends where it was cut: not the whole of it
        raise timed_out()
    response._content = b"".join(chunks)  # what ``content`` would have read, unbounded


def _cut_off(response: requests.Response, cut: threading.Event) -> None:
    """Interrupt a read of ``response``'s body blocked in another thread (urllib3 2.3+)."""
    cut.set()
    try:
        response.raw.shutdown()
    except (AttributeError, ValueError, RuntimeError, OSError):
        pass  # nothing is being read any more


def redirect_body_reader(platform: str) -> Callable[..., None]:
    """A ``requests`` response hook that reads the body of a redirect with :func:`read_body`:
    requests reads it whole before it follows the redirect (to free the connection), so a
    gzip bomb in a 302 was inflated however large. The session must send ``stream=True``."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.is_redirect:
            timeout = kwargs.get("timeout")  # the request's: a number, or (connect, read)
            within = timeout[-1] if isinstance(timeout, tuple) else timeout
            read_body(response, platform, within=within if isinstance(within, (int, float)) else None)

    return hook


def no_response(platform: str, exc: BaseException, url: str, timeout: float) -> TransientError:
    """The TransientError for a request to ``url`` that got no answer: a timeout, or an unreachable host.
    When a redirect led to another host, that host is the one named (with where it came from)."""
    import requests

    parts = urlsplit(url)
    asked = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    failed = getattr(getattr(exc, "request", None), "url", None)  # the request that failed
    where, moved = asked, ""
    if isinstance(failed, str) and "://" in failed:
        target = urlsplit(failed)
        if (target.scheme, target.netloc) != (parts.scheme, parts.netloc):
            where = f"{target.scheme}://{target.netloc.rpartition('@')[2]}"  # never a user:password@
            moved = f" (redirected there from {asked})"
    elsewhere = f" from {where}{moved}" if moved else ""  # a timeout names the host only after a redirect
    if getattr(exc, "partial_body", False):  # read_body's: an answer that stopped or only trickled
        return TransientError(f"{platform}: the answer did not arrive whole within {timeout:g}s (timeout){elsewhere}")
    if isinstance(exc, requests.Timeout):
        return TransientError(f"{platform}: no answer within {timeout:g}s (timeout){elsewhere}")
    return TransientError(f"{platform}: cannot reach {where}{moved}: {type(exc).__name__}")


def rate_limited(platform: str, why: str, retry_at: datetime) -> RateLimited:
    """The RateLimited every connector raises: "<platform>: <why>, retry after <UTC time>"."""
    return RateLimited(f"{platform}: {why}, retry after {retry_at:%Y-%m-%dT%H:%M:%SZ}", retry_at)


def check_options(options: Any, *, page_size_max: int | None = None) -> None:
    """The checks an HTTP connector's options share: ``timeout``, ``max_pages``,
    ``page_size`` (up to ``page_size_max``) and the ``base_url``/``url``/``auth_url`` scheme,
    where present.
    Raises ValueError naming the key (the config reports it with the source)."""
    if options.timeout <= 0:
        raise ValueError("timeout: must be more than 0 seconds")
    if hasattr(options, "max_pages"):
        check_at_least_one(options, "max_pages")
    if page_size_max is not None and not 1 <= options.page_size <= page_size_max:
        raise ValueError(f"page_size: must be 1 to {page_size_max}")
    for key in ("base_url", "url", "auth_url"):
        value = getattr(options, key, None)
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f'{key}: "{value}" must start with https:// (or http://)')


def rebase(url: str, base_url: str) -> str:
    """``url`` with its scheme and host (the platform's real one, in paging links) replaced by
    ``base_url``'s, whose path, if any, is put in front: a proxy or fake server sees every page."""
    parts, base = urlsplit(url), urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


def error_detail(response: requests.Response) -> str:
    """The message in an error body (``error``, ``error.message``, ``message``, ``detail``), or the
    reason. Whole: a failed poll's error is masked, then shortened (it may quote a credential)."""
    try:
        body = jsonlib.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return error["message"]
        for key in ("message", "error_description", "detail", "error", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return response.reason or "no detail"


def retry_time(response: requests.Response) -> datetime | None:
    """When a rate-limited response says to retry: ``Retry-After`` (seconds or an HTTP date),
    else a reset header (Unix time, seconds from now, or ISO 8601); ``None`` if neither is
    readable or the time it says is not in the future (retrying at once would only be refused
    again, poll after poll). Times are measured on the server's clock when it sends ``Date``."""
    at = _retry_after(response) or _reset_time(response)
    return at if at is not None and at > datetime.now(timezone.utc) else None


def server_error(message: str, response: requests.Response) -> TransientError:
    """The TransientError for a server error; not retried before its ``Retry-After`` (a 503 in
    maintenance says how long), when that is in the future. Reset headers are about the quota."""
    at = _retry_after(response)
    if at is None or at <= datetime.now(timezone.utc):
        return TransientError(message)
    return TransientError(f"{message}, retry after {at:%Y-%m-%dT%H:%M:%SZ}", at)


def _retry_after(response: requests.Response) -> datetime | None:
    """``Retry-After`` (seconds, or an HTTP date on the server's clock), or ``None``."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return _in_seconds(seconds)
    try:
        return _on_our_clock(parsedate_to_datetime(value), response)
    except (TypeError, ValueError, IndexError):
        return None


def retry_at(response: requests.Response, backoff: timedelta) -> datetime:
    """When to retry after a rate-limited ``response``: :func:`retry_time`, else ``backoff`` from now."""
    return retry_time(response) or datetime.now(timezone.utc) + backoff


def after_seconds(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=max(0.0, seconds))


def epoch_time(value: str | None) -> datetime | None:
    """A Unix time in a header, or ``None`` when absent or unreadable."""
    try:
        return utc_from_timestamp(int(value)) if value else None
    except (ValueError, OverflowError, OSError):
        return None


def _in_seconds(seconds: float) -> datetime | None:
    """``seconds`` from now; ``None`` for a number no server means (infinite, NaN, past year 9999)."""
    try:
        return after_seconds(seconds) if math.isfinite(seconds) else None
    except OverflowError:
        return None


def _on_our_clock(at: datetime, response: requests.Response) -> datetime:
    """``at``, a time on the server's clock, on ours: as far from now as it is from the
    response's ``Date`` (a server clock minutes off would otherwise ask for a wait already
    over, or longer than meant); ``at`` itself without a readable ``Date``."""
    try:
        server_now = parsedate_to_datetime(response.headers["date"])
        return datetime.now(timezone.utc) + (at.astimezone(timezone.utc) - server_now)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        return at.astimezone(timezone.utc)


def _reset_time(response: requests.Response) -> datetime | None:
    value = next((response.headers[name] for name in _RESET if name in response.headers), None)
    if not value:
        return None
    number = _number(value)
    if number is not None:
        if not math.isfinite(number) or number < _EPOCH_FROM:
            return _in_seconds(number)
        at = epoch_time(str(int(number)))
        return None if at is None else _on_our_clock(at, response)
    try:
        reset = parse_iso_datetime(value)
    except ValueError:
        return None
    return _on_our_clock(reset, response)  # Mastodon's ISO reset is in the server's clock


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
