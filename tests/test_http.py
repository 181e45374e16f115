"""The shared plain-HTTP helper: paging links re-aimed at base_url, retry times from headers, errors by status."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from connectors.base import RateLimited
from connectors.http import QuotaGuard, error_for_status, rate_limited, rebase, retry_time


def response(headers: dict[str, str]) -> requests.Response:
    made = requests.Response()
    made.status_code = 429
    made.headers.update(headers)
    return made


def test_paging_links_keep_path_and_query_on_the_configured_host_and_path():
    link = "https://graph.facebook.com/v26.0/1/feed?limit=2&after=QVFI"
    assert rebase(link, "http://127.0.0.1:8080") == "http://127.0.0.1:8080/v26.0/1/feed?limit=2&after=QVFI"
    assert rebase(link, "https://proxy.example/graph/") == "https://proxy.example/graph/v26.0/1/feed?limit=2&after=QVFI"


@pytest.mark.parametrize("headers, wait", [
    (lambda now: {"Retry-After": "120"}, timedelta(seconds=120)),
    (lambda now: {"Retry-After": format_datetime(now + timedelta(minutes=5), usegmt=True)}, timedelta(minutes=5)),
    (lambda now: {"RateLimit-Reset": str(int((now + timedelta(minutes=3)).timestamp()))}, timedelta(minutes=3)),
    (lambda now: {"x-ratelimit-reset": "90"}, timedelta(seconds=90)),  # seconds from now (Reddit's way)
    (lambda now: {"X-RateLimit-Reset": "2030-01-01T00:05:00.000000Z", "Date": "Tue, 01 Jan 2030 00:00:00 GMT"},
     timedelta(minutes=5)),  # ISO (Mastodon's way), measured on the server's clock
], ids=["seconds", "http-date", "epoch", "relative", "iso-with-server-date"])
def test_retry_time_reads_every_common_header_form(headers, wait):
    now = datetime.now(timezone.utc)
    assert abs((retry_time(response(headers(now))) - (now + wait)).total_seconds()) < 2


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "soon"}, {"X-RateLimit-Reset": "whenever"}])
def test_retry_time_is_none_without_a_readable_header(headers):
    assert retry_time(response(headers)) is None


def status(code: int, headers: dict[str, str] | None = None) -> requests.Response:
    made = response(headers or {})
    made.status_code, made.url, made._content = code, "http://127.0.0.1/search", b'{"message": "nope"}'
    return made


@pytest.mark.parametrize("code, kind", [
    (429, "rate_limited"), (401, "auth"), (403, "auth"), (400, "bad_query"), (404, "bad_query"),
    (422, "bad_query"), (408, "transient"), (503, "transient"), (418, "error"),
])
def test_error_for_status_maps_every_status_one_way(code, kind):
    assert error_for_status("demo", status(code), backoff=timedelta(minutes=5)).kind == kind


def test_a_rate_limit_says_when_to_retry_the_same_way_everywhere():
    now = datetime.now(timezone.utc)
    error = error_for_status("demo", status(429), backoff=timedelta(minutes=5))
    assert isinstance(error, RateLimited) and abs((error.retry_at - (now + timedelta(minutes=5))).total_seconds()) < 2
    assert str(error) == f"demo: rate limited (429), retry after {error.retry_at:%Y-%m-%dT%H:%M:%SZ}"
    assert str(rate_limited("demo", "quota used up", error.retry_at)) == str(error).replace("rate limited (429)", "quota used up")


def test_the_quota_guard_refuses_requests_until_the_reset():
    guard = QuotaGuard("demo")
    guard.check()  # nothing seen yet
    guard.note(status(200, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "600"}))
    with pytest.raises(RateLimited, match=r"demo: rate limit used up \(x-rate-limit-remaining: 0\), retry after "):
        guard.check()
    guard.note(status(200, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "0"}))
    guard.check()  # reset passed
