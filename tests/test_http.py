"""The shared plain-HTTP helper: paging links re-aimed at base_url, retry times from headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from connectors.http import rebase, retry_time


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
