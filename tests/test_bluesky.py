"""The Bluesky connector against a fake PDS: sessions kept, refreshed and renewed; search by time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from fakeapi import poll_once
from fakeapi import stored as rows
import wire_bluesky as wb
from connectors.base import BrandQuery, Secret
from connectors.bluesky import BlueskyConnector, BlueskyOptions


@pytest.fixture
def pds(fake_server, monkeypatch):
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", wb.APP_PASSWORD)
    return wb.Fake(fake_server)


@pytest.fixture
def poll(pds, fresh_store, write_config):
    def run(extra: str = 'query = "acme"'):
        path = write_config(wb.source_toml(pds.server.url, extra=extra))
        return poll_once(fresh_store, path)

    return run


def test_posts_map_to_mentions_with_web_urls_and_engagement(poll, pds, fresh_store):
    uri = pds.add("The new Acme widget is great", minutes_ago=5, likes=3, replies=1, reposts=2, quotes=1)

    result = poll()

    assert (result.status, result.new, result.requests) == ("ok", 1, 2), result.error  # login + search
    row = rows(fresh_store)[uri]
    rkey = uri.rsplit("/", 1)[1]
    assert row["url"] == f"https://bsky.app/profile/did:plc:alice123/post/{rkey}"
    assert (row["author"], row["likes"], row["replies"], row["reposts"], row["lang"], row["label"]) == (
        "alice.bsky.social", 3, 1, 3, "en", "positive")
    login = json.loads(pds.server.requests_to(wb.CREATE)[0].body)
    assert login == {"identifier": wb.HANDLE, "password": wb.APP_PASSWORD}
    search = pds.listing_requests()[0]
    assert (search.params["q"], search.params["sort"]) == ("acme", "latest")
    since = datetime.strptime(search.params["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - timedelta(days=7) - since).total_seconds()) < 5  # lookback


def test_the_session_is_kept_across_polls_refreshed_when_expired_and_renewed_when_refused(poll, pds, fake_server):
    pds.add("acme", minutes_ago=5)
    poll()
    poll()
    assert len(fake_server.requests_to(wb.CREATE)) == 1

    pds.expire_access()
    assert poll().status == "ok"
    assert (len(fake_server.requests_to(wb.REFRESH)), len(fake_server.requests_to(wb.CREATE))) == (1, 1)

    pds.expire_all()
    result = poll()
    assert result.status == "ok", result.error
    assert (len(fake_server.requests_to(wb.REFRESH)), len(fake_server.requests_to(wb.CREATE))) == (2, 2)


def test_a_token_about_to_expire_is_refreshed_before_searching(fake_server, poll):
    pds = wb.Fake(fake_server, access_lifetime=30)  # under a minute left
    pds.add("acme", minutes_ago=5)
    poll()
    fake_server.clear()

    poll()

    assert [r.path for r in fake_server.requests][:2] == [wb.REFRESH, wb.SEARCH]


def test_a_wrong_app_password_names_the_secret_and_searches_nothing(poll, pds, monkeypatch):
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "wrong-pass-word-xxxx")

    result = poll()

    assert result.error_kind == "auth"
    assert '("bluesky-acme"): app_password' in result.error and "env BLUESKY_APP_PASSWORD" in result.error
    assert "AuthenticationRequired" in result.error
    assert pds.listing_requests() == []


def test_later_polls_search_from_a_little_before_the_newest_post_and_catch_late_ones(poll, pds, fresh_store):
    pds.add("acme one", minutes_ago=5)
    poll()
    newest = datetime.now(timezone.utc) - timedelta(minutes=5)
    late = pds.add("acme indexed late", minutes_ago=8, indexed_later=300)  # written before, indexed after the poll
    pds.server.clear()

    result = poll()

    assert (result.new, result.fetched) == (1, 1)
    assert late in rows(fresh_store)
    since = datetime.strptime(pds.listing_requests()[0].params["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc)
    assert abs((newest - timedelta(minutes=15) - since).total_seconds()) < 5


def test_built_queries_are_one_search_per_term():
    brand = BrandQuery("Acme", ["acme", "acme mobile", "wile e coyote"], ["@acme", "@acmesupport"])
    connector = BlueskyConnector(BlueskyOptions("a.bsky.social", Secret("p")))
    assert connector.build_query(brand).splitlines() == ["acme", '"wile e coyote"', "acmesupport"]
