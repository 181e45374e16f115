"""The scenarios every plain-HTTP connector must pass, each against its platform's fake API
(tests/wire_<platform>.py) on 127.0.0.1: pages, an empty poll, items seen before, rate
limits with and without a reset time, server errors, a hanging server, a malformed
payload, missing optional fields, and a failure halfway through."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

import wire_bluesky
import wire_facebook
import wire_hackernews
import wire_instagram
import wire_mastodon
import wire_rss
from fakeserver import HANG, Reply
from monitor import config as config_module
from monitor import ingest
from monitor.storage.mentions import MentionFilter

FAKES = [wire_facebook.Fake, wire_instagram.Fake, wire_mastodon.Fake, wire_bluesky.Fake, wire_hackernews.Fake,
         wire_rss.Fake]


@pytest.fixture(params=FAKES, ids=lambda fake: fake.platform)
def api(request, fake_server, monkeypatch):
    fake = request.param(fake_server)
    for name, value in fake.env.items():
        monkeypatch.setenv(name, value)
    return fake


@pytest.fixture
def poll(api, fresh_store, write_config):
    def run(extra: str = ""):
        (result,) = ingest.poll(fresh_store, config_module.load(write_config(api.source(extra=extra))))
        return result

    return run


def rows(store):
    return store.mentions.query(MentionFilter(limit=None))


def saved_cursor(store, api):
    name = {"facebook": "facebook-acme", "instagram": "instagram-acme", "mastodon": "mastodon-acme",
            "bluesky": "bluesky-acme", "hackernews": "hackernews-acme", "rss": "alerts-acme"}[api.platform]
    value = store.sources.cursor(name)
    return json.loads(value) if value else None


def test_several_pages_are_read_and_every_item_stored(api, poll, fresh_store):
    ids = [api.add(f"acme is great, thanks {i}", minutes_ago=i + 1) for i in range(5)]

    result = poll()

    assert (result.status, result.fetched, result.new) == ("ok", 5, 5), result.error
    stored = {r["id"]: r for r in rows(fresh_store)}
    assert set(stored) == set(ids)
    assert all(r["platform"] == api.platform and r["brand"] == "Acme" and r["label"] for r in stored.values())
    pages = (3 + api.trailing_request) if api.paged else 1
    assert len(api.listing_requests()) == pages
    assert result.requests >= pages
    assert saved_cursor(fresh_store, api)


def test_a_poll_with_nothing_new_is_one_request_and_keeps_the_cursor(api, poll, fresh_store, fake_server):
    api.add("acme rocks", minutes_ago=5)
    poll()
    before = saved_cursor(fresh_store, api)
    fake_server.clear()

    result = poll()

    assert (result.status, result.fetched, result.new) == ("ok", 0, 0), result.error
    assert len(api.listing_requests()) == 1
    assert saved_cursor(fresh_store, api) == before
    assert len(rows(fresh_store)) == 1


def test_items_seen_before_are_not_served_again_and_new_ones_are(api, poll, fresh_store):
    old = api.add("acme old news", minutes_ago=20)
    poll()
    new = api.add("acme new news", minutes_ago=2)

    result = poll()

    assert (result.status, result.fetched, result.new, result.duplicates) == ("ok", 1, 1, 0), result.error
    assert {r["id"] for r in rows(fresh_store)} == {old, new}


def test_a_rate_limit_with_a_reset_time_is_retried_then(api, poll, fresh_store):
    api.add("acme", minutes_ago=3)
    api.fail(api.too_many(reset_in=600))

    result = poll()

    assert (result.status, result.error_kind) == ("error", "rate_limited"), result.error
    expected = datetime.now(timezone.utc) + timedelta(seconds=600)
    assert abs((result.retry_at - expected).total_seconds()) < 5
    assert saved_cursor(fresh_store, api) is None and rows(fresh_store) == []
    assert fresh_store.sources.get(result.source)["last_error_kind"] == "rate_limited"


def test_a_rate_limit_without_a_reset_time_backs_off_by_the_configured_time(api, poll):
    api.fail(api.too_many(reset_in=None))

    result = poll()

    assert result.error_kind == "rate_limited", result.error
    expected = datetime.now(timezone.utc) + timedelta(minutes=7)
    assert abs((result.retry_at - expected).total_seconds()) < 5


def _http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(timezone.utc) + delta, usegmt=True)


@pytest.mark.parametrize("headers", [
    lambda: {"Retry-After": "0"},
    lambda: {"Retry-After": "-30"},
    lambda: {"Retry-After": _http_date(-timedelta(hours=1))},
    lambda: {"Retry-After": "1e12"},
    lambda: {"Retry-After": "inf"},
    lambda: {"X-RateLimit-Remaining": "0",
             "X-RateLimit-Reset": str(int((datetime.now(timezone.utc) - timedelta(minutes=10)).timestamp()))},
], ids=["zero", "negative", "past-date", "huge", "infinite", "past-reset"])
def test_a_rate_limit_whose_time_is_over_or_unusable_backs_off_by_the_configured_time(api, poll, headers):
    # Retrying at once would be refused again: the daemon would ask in a tight loop.
    api.fail(Reply(429, json={"message": "Too many requests"}, headers=headers()))

    result = poll()

    assert (result.status, result.error_kind) == ("error", "rate_limited"), result.error
    expected = datetime.now(timezone.utc) + timedelta(minutes=7)
    assert abs((result.retry_at - expected).total_seconds()) < 5


def test_a_reset_time_on_a_server_clock_behind_ours_is_the_wait_it_means(api, poll):
    server_now = datetime.now(timezone.utc) - timedelta(minutes=10)
    reset = int((server_now + timedelta(minutes=2)).timestamp())
    api.fail(Reply(429, json={"message": "Too many requests"}, headers={
        "Date": format_datetime(server_now, usegmt=True), "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset)}))

    result = poll()

    assert result.error_kind == "rate_limited", result.error
    expected = datetime.now(timezone.utc) + timedelta(minutes=2)
    assert abs((result.retry_at - expected).total_seconds()) < 5


def test_a_server_error_is_transient(api, poll, fresh_store):
    api.fail(api.server_error())

    result = poll()

    assert (result.status, result.error_kind) == ("error", "transient"), result.error
    assert "server error 500" in result.error
    assert result.requests >= 1  # a failed poll counts the requests it made
    assert saved_cursor(fresh_store, api) is None


def test_a_hanging_server_times_out_quickly(api, poll):
    api.fail(Reply(delay=HANG))
    started = time.monotonic()

    result = poll()

    assert time.monotonic() - started < 3
    assert (result.error_kind, result.error) == ("transient", f"{api.platform}: no answer within 0.5s (timeout)")


@pytest.mark.parametrize("how", ["stops", "trickles"])
def test_an_answer_whose_body_stops_or_only_trickles_times_out(api, poll, fresh_store, how):
    # The timeout bounds each wait for bytes; a body sent a byte every 0.05 s never waits that
    # long, and would take 20 s here (a real server, hours): the whole body gets the timeout too.
    api.add("acme first", minutes_ago=5)
    poll()
    before = saved_cursor(fresh_store, api)
    api.add("acme second", minutes_ago=1)
    body = b'{"' + b" " * 400
    api.fail(Reply(200, body=body, stall_after=5) if how == "stops" else Reply(200, body=body, trickle=0.05))
    started = time.monotonic()

    result = poll()

    assert time.monotonic() - started < 3
    assert (result.error_kind, result.error) == (
        "transient", f"{api.platform}: the answer did not arrive whole within 0.5s (timeout)")
    assert saved_cursor(fresh_store, api) == before
    assert len(rows(fresh_store)) == 1


def test_a_malformed_payload_is_a_bad_payload(api, poll, fresh_store):
    api.fail(api.malformed())

    result = poll()

    assert result.error_kind == "bad_payload", result.error
    assert result.requests >= 1
    assert saved_cursor(fresh_store, api) is None


def test_missing_optional_fields_still_make_a_mention(api, poll, fresh_store):
    item = api.add("acme plain words", minutes_ago=4, bare=True)

    result = poll()

    assert (result.status, result.new) == ("ok", 1), result.error
    (row,) = rows(fresh_store)
    assert row["id"] == item and "acme plain words" in row["text"]
    assert (row["author"], row["likes"], row["replies"], row["reposts"], row["followers"]) == (None,) * 5
    assert row["created_at"].endswith("Z")


def test_a_failure_on_a_later_page_stores_nothing_and_keeps_the_cursor(api, poll, fresh_store, fake_server):
    if not api.paged:
        pytest.skip(f"{api.platform} answers in one document")
    api.add("acme seen", minutes_ago=30)
    poll()
    before = saved_cursor(fresh_store, api)
    for i in range(5):
        api.add(f"acme fresh {i}", minutes_ago=i + 1)
    api.fail(api.too_many(reset_in=600), after=1)
    fake_server.clear()

    result = poll()

    assert (result.status, result.error_kind) == ("error", "rate_limited"), result.error
    assert saved_cursor(fresh_store, api) == before
    assert len(rows(fresh_store)) == 1
    # the failed poll reports the requests it made: a page served, then the 429
    assert result.requests == len(fake_server.requests) >= 2
    assert fresh_store.sources.runs(result.source)[0]["requests"] == result.requests


def test_an_item_dated_hours_ahead_does_not_hide_the_items_posted_until_then(api, poll, fresh_store):
    # A remote server with a wrong clock: its post claims to be from three hours from now.
    ahead = api.add("acme from a fast clock", minutes_ago=-180)
    first = api.add("acme on time", minutes_ago=30)
    poll()
    later = api.add("acme an hour later", minutes_ago=1)

    second = poll()
    third = poll()

    assert (second.status, second.new) == ("ok", 1), second.error
    assert (third.status, third.new) == ("ok", 0), third.error  # the fast one is still known
    assert {r["id"] for r in rows(fresh_store)} == {ahead, first, later}
